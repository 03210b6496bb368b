"""Fixtures for the simulator tests: real servers on loopback, port 0."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from PIL import Image

from adapters.simulators.wechat import WeChatSimulator, make_server

APPID = "wx0123456789abcdef"
SECRET = "s3cr3t-0123456789abcdef0123456789"
#: Simulator seconds a mass send stays SENDING in these tests.
MASS_DELAY = 60.0


def image_bytes(fmt: str = "JPEG", size: tuple[int, int] = (32, 32), noise: bool = False) -> bytes:
    """A small valid image; ``noise`` makes it barely compressible (for size limits)."""
    if noise:
        import os

        img = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    else:
        img = Image.new("RGB", size, (200, 30, 30))
    buf = io.BytesIO()
    img.save(buf, format=fmt, **({"quality": 100} if fmt == "JPEG" else {}))
    return buf.getvalue()


class Sim:
    """A running simulator: its base URL, state object and a requests session."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.sim: WeChatSimulator = server.simulator
        host, port = server.server_address[:2]
        host = f"[{host}]" if ":" in host else host
        self.base = f"http://{host}:{port}"
        self.http = requests.Session()

    # -- control surface
    def control(self, path: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """POST to /_sim/<path> and return the JSON answer."""
        r = self.http.post(f"{self.base}/_sim/{path}", json=payload or {}, timeout=5)
        assert r.status_code == 200, r.text
        return r.json()

    def state(self) -> dict[str, Any]:
        """GET /_sim/state."""
        r = self.http.get(f"{self.base}/_sim/state", timeout=5)
        assert r.status_code == 200
        return r.json()

    def register(self, appid: str = APPID, secret: str = SECRET) -> None:
        """Register an app."""
        self.control("apps", {"appid": appid, "secret": secret})

    # -- platform API
    def token(self, appid: str = APPID, secret: str = SECRET) -> str:
        """Fetch an access token through GET /cgi-bin/token."""
        r = self.http.get(
            f"{self.base}/cgi-bin/token",
            params={"grant_type": "client_credential", "appid": appid, "secret": secret},
            timeout=5,
        )
        body = r.json()
        assert "access_token" in body, body
        return body["access_token"]

    def post(self, path: str, token: str, payload: Any = None, **params: Any) -> dict[str, Any]:
        """POST JSON to /cgi-bin/<path>?access_token=..."""
        r = self.http.post(
            f"{self.base}/cgi-bin/{path}",
            params={"access_token": token, **params},
            json=payload or {},
            timeout=5,
        )
        assert r.status_code == 200, r.text
        return r.json()

    def upload(
        self, path: str, token: str, data: bytes, filename: str = "a.jpg", **params: Any
    ) -> dict[str, Any]:
        """Multipart upload of field ``media``."""
        r = self.http.post(
            f"{self.base}/cgi-bin/{path}",
            params={"access_token": token, **params},
            files={"media": (filename, data)},
            timeout=5,
        )
        assert r.status_code == 200, r.text
        return r.json()

    def thumb(self, token: str) -> str:
        """Upload a thumb material and return its media_id."""
        body = self.upload("material/add_material", token, image_bytes(), type="thumb")
        return body["media_id"]

    def draft(self, token: str, thumb: str, **fields: Any) -> str:
        """Create a one-article draft and return its media_id."""
        article = {
            "title": "关于开展安全生产检查的通知",
            "author": "办公室",
            "digest": "摘要",
            "content": "<p>正文内容</p>",
            "content_source_url": "https://www.example.gov.cn/a/1",
            "thumb_media_id": thumb,
            "need_open_comment": 0,
            "only_fans_can_comment": 0,
        }
        article.update(fields)
        body = self.post("draft/add", token, {"articles": [article]})
        assert "media_id" in body, body
        return body["media_id"]

    def wait_published(self, token: str, publish_id: str, timeout: float = 3.0) -> dict[str, Any]:
        """Poll freepublish/get until publish_status is no longer 1."""
        deadline = time.monotonic() + timeout
        while True:
            body = self.post("freepublish/get", token, {"publish_id": publish_id})
            if body.get("publish_status") != 1 or time.monotonic() > deadline:
                return body
            time.sleep(0.02)


@pytest.fixture
def make_sim() -> Iterator[Callable[..., Sim]]:
    """Factory: ``make_sim(host="127.0.0.1", **WeChatSimulator kwargs)`` → running :class:`Sim`."""
    running: list[tuple[Sim, threading.Thread]] = []

    def _make(host: str = "127.0.0.1", **kwargs: Any) -> Sim:
        kwargs.setdefault("publish_delay", 0.1)
        # Mass sends finish only when a test moves the simulator clock (POST /_sim/clock).
        kwargs.setdefault("mass_delay", MASS_DELAY)
        server = make_server(host, 0, WeChatSimulator(**kwargs))
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        handle = Sim(server)
        running.append((handle, thread))
        return handle

    yield _make
    for handle, thread in running:
        handle.http.close()
        handle.server.shutdown()
        handle.server.server_close()
        thread.join(timeout=2)


@pytest.fixture
def make_image() -> Callable[..., bytes]:
    """The :func:`image_bytes` helper, as a fixture."""
    return image_bytes


@pytest.fixture
def sim(make_sim: Callable[..., Sim]) -> Sim:
    """A running simulator with one registered app."""
    handle = make_sim()
    handle.register()
    return handle
