"""A unit website / 集约化平台 CMS accepting the hub's signed push (adapters/website.py).

Implements the receiving side of the protocol documented in docs/publishing.md: signature
and timestamp checks, idempotent ``PUT`` by article key, ``GET`` for reconciliation,
``DELETE`` for withdrawal (404 once the article is gone, a second DELETE included),
``GET /hub-push/v1/ping``. Published articles are served at
``/articles/<id>``. Control surface as docs/design.md §7 gives it (``/_sim/apps`` takes
``{appid: site id, secret: push key}``), never subject to faults; busy answers are HTTP 503.
"""

from __future__ import annotations

import hmac
import html
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any

from adapters.simulators.base import (
    HTML_CONTENT_TYPE,
    Faults,
    SimHTTPServer,
    SimRequest,
    SimResponse,
    control_request,
    format_base_url,
    json_response,
    make_sim_server,
    serve_until_stopped,
    text_response,
)
from adapters.website import PREFIX, signature

__all__ = ["WebsiteSimulator", "make_server", "serve"]

MAX_SKEW = 300


def _error(status: int, code: str, message: str) -> SimResponse:
    return json_response({"error": {"code": code, "message": message}}, status)


@dataclass
class WebsiteSimulator:
    """In-memory CMS; thread-safe behind one lock."""

    default_base_url: str = "http://127.0.0.1"
    lock: threading.RLock = field(default_factory=threading.RLock)
    faults: Faults = field(default_factory=Faults)

    def __post_init__(self) -> None:
        self._sites: dict[str, str] = {}
        self._articles: dict[tuple[str, str], dict[str, Any]] = {}
        self._next_id = 1000

    def register_site(self, site: str, secret: str) -> None:
        with self.lock:
            self._sites[site] = secret

    def state(self) -> dict[str, Any]:
        with self.lock:
            published = [{"appid": site, "publish_id": a["id"], "key": key, "title": a["title"], "url": a["url"],
                          "status": "deleted" if a["deleted"] else "published", "puts": a["puts"],
                          "library": a.get("library")}
                         for (site, key), a in sorted(self._articles.items(), key=lambda kv: kv[1]["id"])]
            return {"drafts": [], "published": published, "mass_sends": [], "sites": sorted(self._sites)}

    def handle(self, request: SimRequest) -> SimResponse:
        if request.path.startswith("/_sim/"):
            return self._control(request)
        if request.path.startswith("/articles/"):
            return self._page(request.path[len("/articles/"):])
        if not request.path.startswith(PREFIX + "/"):
            return _error(404, "not_found", "not found")
        with self.lock:
            latency = self.faults.latency_ms
        if latency:
            time.sleep(latency / 1000)
        with self.lock:
            if self.faults.quota_exhausted:
                return _error(429, "quota", "too many requests")
            if self.faults.roll_busy():
                return _error(503, "busy", "busy, retry later")
            drop = self.faults.roll_drop()
            response = self._api(request)
        response.drop = drop
        return response

    def _api(self, request: SimRequest) -> SimResponse:
        site = request.headers.get("X-Hub-Site", "")
        ts = request.headers.get("X-Hub-Timestamp", "")
        sig = request.headers.get("X-Hub-Signature", "")
        secret = self._sites.get(site)
        if secret is None:
            return _error(401, "unknown_site", "unknown site")
        if not ts.isdigit() or abs(int(ts) - time.time()) > MAX_SKEW:
            return _error(401, "stale", "timestamp missing or too far from now")
        if not hmac.compare_digest(sig, signature(secret, ts, request.method, request.path, request.body)):
            return _error(401, "bad_signature", "signature mismatch")
        if request.path == PREFIX + "/ping" and request.method == "GET":
            return json_response({"ok": True, "site": site})
        if not request.path.startswith(PREFIX + "/articles/"):
            return _error(404, "not_found", "not found")
        key = request.path[len(PREFIX + "/articles/"):]
        if not key or "/" in key:
            return _error(400, "bad_key", "bad article key")
        art = self._articles.get((site, key))
        if request.method == "GET":
            if art is None:
                return _error(404, "not_found", "no such article")
            return json_response({"key": key, "id": art["id"], "url": art["url"], "deleted": art["deleted"]})
        if request.method == "DELETE":
            if art is None or art["deleted"]:  # a second DELETE of the same article: already gone
                return _error(404, "not_found", "no such article")
            art["deleted"] = True
            return json_response({"ok": True})
        if request.method != "PUT":
            return _error(405, "method", "method not allowed")
        try:
            body = json.loads(request.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return _error(400, "bad_json", "body must be JSON")
        if not isinstance(body, dict) or not str(body.get("title") or "").strip() or body.get("key") != key:
            return _error(422, "invalid", "title and a matching key are required")
        base = f"http://{request.host}" if request.host else self.default_base_url
        if art is None:
            self._next_id += 1
            art = {"id": str(self._next_id), "url": f"{base}/articles/{self._next_id}", "deleted": False,
                   "puts": 0}
            self._articles[(site, key)] = art
            status = 201
        else:
            status = 200  # idempotent: the same key is the same article
        library = body.get("library")
        if library is not None and not isinstance(library, dict):
            return _error(422, "invalid", "library must be an object")
        art.update(title=str(body["title"]), content=str(body.get("content_html") or ""), deleted=False,
                   library=library)
        art["puts"] += 1
        return json_response({"key": key, "id": art["id"], "url": art["url"]}, status)

    def _page(self, article_id: str) -> SimResponse:
        with self.lock:
            art = next((a for a in self._articles.values() if a["id"] == article_id and not a["deleted"]), None)
        if art is None:
            return text_response("<!DOCTYPE html><meta charset=utf-8><p>文章不存在</p>", 404, HTML_CONTENT_TYPE)
        lib = art.get("library") or {}
        banner = f"<p class=banner>{html.escape(str(lib['banner']))}</p>" if lib.get("banner") else ""
        related = "".join(f"<li>{html.escape(str(p.get('title', '')))}</li>" for p in lib.get("policies") or [])
        return text_response(f"<!DOCTYPE html><meta charset=utf-8><title>{art['title']}</title>{banner}"
                             f"<h1>{art['title']}</h1><div>{art['content']}</div>"
                             + (f"<ul class=related>{related}</ul>" if related else ""), content_type=HTML_CONTENT_TYPE)

    def _control(self, request: SimRequest) -> SimResponse:
        body = control_request(self, request)
        if isinstance(body, SimResponse):
            return body
        if request.path == "/_sim/apps":
            appid, secret = body.get("appid"), body.get("secret")
            if not isinstance(appid, str) or not appid or not isinstance(secret, str) or not secret:
                return json_response({"error": "appid and secret (strings) are required"}, 400)
            self.register_site(appid, secret)
            return json_response({"ok": True, "appid": appid})
        return json_response({"error": "not found"}, 404)

def make_server(host: str = "127.0.0.1", port: int = 0,
                simulator: WebsiteSimulator | None = None) -> ThreadingHTTPServer:
    """Create (not start) the website simulator's server; port 0 picks a free port."""
    sim = simulator if simulator is not None else WebsiteSimulator()
    server = make_sim_server(host, port, sim)
    bound_host, bound_port = server.server_address[:2]
    wildcard = {"0.0.0.0": "127.0.0.1", "::": "::1"}
    sim.default_base_url = format_base_url(wildcard.get(str(bound_host), str(bound_host)), int(bound_port))
    return server


def serve(host: str, port: int) -> None:
    """Run the simulator in the foreground until Ctrl-C or SIGTERM."""
    server = make_server(host, port)
    assert isinstance(server, SimHTTPServer)
    serve_until_stopped(server, "Website simulator")
