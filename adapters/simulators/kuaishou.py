"""Kuaishou (快手) open-platform simulator: OAuth, start upload, upload (whole or in fragments), publish,
query, delete.

Speaks the parts of ``https://open.kuaishou.com`` the adapter uses, as the open platform documents them
(快手登录, 内容管理 › 创建视频 / 删除视频 / 查询视频)::

    GET  /oauth2/connect            app_id, scope, response_type=code, redirect_uri, state → the authorisation
                                    page; its 同意授权 link redirects back with ``code`` (one use) and ``state``
    GET  /oauth2/access_token       app_id, app_secret, code, grant_type=authorization_code → {"result": 1,
                                    access_token, expires_in (48 h), refresh_token, refresh_token_expires_in
                                    (180 days), open_id, scopes}
    GET  /oauth2/refresh_token      app_id, app_secret, refresh_token, grant_type=refresh_token → a new access
                                    token and a new refresh token (the old one is void) that *inherits* the old
                                    one's expiry: only a new authorisation gives a longer life
    POST /openapi/photo/start_upload?access_token=&app_id=     → {"result": 1, upload_token, endpoint}
    POST http://{endpoint}/api/upload?upload_token=            the file's bytes as the body
    POST http://{endpoint}/api/upload/multipart?upload_token=  multipart ``file``
    POST http://{endpoint}/api/upload/fragment?fragment_id=&upload_token=   one fragment (from 0) as the body
    POST http://{endpoint}/api/upload/complete?fragment_count=&upload_token=
    POST /openapi/photo/publish?access_token=&app_id=&upload_token=   multipart ``cover`` (< 10 MB), ``caption``
                                    → {"result": 1, "video_info": {photo_id, caption, cover, play_url, create_time}}
    GET  /openapi/photo/list?access_token=&app_id=&cursor=&count=     → {"result": 1, "video_list": [...]}
    GET  /openapi/photo/info?access_token=&app_id=&photo_id=
    GET  /openapi/photo/delete?access_token=&app_id=&photo_id=

Errors are ``{"result": <code>, "error_msg"}`` (HTTP 200): 100200100 参数有误, 100200101 验证出错 (app_id /
app_secret), 100200102 无效的 access_token, 120001 视频不存在, 120002 视频未上传, 120003 视频发布失败.
The documentation found names no code for an expired refresh token, a busy platform or a used-up quota:
the simulator answers 100200103 (refresh_token 已过期), 100200500 (系统繁忙) and 100200429 (调用次数超限)
for them, and the adapter treats those as such.

Control surface as for the Douyin simulator: ``POST /_sim/apps {appid (app_id), secret}`` answers ``{open_id,
access_token, refresh_token}`` of a user who already authorised the app; ``GET /_sim/state`` lists
``published`` ``{appid, item_id, title (the caption), sha256, status, url}``; ``POST /_sim/expire_tokens``
expires the access tokens and leaves each refresh token one day.
"""

from __future__ import annotations

import hashlib
import html
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import urlencode, urlsplit

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

__all__ = ["KuaishouSimulator", "make_server", "serve"]

ACCESS_LIFE = 172_800
REFRESH_LIFE = 15_552_000
CAPTION_MAX = 500
COVER_MAX = 10 * 1024 * 1024
BUSY, QUOTA, REFRESH_EXPIRED = 100200500, 100200429, 100200103
ERRORS = {100200100: "参数有误", 100200101: "验证出错", 100200102: "无效的 access_token", REFRESH_EXPIRED: "refresh_token 已过期",
          BUSY: "系统繁忙", QUOTA: "调用次数超限", 120001: "视频不存在", 120002: "视频未上传", 120003: "视频发布失败"}


class _Err(Exception):
    def __init__(self, code: int, detail: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail


@dataclass
class _Grant:
    open_id: str
    refresh_token: str
    refresh_expires: float
    access: dict[str, float] = field(default_factory=dict)


@dataclass
class _App:
    app_id: str
    secret: str
    open_id: str
    grants: list[_Grant] = field(default_factory=list)


@dataclass
class _Photo:
    app_id: str
    open_id: str
    photo_id: str
    caption: str
    sha256: str
    created: float
    deleted: bool = False


def _now() -> float:
    return time.time()


@dataclass
class KuaishouSimulator:
    """In-memory Kuaishou; thread-safe behind one lock."""

    default_base_url: str = "http://127.0.0.1"
    lock: threading.RLock = field(default_factory=threading.RLock)
    faults: Faults = field(default_factory=Faults)

    def __post_init__(self) -> None:
        self._apps: dict[str, _App] = {}
        self._codes: dict[str, tuple[str, float]] = {}
        self._uploads: dict[str, dict[str, Any]] = {}  # upload_token -> {app_id, open_id, data, fragments}
        self._photos: list[_Photo] = []

    def register_app(self, app_id: str, secret: str, *, open_id: str | None = None, access_token: str | None = None,
                     refresh_token: str | None = None) -> tuple[_App, _Grant, str]:
        with self.lock:
            app = self._apps.get(app_id)
            if app is None or app.secret != secret:
                app = _App(app_id, secret, open_id or secrets.token_hex(16))
                self._apps[app_id] = app
            grant, token = self._grant(app, refresh_token, access_token)
            return app, grant, token

    def _grant(self, app: _App, refresh_token: str | None = None, access_token: str | None = None) -> tuple[_Grant, str]:
        grant = _Grant(app.open_id, refresh_token or f"ChJvYXV0aC5yZWZyZXNo{secrets.token_hex(20)}", _now() + REFRESH_LIFE)
        token = access_token or f"ChFvYXV0aC5hY2Nlc3NUb2tlbh{secrets.token_hex(20)}"
        grant.access[token] = _now() + ACCESS_LIFE
        app.grants.append(grant)
        return grant, token

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {"drafts": [], "mass_sends": [],
                    "published": [{"appid": ph.app_id, "item_id": ph.photo_id, "id": ph.photo_id, "title": ph.caption,
                                   "sha256": ph.sha256, "status": "deleted" if ph.deleted else "published",
                                   "url": f"{self.default_base_url}/short-video/{ph.photo_id}"} for ph in self._photos],
                    "apps": [{"appid": a.app_id, "open_id": a.open_id} for a in self._apps.values()]}

    # ------------------------------------------------------------------ HTTP entry
    def handle(self, request: SimRequest) -> SimResponse:
        if request.path.startswith("/_sim/"):
            return self._control(request)
        if request.path == "/oauth2/connect":
            return self._connect(request)
        if request.path.startswith("/short-video/"):
            return self._page(request.path[len("/short-video/"):])
        route = _ROUTES.get(request.path)
        if route is None:
            return json_response({"result": 100200100, "error_msg": "not found"}, 404)
        method, handler = route
        with self.lock:
            latency = self.faults.latency_ms
        if latency:
            time.sleep(latency / 1000)
        with self.lock:
            if self.faults.roll_busy():
                return self._error(_Err(BUSY))
            drop = self.faults.roll_drop()
            if request.method != method:
                response = json_response({"result": 100200100, "error_msg": "method not allowed"}, 405)
            elif self.faults.quota_exhausted and request.path.startswith("/openapi/"):
                response = self._error(_Err(QUOTA))
            else:
                try:
                    response = handler(self, request, dict(request.query))
                except _Err as err:
                    response = self._error(err)
        response.drop = drop
        return response

    @staticmethod
    def _error(err: _Err) -> SimResponse:
        return json_response({"result": err.code,
                              "error_msg": ERRORS.get(err.code, "error") + (f"：{err.detail}" if err.detail else "")})

    def _base(self, request: SimRequest) -> str:
        return f"http://{request.host}" if request.host else self.default_base_url

    # ------------------------------------------------------------------ OAuth
    def _connect(self, request: SimRequest) -> SimResponse:
        q = request.query
        with self.lock:
            app = self._apps.get(q.get("app_id", ""))
            redirect = q.get("redirect_uri", "")
            if app is None or q.get("response_type") != "code" or urlsplit(redirect).scheme not in ("http", "https"):
                return text_response("<!DOCTYPE html><meta charset=utf-8><p>参数有误</p>", 400, HTML_CONTENT_TYPE)
            code = secrets.token_hex(16)
            self._codes[code] = (app.app_id, _now() + 120)  # the docs: one use, 2 minutes
        target = redirect + ("&" if "?" in redirect else "?") + urlencode({"code": code, "state": q.get("state", "")})
        page = ("<!DOCTYPE html><meta charset=utf-8><title>快手授权</title>"
                f"<h1>授权应用 {html.escape(app.app_id)}</h1><p>申请的权限：{html.escape(q.get('scope', ''))}</p>"
                f'<p><a id="approve" href="{html.escape(target)}">同意授权</a></p>')
        return text_response(page, content_type=HTML_CONTENT_TYPE)

    def _app_of(self, p: dict[str, Any]) -> _App:
        app = self._apps.get(str(p.get("app_id") or ""))
        if not p.get("app_id") or not p.get("app_secret"):
            raise _Err(100200100, "app_id/app_secret")
        if app is None or not secrets.compare_digest(app.secret.encode(), str(p["app_secret"]).encode()):
            raise _Err(100200101)
        return app

    @staticmethod
    def _answer(grant: _Grant, token: str, with_open_id: bool) -> SimResponse:
        out: dict[str, Any] = {"result": 1, "access_token": token, "expires_in": round(grant.access[token] - _now()),
                               "refresh_token": grant.refresh_token,
                               "refresh_token_expires_in": max(0, round(grant.refresh_expires - _now())),
                               "scopes": ["user_info", "user_video_publish", "user_video_info", "user_video_delete"]}
        if with_open_id:
            out["open_id"] = grant.open_id
        return json_response(out)

    def _access_token(self, request: SimRequest, p: dict[str, Any]) -> SimResponse:
        app = self._app_of(p)
        if p.get("grant_type") != "authorization_code" or not p.get("code"):
            raise _Err(100200100, "code/grant_type")
        found = self._codes.pop(str(p["code"]), None)
        if found is None or found[0] != app.app_id or found[1] < _now():
            raise _Err(100200100, "code")
        grant, token = self._grant(app)
        return self._answer(grant, token, True)

    def _refresh(self, request: SimRequest, p: dict[str, Any]) -> SimResponse:
        app = self._app_of(p)
        if p.get("grant_type") != "refresh_token" or not p.get("refresh_token"):
            raise _Err(100200100, "refresh_token/grant_type")
        for g in app.grants:
            if secrets.compare_digest(g.refresh_token.encode(), str(p["refresh_token"]).encode()):
                if g.refresh_expires <= _now():
                    raise _Err(REFRESH_EXPIRED)
                g.refresh_token = f"ChJvYXV0aC5yZWZyZXNo{secrets.token_hex(20)}"  # the expiry is inherited
                token = f"ChFvYXV0aC5hY2Nlc3NUb2tlbh{secrets.token_hex(20)}"
                g.access[token] = _now() + ACCESS_LIFE
                return self._answer(g, token, False)
        raise _Err(REFRESH_EXPIRED)

    # ------------------------------------------------------------------ video
    def _user(self, p: dict[str, Any]) -> tuple[_App, str]:
        app = self._apps.get(str(p.get("app_id") or ""))
        token = str(p.get("access_token") or "")
        if app is None or not token:
            raise _Err(100200100, "app_id/access_token")
        for g in app.grants:
            exp = next((e for t, e in g.access.items() if secrets.compare_digest(t.encode(), token.encode())), None)
            if exp is not None and exp > _now():
                return app, g.open_id
        raise _Err(100200102)

    def _start(self, request: SimRequest, p: dict[str, Any]) -> SimResponse:
        app, open_id = self._user(p)
        upload_token = secrets.token_hex(12)
        self._uploads[upload_token] = {"app_id": app.app_id, "open_id": open_id, "data": b"", "fragments": {}}
        return json_response({"result": 1, "upload_token": upload_token, "endpoint": request.host or
                              urlsplit(self.default_base_url).netloc})

    def _upload_of(self, p: dict[str, Any]) -> dict[str, Any]:
        up = self._uploads.get(str(p.get("upload_token") or ""))
        if up is None:
            raise _Err(100200100, "upload_token")
        return up

    def _upload(self, request: SimRequest, p: dict[str, Any]) -> SimResponse:
        up = self._upload_of(p)
        if not request.body:
            raise _Err(100200100, "body")
        up["data"] = request.body
        return json_response({"result": 1})

    def _upload_multipart(self, request: SimRequest, p: dict[str, Any]) -> SimResponse:
        up = self._upload_of(p)
        part = request.files().get("file")
        if part is None or not part.data:
            raise _Err(100200100, "file")
        up["data"] = part.data
        return json_response({"result": 1})

    def _fragment(self, request: SimRequest, p: dict[str, Any]) -> SimResponse:
        up = self._upload_of(p)
        try:
            n = int(p.get("fragment_id", ""))
        except ValueError:
            raise _Err(100200100, "fragment_id") from None
        if n < 0 or not request.body:
            raise _Err(100200100, "fragment_id/body")
        up["fragments"][n] = request.body
        return json_response({"result": 1})

    def _complete(self, request: SimRequest, p: dict[str, Any]) -> SimResponse:
        up = self._upload_of(p)
        try:
            count = int(p.get("fragment_count", ""))
        except ValueError:
            raise _Err(100200100, "fragment_count") from None
        if count < 1 or sorted(up["fragments"]) != list(range(count)):
            raise _Err(100200100, "fragment_count")
        up["data"] = b"".join(up["fragments"][i] for i in range(count))
        return json_response({"result": 1})

    def _publish(self, request: SimRequest, p: dict[str, Any]) -> SimResponse:
        app, open_id = self._user(p)
        up = self._uploads.get(str(p.get("upload_token") or ""))
        if up is None or up["app_id"] != app.app_id or up["open_id"] != open_id or not up["data"]:
            raise _Err(120002)
        files = request.files()
        cover = files.get("cover")
        if cover is None or not cover.data or len(cover.data) >= COVER_MAX:
            raise _Err(100200100, "cover")
        caption_part = files.get("caption")
        caption = caption_part.data.decode("utf-8", "replace") if caption_part else str(p.get("caption") or "")
        if len(caption) > CAPTION_MAX:
            raise _Err(100200100, "caption")
        if up.get("published"):
            raise _Err(120003, "upload_token 已使用")
        up["published"] = True
        ph = _Photo(app.app_id, open_id, secrets.token_hex(9), caption, hashlib.sha256(up["data"]).hexdigest(), _now())
        self._photos.append(ph)
        return json_response({"result": 1, "video_info": self._info(request, ph)})

    def _info(self, request: SimRequest, ph: _Photo) -> dict[str, Any]:
        base = self._base(request)
        return {"photo_id": ph.photo_id, "caption": ph.caption, "cover": f"{base}/short-video/{ph.photo_id}?cover=1",
                "play_url": f"{base}/short-video/{ph.photo_id}", "create_time": int(ph.created * 1000),
                "like_count": 0, "comment_count": 0, "view_count": 0, "pending": False}

    def _mine(self, app: _App, open_id: str) -> list[_Photo]:
        return [ph for ph in self._photos if ph.app_id == app.app_id and ph.open_id == open_id and not ph.deleted]

    def _list(self, request: SimRequest, p: dict[str, Any]) -> SimResponse:
        app, open_id = self._user(p)
        try:
            count = min(200, max(1, int(p.get("count") or 20)))
            cursor = max(0, int(p.get("cursor") or 0))
        except ValueError:
            raise _Err(100200100, "cursor/count") from None
        mine = sorted(self._mine(app, open_id), key=lambda ph: ph.created, reverse=True)
        chunk = mine[cursor: cursor + count]
        return json_response({"result": 1, "video_list": [self._info(request, ph) for ph in chunk],
                              "cursor": str(cursor + len(chunk)) if cursor + len(chunk) < len(mine) else ""})

    def _find(self, p: dict[str, Any]) -> _Photo:
        app, open_id = self._user(p)
        ph = next((x for x in self._mine(app, open_id) if x.photo_id == str(p.get("photo_id") or "")), None)
        if ph is None:
            raise _Err(120001)
        return ph

    def _photo_info(self, request: SimRequest, p: dict[str, Any]) -> SimResponse:
        return json_response({"result": 1, "video_info": self._info(request, self._find(p))})

    def _delete(self, request: SimRequest, p: dict[str, Any]) -> SimResponse:
        self._find(p).deleted = True
        return json_response({"result": 1})

    def _page(self, key: str) -> SimResponse:
        with self.lock:
            ph = next((x for x in self._photos if x.photo_id == key and not x.deleted), None)
        if ph is None:
            return text_response("<!DOCTYPE html><meta charset=utf-8><p>作品不存在</p>", 404, HTML_CONTENT_TYPE)
        return text_response(f"<!DOCTYPE html><meta charset=utf-8><div>{html.escape(ph.caption)}</div>",
                             content_type=HTML_CONTENT_TYPE)

    def _control(self, request: SimRequest) -> SimResponse:
        body = control_request(self, request)
        if isinstance(body, SimResponse):
            return body
        try:
            if request.path == "/_sim/apps":
                appid, secret = body.get("appid"), body.get("secret")
                if not isinstance(appid, str) or not appid or not isinstance(secret, str) or not secret:
                    return json_response({"error": "appid and secret (strings) are required"}, 400)
                app, grant, token = self.register_app(appid, secret, open_id=body.get("open_id") or None,
                                                      access_token=body.get("access_token") or None,
                                                      refresh_token=body.get("refresh_token") or None)
                return json_response({"ok": True, "appid": appid, "open_id": app.open_id, "access_token": token,
                                      "refresh_token": grant.refresh_token, "expires_in": ACCESS_LIFE,
                                      "refresh_expires_in": REFRESH_LIFE})
            if request.path == "/_sim/expire_tokens":
                with self.lock:
                    for app in self._apps.values():
                        for g in app.grants:
                            g.access = {t: _now() - 1 for t in g.access}
                            g.refresh_expires = min(g.refresh_expires, _now() + 86400)
                return json_response({"ok": True})
        except (ValueError, TypeError) as exc:
            return json_response({"error": str(exc)}, 400)
        return json_response({"error": "not found"}, 404)


_ROUTES: dict[str, tuple[str, Any]] = {
    "/oauth2/access_token": ("GET", KuaishouSimulator._access_token),
    "/oauth2/refresh_token": ("GET", KuaishouSimulator._refresh),
    "/openapi/photo/start_upload": ("POST", KuaishouSimulator._start),
    "/api/upload": ("POST", KuaishouSimulator._upload),
    "/api/upload/multipart": ("POST", KuaishouSimulator._upload_multipart),
    "/api/upload/fragment": ("POST", KuaishouSimulator._fragment),
    "/api/upload/complete": ("POST", KuaishouSimulator._complete),
    "/openapi/photo/publish": ("POST", KuaishouSimulator._publish),
    "/openapi/photo/list": ("GET", KuaishouSimulator._list),
    "/openapi/photo/info": ("GET", KuaishouSimulator._photo_info),
    "/openapi/photo/delete": ("GET", KuaishouSimulator._delete),
}


def make_server(host: str = "127.0.0.1", port: int = 0,
                simulator: KuaishouSimulator | None = None) -> ThreadingHTTPServer:
    """Create (not start) the Kuaishou simulator's server; port 0 picks a free port."""
    sim = simulator if simulator is not None else KuaishouSimulator()
    server = make_sim_server(host, port, sim)
    bound_host, bound_port = server.server_address[:2]
    wildcard = {"0.0.0.0": "127.0.0.1", "::": "::1"}
    sim.default_base_url = format_base_url(wildcard.get(str(bound_host), str(bound_host)), int(bound_port))
    return server


def serve(host: str, port: int) -> None:
    """Run the simulator in the foreground until Ctrl-C or SIGTERM."""
    server = make_server(host, port)
    assert isinstance(server, SimHTTPServer)
    serve_until_stopped(server, "Kuaishou simulator")
