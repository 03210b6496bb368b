"""Background jobs run by RQ workers. Jobs carry ids only (docs/design.md §4.3)."""

from __future__ import annotations

from typing import Any

_app: Any = None


def get_app() -> Any:
    """The Flask app of this worker process (created once, from the environment)."""
    global _app
    if _app is None:
        from hub import create_app

        _app = create_app()
    return _app


def set_app(app: Any) -> None:
    global _app
    _app = app
