"""``hub serve``: gunicorn serving the app (dual stack with --host ::)."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication


class _HubServer(BaseApplication):
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for k, v in self.options.items():
            self.cfg.set(k, v)

    def load(self) -> Any:
        from hub import create_app

        return create_app()


def bind_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def run_gunicorn(host: str, port: int, workers: int = 2) -> None:
    _HubServer({
        "bind": [bind_address(host, port)],
        "workers": max(1, workers),
        "worker_class": "gthread",
        "threads": 8,
        "timeout": 60,
        "graceful_timeout": 5,
        "accesslog": "-",
        "access_log_format": '%(h)s "%(r)s" %(s)s %(b)s %(L)ss',
        "errorlog": "-",
        "loglevel": "info",
    }).run()
