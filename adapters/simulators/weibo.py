"""Weibo (微博) open-platform simulator.

Speaks the parts of ``https://api.weibo.com`` the adapter uses, with the real shapes:
errors are HTTP 400/403 with ``{"request", "error_code", "error"}``; a status is
``{"id", "idstr", "mid", "text", "created_at", "user": {...}}``::

    POST /2/statuses/share.json        status (must carry a link on the app's safe domain), pic
    GET  /2/statuses/user_timeline.json  count, page           (reconciliation)
    GET  /2/statuses/show.json         id
    POST /2/statuses/destroy.json      id                      (withdraw)
    POST /oauth2/get_token_info        access_token            (credential check, expiry)
    POST /proxy/article/publish.json   title, content, summary, text, cover   (头条文章)

Tokens expire (``/_sim/expire_tokens`` → 21327), quotas (``quota_exhausted`` → 10023),
busy (10009), the text limit (140 汉字, 20012) and duplicate text (20019) behave like the
real platform. Control surface as in docs/design.md §7 (``/_sim/apps`` takes ``{appid (app key),
secret, access_token?, safe_domain?, expires_in?}``), never subject to faults.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

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

__all__ = ["WeiboSimulator", "make_server", "serve", "weibo_length"]

BEIJING = timezone(timedelta(hours=8))
STATUS_MAX = 140  # 汉字; two ASCII characters count as one
PIC_MAX = 5 * 1024 * 1024
ARTICLE_TITLE_MAX = 32
ARTICLE_SUMMARY_MAX = 44

ERRORS = {
    10001: "system error",
    10009: "Task too busy",
    10016: "Miss required parameter",
    10017: "Parameter's value invalid",
    10023: "User requests out of rate limit",
    20006: "Image size too large",
    20012: "Text too long, please input text less than 140 characters!",
    20016: "Out of limit!",
    20019: "Repeated weibo text!",
    20101: "Target weibo does not exist!",
    21327: "expired_token",
    21332: "invalid_access_token",
}
_URL = re.compile(r"https?://[^\s<>\"']+")


def weibo_length(text: str) -> int:
    """Length the way Weibo counts it: a CJK character is 1, two ASCII characters are 1."""
    ascii_chars = sum(1 for ch in text if ord(ch) < 128)
    return (len(text) - ascii_chars) + (ascii_chars + 1) // 2


class _Err(Exception):
    def __init__(self, code: int, status: int = 400) -> None:
        super().__init__(code)
        self.code = code
        self.status = status


@dataclass
class _App:
    app_key: str
    secret: str
    access_token: str
    uid: int
    safe_domain: str
    expires_at: float


@dataclass
class _Status:
    app_key: str
    id: int
    text: str
    created: float
    pic: bool = False
    article: dict[str, Any] | None = None
    deleted: bool = False
    url: str = ""


@dataclass
class WeiboSimulator:
    """In-memory Weibo; thread-safe behind one lock."""

    default_base_url: str = "http://127.0.0.1"
    lock: threading.RLock = field(default_factory=threading.RLock)
    faults: Faults = field(default_factory=Faults)

    def __post_init__(self) -> None:
        self._apps: dict[str, _App] = {}
        self._statuses: list[_Status] = []
        self._next_id = 4_900_000_000_000_000 + secrets.randbelow(10_000_000) * 1000

    # ------------------------------------------------------------------ control
    def register_app(self, app_key: str, secret: str, access_token: str | None = None,
                     safe_domain: str = "example.gov.cn", expires_in: int = 30 * 86400) -> _App:
        with self.lock:
            app = _App(app_key, secret, access_token or f"2.00{secrets.token_hex(12)}",
                       uid=5_000_000_000 + len(self._apps) + 1, safe_domain=safe_domain,
                       expires_at=time.time() + expires_in)
            self._apps[app_key] = app
            return app

    def state(self) -> dict[str, Any]:
        with self.lock:
            published = [{
                "appid": s.app_key, "id": str(s.id), "publish_id": str(s.id),
                "title": (s.article or {}).get("title") or s.text[:30], "text": s.text, "url": s.url,
                "kind": "article" if s.article else "status",
                "status": "deleted" if s.deleted else "published"} for s in self._statuses]
            return {"drafts": [], "published": published, "mass_sends": [],
                    "apps": [{"appid": a.app_key, "uid": a.uid} for a in self._apps.values()]}

    # ------------------------------------------------------------------ HTTP entry
    def handle(self, request: SimRequest) -> SimResponse:
        if request.path.startswith("/_sim/"):
            return self._control(request)
        if request.path.startswith("/s/"):
            return self._page(request.path[3:])
        route = _ROUTES.get(request.path)
        if route is None:
            return json_response({"request": request.path, "error_code": 10014, "error": "not found"}, 404)
        method, handler = route
        with self.lock:
            latency = self.faults.latency_ms
        if latency:
            time.sleep(latency / 1000)
        with self.lock:
            if self.faults.roll_busy():
                return self._error(request, _Err(10009))
            drop = self.faults.roll_drop()
            if request.method != method:
                response = self._error(request, _Err(10021, 405))
            elif self.faults.quota_exhausted:
                response = self._error(request, _Err(10023, 403))
            else:
                try:
                    response = handler(self, request, self._params(request))
                except _Err as err:
                    response = self._error(request, err)
        response.drop = drop
        return response

    @staticmethod
    def _error(request: SimRequest, err: _Err) -> SimResponse:
        return json_response({"request": request.path, "error_code": err.code,
                              "error": ERRORS.get(err.code, "error")}, err.status)

    @staticmethod
    def _params(request: SimRequest) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        ctype = request.headers.get("Content-Type", "")
        if ctype.startswith("application/x-www-form-urlencoded"):
            for k, v in parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True).items():
                params[k] = v[-1]
        elif ctype.startswith("multipart/form-data"):
            for name, part in request.files().items():
                params[name] = part if part.filename else part.data.decode("utf-8", "replace")
        return params

    def _auth(self, params: dict[str, Any]) -> _App:
        token = params.get("access_token") or ""
        for app in self._apps.values():
            if secrets.compare_digest(app.access_token.encode(), str(token).encode()):
                if time.time() >= app.expires_at:
                    raise _Err(21327, 403)
                return app
        raise _Err(21332, 403)

    def _new_status(self, app: _App, text: str, base: str, **kw: Any) -> _Status:
        self._next_id += 1
        st = _Status(app.app_key, self._next_id, text, time.time(), **kw)
        st.url = f"{base}/s/{st.id}"
        self._statuses.append(st)
        return st

    def _json(self, app: _App, st: _Status) -> dict[str, Any]:
        created = datetime.fromtimestamp(st.created, BEIJING).strftime("%a %b %d %H:%M:%S +0800 %Y")
        out = {"id": st.id, "idstr": str(st.id), "mid": str(st.id), "text": st.text, "created_at": created,
               "user": {"id": app.uid, "idstr": str(app.uid)}}
        if st.article:
            out["page_info"] = {"type": "article", "page_url": st.url, "page_title": st.article["title"]}
        return out

    def _base(self, request: SimRequest) -> str:
        return f"http://{request.host}" if request.host else self.default_base_url

    def _check_text(self, app: _App, text: str) -> None:
        if not text.strip():
            raise _Err(10016)
        if weibo_length(text) > STATUS_MAX:
            raise _Err(20012)
        hosts = [urlsplit(u).hostname or "" for u in _URL.findall(text)]
        if not any(h == app.safe_domain or h.endswith("." + app.safe_domain) for h in hosts):
            raise _Err(10017)
        if any(s.app_key == app.app_key and s.text == text and not s.deleted for s in self._statuses):
            raise _Err(20019)

    # ------------------------------------------------------------------ endpoints
    def _share(self, request: SimRequest, p: dict[str, Any]) -> SimResponse:
        app = self._auth(p)
        text = p.get("status")
        if not isinstance(text, str):
            raise _Err(10016)
        self._check_text(app, text)
        pic = p.get("pic")
        if pic is not None and not isinstance(pic, str):
            if len(pic.data) > PIC_MAX:
                raise _Err(20006)
        st = self._new_status(app, text, self._base(request), pic=pic is not None)
        return json_response(self._json(app, st))

    def _article(self, request: SimRequest, p: dict[str, Any]) -> SimResponse:
        app = self._auth(p)
        title, content = str(p.get("title") or ""), str(p.get("content") or "")
        summary, text = str(p.get("summary") or ""), str(p.get("text") or "")
        if not title.strip() or not content.strip():
            raise _Err(10016)
        if len(title) > ARTICLE_TITLE_MAX or len(summary) > ARTICLE_SUMMARY_MAX:
            raise _Err(10017)
        self._check_text(app, text)
        st = self._new_status(app, text, self._base(request),
                              article={"title": title, "summary": summary, "content": content})
        return json_response({"code": 100000, "msg": "", "data": {
            "object_id": f"1022:{st.id}", "mid": str(st.id), "url": st.url}})

    def _timeline(self, request: SimRequest, p: dict[str, Any]) -> SimResponse:
        app = self._auth(p)
        try:
            count = min(100, max(1, int(p.get("count") or 20)))
            page = max(1, int(p.get("page") or 1))
        except ValueError:
            raise _Err(10017) from None
        mine = [s for s in reversed(self._statuses) if s.app_key == app.app_key and not s.deleted]
        chunk = mine[(page - 1) * count: page * count]
        return json_response({"statuses": [self._json(app, s) for s in chunk], "total_number": len(mine)})

    def _find(self, app: _App, sid: Any) -> _Status:
        for s in self._statuses:
            if str(s.id) == str(sid) and s.app_key == app.app_key and not s.deleted:
                return s
        raise _Err(20101)

    def _show(self, request: SimRequest, p: dict[str, Any]) -> SimResponse:
        app = self._auth(p)
        return json_response(self._json(app, self._find(app, p.get("id"))))

    def _destroy(self, request: SimRequest, p: dict[str, Any]) -> SimResponse:
        app = self._auth(p)
        st = self._find(app, p.get("id"))
        st.deleted = True
        return json_response(self._json(app, st))

    def _token_info(self, request: SimRequest, p: dict[str, Any]) -> SimResponse:
        app = self._auth(p)
        return json_response({"uid": app.uid, "appkey": app.app_key, "scope": "all",
                              "create_at": int(app.expires_at - 30 * 86400),
                              "expire_in": max(0, int(app.expires_at - time.time()))})

    def _page(self, key: str) -> SimResponse:
        with self.lock:
            st = next((s for s in self._statuses if str(s.id) == key and not s.deleted), None)
        if st is None:
            return text_response("<!DOCTYPE html><meta charset=utf-8><p>微博不存在</p>", 404, HTML_CONTENT_TYPE)
        body = st.article["content"] if st.article else st.text
        return text_response(f"<!DOCTYPE html><meta charset=utf-8><title>微博</title><div>{body}</div>",
                             content_type=HTML_CONTENT_TYPE)

    def _control(self, request: SimRequest) -> SimResponse:
        body = control_request(self, request)
        if isinstance(body, SimResponse):
            return body
        path = request.path
        try:
            if path == "/_sim/apps":
                appid, secret = body.get("appid"), body.get("secret")
                if not isinstance(appid, str) or not appid or not isinstance(secret, str) or not secret:
                    return json_response({"error": "appid and secret (strings) are required"}, 400)
                app = self.register_app(appid, secret, body.get("access_token") or None,
                                        str(body.get("safe_domain") or "example.gov.cn"),
                                        int(body.get("expires_in") or 30 * 86400))
                return json_response({"ok": True, "appid": appid, "access_token": app.access_token,
                                      "uid": app.uid})
            if path == "/_sim/expire_tokens":
                with self.lock:
                    for app in self._apps.values():
                        app.expires_at = time.time() - 1
                return json_response({"ok": True})
        except (ValueError, TypeError) as exc:
            return json_response({"error": str(exc)}, 400)
        return json_response({"error": "not found"}, 404)

_ROUTES: dict[str, tuple[str, Any]] = {
    "/2/statuses/share.json": ("POST", WeiboSimulator._share),
    "/2/statuses/user_timeline.json": ("GET", WeiboSimulator._timeline),
    "/2/statuses/show.json": ("GET", WeiboSimulator._show),
    "/2/statuses/destroy.json": ("POST", WeiboSimulator._destroy),
    "/oauth2/get_token_info": ("POST", WeiboSimulator._token_info),
    "/proxy/article/publish.json": ("POST", WeiboSimulator._article),
}


def make_server(host: str = "127.0.0.1", port: int = 0,
                simulator: WeiboSimulator | None = None) -> ThreadingHTTPServer:
    """Create (not start) the Weibo simulator's server; port 0 picks a free port."""
    sim = simulator if simulator is not None else WeiboSimulator()
    server = make_sim_server(host, port, sim)
    bound_host, bound_port = server.server_address[:2]
    wildcard = {"0.0.0.0": "127.0.0.1", "::": "::1"}
    sim.default_base_url = format_base_url(wildcard.get(str(bound_host), str(bound_host)), int(bound_port))
    return server


def serve(host: str, port: int) -> None:
    """Run the simulator in the foreground until Ctrl-C or SIGTERM."""
    server = make_server(host, port)
    assert isinstance(server, SimHTTPServer)
    serve_until_stopped(server, "Weibo simulator")
