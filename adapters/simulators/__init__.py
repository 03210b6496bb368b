"""Loopback simulators of the publishing platforms (see docs/design.md §7).

Each simulator module exposes ``make_server(host, port, simulator=None)`` and
``serve(host, port)``; :func:`run` picks one by platform name.
"""

from __future__ import annotations

import importlib

#: platform name -> module implementing its simulator
SIMULATORS: dict[str, str] = {
    "wechat": "adapters.simulators.wechat",
    "weibo": "adapters.simulators.weibo",
    "website": "adapters.simulators.website",
    "douyin": "adapters.simulators.douyin",
    "kuaishou": "adapters.simulators.kuaishou",
}


def run(platform: str, host: str = "127.0.0.1", port: int = 0) -> None:
    """Serve the simulator of ``platform`` in the foreground until Ctrl-C / SIGTERM.

    Raises ``KeyError`` for an unknown platform (the message lists the known ones).
    """
    try:
        module_name = SIMULATORS[platform]
    except KeyError:
        raise KeyError(f"unknown platform {platform!r}; known: {', '.join(sorted(SIMULATORS))}") from None
    module = importlib.import_module(module_name)
    module.serve(host, port)
