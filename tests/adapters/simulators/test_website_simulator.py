"""The website simulator against the push protocol of docs/publishing.md, driven by a plain HTTP client
with its own signing (not the adapter)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from adapters.simulators.website import WebsiteSimulator, make_server

SITE, KEY = "cbeh-site", "push-key-1"


def _sign(ts: str, method: str, path: str, body: bytes) -> str:
    msg = f"{ts}\n{method}\n{path}\n".encode() + body
    return "sha256=" + hmac.new(KEY.encode(), msg, hashlib.sha256).hexdigest()


class Site:
    def __init__(self) -> None:
        self.server = make_server("127.0.0.1", 0, WebsiteSimulator())
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        requests.post(self.base + "/_sim/apps", json={"appid": SITE, "secret": KEY}, timeout=5).raise_for_status()

    def call(self, method: str, path: str, payload: Any = None) -> requests.Response:
        body = json.dumps(payload, ensure_ascii=False).encode() if payload is not None else b""
        ts = str(int(time.time()))
        headers = {"X-Hub-Site": SITE, "X-Hub-Timestamp": ts, "X-Hub-Signature": _sign(ts, method, path, body)}
        return requests.request(method, self.base + path, data=body or None, headers=headers, timeout=5)


@pytest.fixture
def site() -> Iterator[Site]:
    handle = Site()
    yield handle
    handle.server.shutdown()
    handle.server.server_close()


def test_a_second_delete_of_the_same_article_is_404(site: Site) -> None:
    path = "/hub-push/v1/articles/hub-dispatch-7"
    r = site.call("PUT", path, {"key": "hub-dispatch-7", "title": "关于冬季供暖的通知", "content_html": "<p>x</p>"})
    assert r.status_code == 201
    assert site.call("DELETE", path).status_code == 200
    r = site.call("DELETE", path)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert site.call("GET", path).json()["deleted"] is True
    assert site.call("DELETE", "/hub-push/v1/articles/hub-dispatch-8").status_code == 404


def test_the_control_surface_is_never_faulted(site: Site) -> None:
    requests.post(site.base + "/_sim/faults", json={"busy_rate": 1.0, "drop_after_commit_rate": 1.0},
                  timeout=5).raise_for_status()
    assert requests.get(site.base + "/_sim/state", timeout=5).status_code == 200
    assert requests.post(site.base + "/_sim/apps", json={"appid": "x", "secret": "y"}, timeout=5).status_code == 200
    assert site.call("GET", "/hub-push/v1/ping").status_code == 503
