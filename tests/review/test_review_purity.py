"""review/ stands apart from the application (docs/architecture.md): nothing in it imports hub/,
and the rules of human review (chain, policy) need neither a web framework nor a database."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REVIEW = Path(__file__).resolve().parents[2] / "review"
APP_PACKAGES = {"hub", "flask", "flask_babel", "flask_login", "werkzeug", "sqlalchemy", "alembic", "pydantic",
                "redis", "rq"}


def _imported(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module.split(".")[0])
    return out


def test_nothing_in_review_imports_hub():
    offenders = {str(p.relative_to(REVIEW)) for p in REVIEW.rglob("*.py") if "hub" in _imported(p)}
    assert not offenders


def test_the_rules_of_human_review_import_no_framework():
    for name in ("chain.py", "policy.py"):
        assert not _imported(REVIEW / name) & APP_PACKAGES, name


def test_importing_the_rules_loads_no_application_module():
    code = ("import sys, review.chain, review.policy; "
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({sorted(APP_PACKAGES)!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=REVIEW.parent).stdout.strip()
    assert out == "[]"
