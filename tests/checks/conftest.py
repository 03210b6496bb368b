import pytest

from review.checks import Finding, check_content


@pytest.fixture
def rules_of():
    def run(text: str, **kw) -> list[tuple[str, str, str]]:
        findings: list[Finding] = check_content(text, **kw)
        for f in findings:
            assert text[f.start : f.end] == f.text
        return [(f.rule, f.severity, f.text) for f in findings]

    return run
