"""Fixtures of the audit tests: the attacker and `hub audit verify` run in-process."""

from __future__ import annotations

from typing import Any

import pytest
from audit_helpers import Attacker, VerifyRun  # type: ignore[import-not-found]
from click.testing import CliRunner

from hub.db import db


@pytest.fixture
def attacker(app: Any) -> Attacker:
    return Attacker()


@pytest.fixture
def run_verify(app: Any) -> Any:
    """`hub audit verify` in this process (the app context is the test's)."""
    from hub.cli import main

    def run(*args: str) -> VerifyRun:
        db.session.remove()
        res = CliRunner().invoke(main, ["audit", "verify", *args])
        return VerifyRun(res.exit_code, res.output)

    return run
