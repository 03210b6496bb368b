"""Douyin (抖音) open-platform simulator: OAuth, video upload (whole and in parts), create, query, delete.

Speaks the parts of ``https://open.douyin.com`` the adapter uses, as the open platform documents them
(developer.open-douyin.com: 用户授权, 视频管理), not as the adapter assumes::

    GET  /platform/oauth/connect/        client_key, response_type=code, scope, redirect_uri, state
                                         → the authorisation page; its 同意授权 link redirects back to
                                         ``redirect_uri`` with ``code`` (one use, 10 minutes) and ``state``
    POST /oauth/access_token/            client_key, client_secret, code, grant_type=authorization_code
                                         → {"data": {access_token, expires_in (15 days), open_id, refresh_token,
                                         refresh_expires_in (30 days), scope, error_code: 0, description}, "message"}
    POST /oauth/refresh_token/           client_key, grant_type=refresh_token, refresh_token → a new access
                                         token (15 days); the refresh token keeps its expiry (10010 once expired)
    POST /oauth/renew_refresh_token/     client_key, refresh_token → a new refresh token (30 days), the old one
                                         is void; at most 5 renewals per authorisation (then 10020)
    POST /api/douyin/v1/video/upload_video/?open_id=        multipart ``video`` (≤ 128 MB)
                                         → {"data": {"video": {video_id, width, height}, error_code: 0}}
    POST /api/douyin/v1/video/init_video_part_upload/?open_id=            → {"data": {upload_id}}
    POST /api/douyin/v1/video/upload_video_part/?open_id=&upload_id=&part_number=   multipart ``video``
    POST /api/douyin/v1/video/complete_video_part_upload/?open_id=&upload_id=       → {"data": {"video": …}}
    POST /api/douyin/v1/video/create_video/?open_id=        JSON {video_id, text, cover_tsp?} → {"data": {item_id}}
    POST /api/douyin/v1/video/video_data/?open_id=          JSON {item_ids: [...]} → {"data": {"list": [item]}}
    GET  /api/douyin/v1/video/video_list/?open_id=&cursor=&count=   → {"data": {list, cursor, has_more}}
    POST /api/douyin/v1/video/delete_video/?open_id=        JSON {item_id}

Video calls carry the user's token in the ``access-token`` header and the user's ``open_id`` in the query.
An item is ``{item_id, title, create_time, is_reviewed, video_status, share_url, cover}``; ``video_status``
4 is 审核中 (while ``review_seconds`` of the app run), 5 公开视频. Errors (HTTP 200) are ``{"data":
{"error_code", "description"}, "extra": {...}}``: 2100004 系统繁忙 (busy), 2100005 参数不合法, 2190001
quota 已用完 (``quota_exhausted``), 2190002 access_token 无效, 2190008 access_token 过期, 2190015
open_id 与 token 不匹配; OAuth: 10002 参数错误, 10007 授权码过期, 10010 refresh_token 过期, 10013
client_key 或 client_secret 错误, 10020 超过刷新次数限制.

Control surface (never subject to faults): ``POST /_sim/apps {appid (client_key), secret, review_seconds?,
open_id?, access_token?, refresh_token?}`` registers the app and a user who already authorised it and answers
``{"open_id", "access_token", "refresh_token"}``; ``GET /_sim/state`` lists ``published`` (``{appid, item_id,
title, sha256 of the video bytes, status, url}``), ``uploads`` and ``authorisations``; ``POST
/_sim/expire_tokens`` expires every access token and leaves each refresh token one day of life and no renewal;
``/_sim/faults`` and ``/_sim/reset`` as for every simulator (``expire_tokens`` also takes ``{refresh_in (seconds),
renewals_left, access (false: leave the access tokens)}`` to shorten an authorisation in other ways). Share pages are served at ``/video/<item_id>``.
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
from urllib.parse import parse_qs, urlencode, urlsplit

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

__all__ = ["DouyinSimulator", "make_server", "serve"]

ACCESS_LIFE = 15 * 86400
REFRESH_LIFE = 30 * 86400
RENEWALS = 5
CODE_LIFE = 600
VIDEO_MAX = 128 * 1024 * 1024
TEXT_MAX = 1000
API = "/api/douyin/v1/video/"

OAUTH_ERRORS = {10002: "参数错误", 10007: "授权码过期", 10010: "refresh_token过期", 10013: "client_key或client_secret错误",
                10020: "超过刷新次数限制", 2100004: "系统繁忙，此时请开发者稍候再试"}
API_ERRORS = {2100004: "系统繁忙，此时请开发者稍候再试", 2100005: "参数不合法", 2190001: "quota已用完",
              2190002: "access_token无效", 2190008: "access_token过期,请刷新或重新授权", 2190015: "请求参数access_token openid不匹配"}


class _Err(Exception):
    def __init__(self, code: int, detail: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail


@dataclass
class _Grant:
    """One authorisation of the app by its user: the refresh token (renewable) and its access tokens."""

    open_id: str
    refresh_token: str
    refresh_expires: float
    renewals_left: int = RENEWALS
    access: dict[str, float] = field(default_factory=dict)  # access token -> expiry


@dataclass
class _App:
    client_key: str
    secret: str
    open_id: str
    review_seconds: float = 0.0
    grants: list[_Grant] = field(default_factory=list)


@dataclass
class _Item:
    client_key: str
    open_id: str
    item_id: str
    video_id: str
    sha256: str
    title: str
    created: float
    review_until: float
    deleted: bool = False


def _now() -> float:
    return time.time()


@dataclass
class DouyinSimulator:
    """In-memory Douyin; thread-safe behind one lock."""

    default_base_url: str = "http://127.0.0.1"
    lock: threading.RLock = field(default_factory=threading.RLock)
    faults: Faults = field(default_factory=Faults)

    def __post_init__(self) -> None:
        self._apps: dict[str, _App] = {}
        self._codes: dict[str, tuple[str, float]] = {}  # code -> (client_key, expiry)
        self._videos: dict[str, tuple[str, str, str, int]] = {}  # video_id -> (client_key, open_id, sha256, size)
        self._parts: dict[str, dict[str, Any]] = {}  # upload_id -> {client_key, open_id, parts: {n: bytes}}
        self._items: list[_Item] = []

    # ------------------------------------------------------------------ control
    def register_app(self, client_key: str, secret: str, *, review_seconds: float = 0.0, open_id: str | None = None,
                     access_token: str | None = None, refresh_token: str | None = None) -> tuple[_App, _Grant, str]:
        with self.lock:
            app = self._apps.get(client_key)
            if app is None or app.secret != secret:
                app = _App(client_key, secret, open_id or f"_000{secrets.token_hex(12)}", review_seconds)
                self._apps[client_key] = app
            app.review_seconds = review_seconds
            grant, token = self._grant(app, refresh_token, access_token)
            return app, grant, token

    def _grant(self, app: _App, refresh_token: str | None = None, access_token: str | None = None) -> tuple[_Grant, str]:
        grant = _Grant(app.open_id, refresh_token or f"rft.{secrets.token_hex(20)}", _now() + REFRESH_LIFE)
        token = access_token or f"act.{secrets.token_hex(20)}"
        grant.access[token] = _now() + ACCESS_LIFE
        app.grants.append(grant)
        return grant, token

    def state(self) -> dict[str, Any]:
        with self.lock:
            base = self.default_base_url
            return {"drafts": [], "mass_sends": [],
                    "published": [{"appid": i.client_key, "item_id": i.item_id, "id": i.item_id, "title": i.title,
                                   "sha256": i.sha256, "status": self._status_word(i),
                                   "url": f"{base}/video/{i.item_id}"} for i in self._items],
                    "uploads": [{"appid": ck, "video_id": vid, "sha256": sha, "bytes": size}
                                for vid, (ck, _o, sha, size) in self._videos.items()],
                    "authorisations": [{"appid": a.client_key, "open_id": g.open_id, "renewals_left": g.renewals_left,
                                        "refresh_expires_in": int(g.refresh_expires - _now())}
                                       for a in self._apps.values() for g in a.grants],
                    "apps": [{"appid": a.client_key, "open_id": a.open_id} for a in self._apps.values()]}

    @staticmethod
    def _status_word(item: _Item) -> str:
        if item.deleted:
            return "deleted"
        return "reviewing" if _now() < item.review_until else "published"

    # ------------------------------------------------------------------ HTTP entry
    def handle(self, request: SimRequest) -> SimResponse:
        if request.path.startswith("/_sim/"):
            return self._control(request)
        if request.path.startswith("/platform/oauth/connect"):
            return self._connect(request)
        if request.path.startswith("/video/"):
            return self._page(request.path[len("/video/"):])
        route = _ROUTES.get(request.path)
        if route is None:
            return json_response({"data": {"error_code": 2100005, "description": "not found"}}, 404)
        method, handler = route
        oauth = request.path.startswith("/oauth/")
        with self.lock:
            latency = self.faults.latency_ms
        if latency:
            time.sleep(latency / 1000)
        with self.lock:
            if self.faults.roll_busy():
                return self._error(request, _Err(2100004))
            drop = self.faults.roll_drop()
            if request.method != method:
                response = json_response({"data": {"error_code": 2100005, "description": "method not allowed"}}, 405)
            elif self.faults.quota_exhausted and not oauth:
                response = self._error(request, _Err(2190001))
            else:
                try:
                    response = handler(self, request, self._params(request))
                except _Err as err:
                    response = self._error(request, err)
        response.drop = drop
        return response

    @staticmethod
    def _error(request: SimRequest, err: _Err) -> SimResponse:
        table = OAUTH_ERRORS if request.path.startswith("/oauth/") else API_ERRORS
        desc = table.get(err.code, "error") + (f"：{err.detail}" if err.detail else "")
        if request.path.startswith("/oauth/"):
            return json_response({"data": {"error_code": err.code, "description": desc}, "message": "error"})
        return json_response({"data": {"error_code": err.code, "description": desc},
                              "extra": {"error_code": err.code, "description": desc, "sub_error_code": 0,
                                        "sub_description": "", "logid": secrets.token_hex(8), "now": int(_now() * 1000)}})

    @staticmethod
    def _ok(data: dict[str, Any]) -> SimResponse:
        return json_response({"data": {**data, "error_code": 0, "description": ""},
                              "extra": {"error_code": 0, "description": "", "sub_error_code": 0, "sub_description": "",
                                        "logid": secrets.token_hex(8), "now": int(_now() * 1000)}})

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
        elif ctype.startswith("application/json"):
            try:
                body = request.json()
            except ValueError:
                raise _Err(2100005, "body") from None
            if isinstance(body, dict):
                params.update(body)
        return params

    def _base(self, request: SimRequest) -> str:
        return f"http://{request.host}" if request.host else self.default_base_url

    # ------------------------------------------------------------------ OAuth
    def _connect(self, request: SimRequest) -> SimResponse:
        q = request.query
        with self.lock:
            app = self._apps.get(q.get("client_key", ""))
            redirect = q.get("redirect_uri", "")
            if app is None or q.get("response_type") != "code" or urlsplit(redirect).scheme not in ("http", "https"):
                return text_response("<!DOCTYPE html><meta charset=utf-8><p>参数错误：client_key、response_type=code、"
                                     "redirect_uri</p>", 400, HTML_CONTENT_TYPE)
            code = secrets.token_hex(16)
            self._codes[code] = (app.client_key, _now() + CODE_LIFE)
        sep = "&" if "?" in redirect else "?"
        target = redirect + sep + urlencode({"code": code, "state": q.get("state", "")})
        scope = html.escape(q.get("scope", ""))
        page = ("<!DOCTYPE html><meta charset=utf-8><title>抖音授权</title>"
                f"<h1>授权应用 {html.escape(app.client_key)}</h1><p>申请的权限：{scope}</p>"
                f'<p><a id="approve" href="{html.escape(target)}">同意授权</a></p>')
        return text_response(page, content_type=HTML_CONTENT_TYPE)

    def _app_of(self, p: dict[str, Any], with_secret: bool) -> _App:
        key = str(p.get("client_key") or "")
        if not key:
            raise _Err(10002, "client_key")
        app = self._apps.get(key)
        if app is None or (with_secret and not secrets.compare_digest(app.secret.encode(),
                                                                      str(p.get("client_secret") or "").encode())):
            raise _Err(10013)
        return app

    @staticmethod
    def _token_answer(grant: _Grant, token: str) -> dict[str, Any]:
        return {"access_token": token, "expires_in": round(grant.access[token] - _now()), "open_id": grant.open_id,
                "refresh_token": grant.refresh_token, "refresh_expires_in": max(0, round(grant.refresh_expires - _now())),
                "scope": "user_info,video.create.bind,video.data.bind,video.delete.bind"}

    def _access_token(self, request: SimRequest, p: dict[str, Any]) -> SimResponse:
        app = self._app_of(p, with_secret=True)
        if p.get("grant_type") != "authorization_code" or not p.get("code"):
            raise _Err(10002, "code/grant_type")
        found = self._codes.pop(str(p["code"]), None)
        if found is None or found[0] != app.client_key or found[1] < _now():
            raise _Err(10007)
        grant, token = self._grant(app)
        return json_response({"data": {**self._token_answer(grant, token), "error_code": 0, "description": ""},
                              "message": "success"})

    def _grant_of(self, app: _App, refresh_token: Any) -> _Grant:
        for g in app.grants:
            if secrets.compare_digest(g.refresh_token.encode(), str(refresh_token or "").encode()):
                if g.refresh_expires <= _now():
                    raise _Err(10010)
                return g
        raise _Err(10010)

    def _refresh(self, request: SimRequest, p: dict[str, Any]) -> SimResponse:
        app = self._app_of(p, with_secret=False)
        if p.get("grant_type") != "refresh_token" or not p.get("refresh_token"):
            raise _Err(10002, "refresh_token/grant_type")
        grant = self._grant_of(app, p["refresh_token"])
        live = [t for t, exp in grant.access.items() if exp > _now()]
        token = live[0] if live else f"act.{secrets.token_hex(20)}"
        grant.access[token] = _now() + ACCESS_LIFE  # a live token is extended, an expired one replaced
        return json_response({"data": {**self._token_answer(grant, token), "error_code": 0, "description": ""},
                              "message": "success"})

    def _renew(self, request: SimRequest, p: dict[str, Any]) -> SimResponse:
        app = self._app_of(p, with_secret=False)
        if not p.get("refresh_token"):
            raise _Err(10002, "refresh_token")
        grant = self._grant_of(app, p["refresh_token"])
        if grant.renewals_left <= 0:
            raise _Err(10020)
        grant.renewals_left -= 1
        grant.refresh_token = f"rft.{secrets.token_hex(20)}"
        grant.refresh_expires = _now() + REFRESH_LIFE
        return json_response({"data": {"refresh_token": grant.refresh_token, "expires_in": REFRESH_LIFE,
                                       "error_code": 0, "description": ""}, "message": "success"})

    # ------------------------------------------------------------------ video
    def _user(self, request: SimRequest, p: dict[str, Any]) -> tuple[_App, str]:
        token = request.headers.get("access-token") or request.headers.get("Access-Token") or ""
        for app in self._apps.values():
            for g in app.grants:
                exp = next((e for t, e in g.access.items() if secrets.compare_digest(t.encode(), token.encode())), None)
                if exp is None:
                    continue
                if exp <= _now():
                    raise _Err(2190008)
                if str(p.get("open_id") or "") != g.open_id:
                    raise _Err(2190015)
                return app, g.open_id
        raise _Err(2190002)

    def _store_video(self, app: _App, open_id: str, data: bytes, limit: int = VIDEO_MAX) -> dict[str, Any]:
        if not data:
            raise _Err(2100005, "video")
        if len(data) > limit:
            raise _Err(2100005, "视频文件超过 128 MB，须分片上传")
        video_id = f"v0200f{secrets.token_hex(13)}"
        self._videos[video_id] = (app.client_key, open_id, hashlib.sha256(data).hexdigest(), len(data))
        return {"video": {"video_id": video_id, "width": 720, "height": 1280}}

    def _upload(self, request: SimRequest, p: dict[str, Any]) -> SimResponse:
        app, open_id = self._user(request, p)
        video = p.get("video")
        if video is None or isinstance(video, str):
            raise _Err(2100005, "video")
        return self._ok(self._store_video(app, open_id, video.data))

    def _part_init(self, request: SimRequest, p: dict[str, Any]) -> SimResponse:
        app, open_id = self._user(request, p)
        upload_id = secrets.token_hex(12)
        self._parts[upload_id] = {"client_key": app.client_key, "open_id": open_id, "parts": {}}
        return self._ok({"upload_id": upload_id})

    def _upload_of(self, app: _App, open_id: str, p: dict[str, Any]) -> dict[str, Any]:
        up = self._parts.get(str(p.get("upload_id") or ""))
        if up is None or up["client_key"] != app.client_key or up["open_id"] != open_id:
            raise _Err(2100005, "upload_id")
        return up

    def _part_upload(self, request: SimRequest, p: dict[str, Any]) -> SimResponse:
        app, open_id = self._user(request, p)
        up = self._upload_of(app, open_id, p)
        try:
            number = int(p.get("part_number") or 0)
        except ValueError:
            number = 0
        video = p.get("video")
        if number < 1 or video is None or isinstance(video, str) or not video.data:
            raise _Err(2100005, "part_number/video")
        up["parts"][number] = video.data
        return self._ok({})

    def _part_complete(self, request: SimRequest, p: dict[str, Any]) -> SimResponse:
        app, open_id = self._user(request, p)
        up = self._upload_of(app, open_id, p)
        numbers = sorted(up["parts"])
        if not numbers or numbers != list(range(1, len(numbers) + 1)):
            raise _Err(2100005, "分片不完整")
        data = b"".join(up["parts"][n] for n in numbers)
        self._parts.pop(str(p.get("upload_id")), None)
        return self._ok(self._store_video(app, open_id, data, limit=4 * 1024 * 1024 * 1024))

    def _create(self, request: SimRequest, p: dict[str, Any]) -> SimResponse:
        app, open_id = self._user(request, p)
        video = self._videos.get(str(p.get("video_id") or ""))
        if video is None or video[0] != app.client_key or video[1] != open_id:
            raise _Err(2100005, "video_id")
        text = p.get("text")
        if text is not None and (not isinstance(text, str) or len(text) > TEXT_MAX):
            raise _Err(2100005, "text")
        now = _now()
        item = _Item(app.client_key, open_id, f"@9VwL{secrets.token_hex(14)}", str(p["video_id"]), video[2],
                     text or "", now, now + app.review_seconds)
        self._items.append(item)
        return self._ok({"item_id": item.item_id})

    def _item_json(self, request: SimRequest, i: _Item) -> dict[str, Any]:
        reviewing = _now() < i.review_until
        return {"item_id": i.item_id, "title": i.title, "create_time": int(i.created), "is_top": False,
                "is_reviewed": not reviewing, "video_status": 4 if reviewing else 5, "media_type": 4,
                "share_url": f"{self._base(request)}/video/{i.item_id}",
                "cover": f"{self._base(request)}/video/{i.item_id}?cover=1",
                "statistics": {"comment_count": 0, "digg_count": 0, "download_count": 0, "forward_count": 0,
                               "play_count": 0, "share_count": 0}}

    def _mine(self, app: _App, open_id: str) -> list[_Item]:
        return [i for i in self._items if i.client_key == app.client_key and i.open_id == open_id and not i.deleted]

    def _video_data(self, request: SimRequest, p: dict[str, Any]) -> SimResponse:
        app, open_id = self._user(request, p)
        ids = p.get("item_ids")
        if not isinstance(ids, list) or not ids or len(ids) > 20:
            raise _Err(2100005, "item_ids")
        mine = {i.item_id: i for i in self._mine(app, open_id)}
        return self._ok({"list": [self._item_json(request, mine[str(x)]) for x in ids if str(x) in mine]})

    def _video_list(self, request: SimRequest, p: dict[str, Any]) -> SimResponse:
        app, open_id = self._user(request, p)
        try:
            count = min(20, max(1, int(p.get("count") or 10)))
            cursor = max(0, int(p.get("cursor") or 0))
        except ValueError:
            raise _Err(2100005, "cursor/count") from None
        mine = sorted(self._mine(app, open_id), key=lambda i: i.created, reverse=True)
        chunk = mine[cursor: cursor + count]
        return self._ok({"list": [self._item_json(request, i) for i in chunk], "cursor": cursor + len(chunk),
                         "has_more": cursor + len(chunk) < len(mine)})

    def _delete(self, request: SimRequest, p: dict[str, Any]) -> SimResponse:
        app, open_id = self._user(request, p)
        item = next((i for i in self._mine(app, open_id) if i.item_id == str(p.get("item_id") or "")), None)
        if item is None:
            raise _Err(2100005, "item_id")
        item.deleted = True
        return self._ok({})

    def _page(self, key: str) -> SimResponse:
        with self.lock:
            item = next((i for i in self._items if i.item_id == key.partition("?")[0] and not i.deleted), None)
        if item is None:
            return text_response("<!DOCTYPE html><meta charset=utf-8><p>视频不存在</p>", 404, HTML_CONTENT_TYPE)
        return text_response(f"<!DOCTYPE html><meta charset=utf-8><title>{html.escape(item.title)}</title>"
                             f"<div>{html.escape(item.title)}</div>", content_type=HTML_CONTENT_TYPE)

    # ------------------------------------------------------------------ control
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
                app, grant, token = self.register_app(
                    appid, secret, review_seconds=float(body.get("review_seconds") or 0),
                    open_id=body.get("open_id") or None, access_token=body.get("access_token") or None,
                    refresh_token=body.get("refresh_token") or None)
                return json_response({"ok": True, "appid": appid, "open_id": app.open_id, "access_token": token,
                                      "refresh_token": grant.refresh_token, "expires_in": ACCESS_LIFE,
                                      "refresh_expires_in": REFRESH_LIFE})
            if path == "/_sim/expire_tokens":
                refresh_in = float(body.get("refresh_in", 86400))
                renewals = int(body.get("renewals_left", 0))
                with self.lock:
                    for app in self._apps.values():
                        for g in app.grants:
                            if body.get("access", True):
                                g.access = {t: _now() - 1 for t in g.access}
                            g.refresh_expires = min(g.refresh_expires, _now() + refresh_in)
                            g.renewals_left = min(g.renewals_left, renewals)
                return json_response({"ok": True})
        except (ValueError, TypeError) as exc:
            return json_response({"error": str(exc)}, 400)
        return json_response({"error": "not found"}, 404)


_ROUTES: dict[str, tuple[str, Any]] = {
    "/oauth/access_token/": ("POST", DouyinSimulator._access_token),
    "/oauth/refresh_token/": ("POST", DouyinSimulator._refresh),
    "/oauth/renew_refresh_token/": ("POST", DouyinSimulator._renew),
    API + "upload_video/": ("POST", DouyinSimulator._upload),
    API + "init_video_part_upload/": ("POST", DouyinSimulator._part_init),
    API + "upload_video_part/": ("POST", DouyinSimulator._part_upload),
    API + "complete_video_part_upload/": ("POST", DouyinSimulator._part_complete),
    API + "create_video/": ("POST", DouyinSimulator._create),
    API + "video_data/": ("POST", DouyinSimulator._video_data),
    API + "video_list/": ("GET", DouyinSimulator._video_list),
    API + "delete_video/": ("POST", DouyinSimulator._delete),
}


def make_server(host: str = "127.0.0.1", port: int = 0,
                simulator: DouyinSimulator | None = None) -> ThreadingHTTPServer:
    """Create (not start) the Douyin simulator's server; port 0 picks a free port."""
    sim = simulator if simulator is not None else DouyinSimulator()
    server = make_sim_server(host, port, sim)
    bound_host, bound_port = server.server_address[:2]
    wildcard = {"0.0.0.0": "127.0.0.1", "::": "::1"}
    sim.default_base_url = format_base_url(wildcard.get(str(bound_host), str(bound_host)), int(bound_port))
    return server


def serve(host: str, port: int) -> None:
    """Run the simulator in the foreground until Ctrl-C or SIGTERM."""
    server = make_server(host, port)
    assert isinstance(server, SimHTTPServer)
    serve_until_stopped(server, "Douyin simulator")
