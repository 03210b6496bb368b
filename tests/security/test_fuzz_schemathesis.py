"""Bounded Schemathesis pass against /api/v1/openapi.json (issue 20): every operation, with the token
of each role, in-process against the WSGI app, derandomized. Zero 5xx; every answer's status, media
type and body as the document says.

Budget: ``HUB_FUZZ_EXAMPLES`` cases per operation and generation mode (default 3: several hundred cases
in all, about two minutes on a slow 2-core machine).
"""

from __future__ import annotations

import contextvars
import os
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.core.failures import FailureGroup  # noqa: E402
from schemathesis.generation import GenerationMode  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES = int(os.environ.get("HUB_FUZZ_EXAMPLES", "3"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
ROLES = ("editor", "r1", "admin", "supervisor")


def _fuzz(schema: Any, token: str, examples: int) -> tuple[int, list[str]]:
    """Run every operation; returns (cases run, failures as one line each)."""
    failures: list[str] = []
    count = 0
    headers = {"Authorization": f"Bearer {token}"}
    for result in schema.get_all_operations():
        op = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = op.as_strategy(generation_mode=mode)

            @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            @given(case=strategy)
            def run(case: Any) -> None:
                nonlocal count
                count += 1
                # each request in its own context, as in production (tests/conftest.py FreshContextClient)
                response = contextvars.Context().run(case.call, headers=headers)
                try:
                    case.validate_response(response, checks=CHECKS, headers=headers)
                except (FailureGroup, Exception) as exc:  # collect, do not shrink: the budget is bounded
                    first = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()][:5]
                    failures.append(f"{case.operation.label} {response.status_code}: " + " | ".join(first)
                                    + f"\n    {case.as_curl_command()}")

            run()
    return count, failures


@pytest.mark.timeout(600)
def test_schemathesis_every_operation_every_role(app: Any, world: dict[str, Any]) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    total, failures = 0, []
    for role in ROLES:
        n, f = _fuzz(schema, world["api"][role].token, EXAMPLES)
        total += n
        failures += [f"{role}: {x}" for x in f]
    assert total >= 200, total
    assert not failures, f"{len(failures)} of {total} cases failed:\n" + "\n".join(failures[:40])
