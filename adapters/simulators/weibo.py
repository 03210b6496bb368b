"""Weibo (微博) open-platform simulator.

Speaks the parts of ``https://api.weibo.com`` the adapter uses, as Weibo documents them (not as the
adapter assumes): ``/2/`` errors are HTTP 400/403 with ``{"request", "error_code", "error"}``; a
status is ``{"id", "idstr", "mid", "text", "created_at", "user": {...}}``::

    POST /2/statuses/share.json        status, rip, pic?   status: ≤ 140 汉字, a link on the app's 安全域名,
                                                           no #话题#; rip: the acting user's real IP (required)
    POST /2/statuses/upload_pic.json   pic (multipart)     → {pic_id, thumbnail_pic, bmiddle_pic, original_pic}
    GET  /2/statuses/user_timeline.json  count, page       (reconciliation)
    GET  /2/statuses/show.json         id
    POST /2/statuses/destroy.json      id                  (withdraw)
    POST /oauth2/get_token_info        access_token        (credential check, expiry)
    POST /proxy/article/publish.json   title (≤ 32), content (≤ 90,000), cover (an image URL), rip, text
                                       (≤ 1,900), summary?  (头条文章) → {"code": 100000, "msg": "", "data":
                                       {object_id, url, mid}}; errors {"code", "msg"}: 10001 system error,
                                       10008 param xxx invalid, 11001 too frequent
    GET  /2/comments/to_me.json        since_id, max_id, count (≤ 200, default 50), page   comments on the
                                       account's statuses by others, newest first → {"comments": [...],
                                       "previous_cursor", "next_cursor", "total_number"}
    GET  /2/comments/mentions.json     (same parameters) comments that @mention the account
    GET  /2/comments/timeline.json     (same) comments received and sent; by_me.json: sent
    GET  /2/comments/show.json         id (a status), same paging: the comments on one status
    POST /2/comments/reply.json        cid, id, comment (≤ 140), without_mention?, comment_ori?
                                       → the new comment with ``reply_comment``; 20101 no such status,
                                       20201 no such comment (or not on that status), 20012 too long,
                                       20019 the same reply twice

Tokens expire (``/_sim/expire_tokens`` → 21327), quotas (``quota_exhausted`` → 10023; 11001 on 头条),
busy (10009; 10001 on 头条), the text limit (20012) and duplicate text (20019) behave like the
real platform. Uploaded pictures are served at ``/large/<pic_id>.<ext>``. Control surface as in
docs/design.md §7 (``/_sim/apps`` takes ``{appid (app key), secret, access_token?, safe_domain?,
expires_in?}``; ``/_sim/state`` lists each status's ``text``, ``kind``, ``rip`` and, for articles,
``cover``), never subject to faults. ``POST /_sim/comment {appid or uid, status_id?, text, user_id?,
screen_name?, mention?}`` makes a member of the public comment on a status (default: the account's
latest; with ``mention`` the text @mentions the account, and the status may be anyone's);
``/_sim/state`` also lists ``comments`` and ``comment_replies`` ``[{"status_id", "comment_id", "text"}]``.
A comment is ``{"id", "idstr", "mid", "text", "created_at", "source", "user": {...}, "status": {...},
"reply_comment"?}``.
"""

from __future__ import annotations

import hashlib
import ipaddress
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
ARTICLE_CONTENT_MAX = 90_000
ARTICLE_TEXT_MAX = 1_900
ARTICLE_PATH = "/proxy/article/publish.json"

ERRORS = {
    10001: "system error",
    10009: "Task too busy",
    10016: "miss required parameter",
    10017: "parameter's value invalid",
    10021: "HTTP method is not suported for this request",
    10023: "User requests out of rate limit",
    20005: "Unsupported image type, only suport JPG, GIF, PNG!",
    20006: "Image size too large",
    20012: "Text too long, please input text less than 140 characters!",
    20016: "Out of limit!",
    20019: "Repeated weibo text!",
    20101: "Target weibo does not exist!",
    20201: "Target weibo comment does not exist!",
    21327: "expired_token",
    21332: "invalid_access_token",
}
ARTICLE_ERRORS = {10001: "system error", 10008: "param invalid", 11001: "sass check error",
                  11002: "create statuses error", 11003: "bind error"}
_URL = re.compile(r"https?://[^\s<>\"']+")
#: A topic as Weibo parses one: ``#`` text ``#`` on one line. ``statuses/share`` refuses them.
_TOPIC = re.compile(r"#[^#\r\n]+#")
_PIC_KINDS = {b"\xff\xd8\xff": "jpg", b"\x89PNG\r\n\x1a\n": "png", b"GIF87a": "gif", b"GIF89a": "gif"}
_PIC_TYPES = {"jpg": "image/jpeg", "png": "image/png", "gif": "image/gif"}


def weibo_length(text: str) -> int:
    """Length the way Weibo counts it: a CJK character is 1, two ASCII characters are 1."""
    ascii_chars = sum(1 for ch in text if ord(ch) < 128)
    return (len(text) - ascii_chars) + (ascii_chars + 1) // 2


class _Err(Exception):
    def __init__(self, code: int, status: int = 400, detail: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.status = status
        self.detail = detail  # names the parameter, as Weibo's messages do


def _valid_ip(value: Any) -> bool:
    try:
        ipaddress.ip_address(str(value).strip())
    except ValueError:
        return False
    return True


@dataclass
class _App:
    app_key: str
    secret: str
    access_token: str
    uid: int
    safe_domain: str
    expires_at: float
    screen_name: str = ""


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
    rip: str = ""


@dataclass
class _Comment:
    id: int
    status_id: int
    status_owner: str | None  # app key of the account whose status it is (None: someone else's)
    user_id: int
    screen_name: str
    text: str
    created: float
    author_app: str | None = None  # app key when the account itself wrote it (a reply)
    mentions: tuple[str, ...] = ()  # app keys it @mentions
    reply_to: int | None = None
    sent_text: str = ""  # the ``comment`` parameter of a reply, as the account sent it


COMMENT_MAX = 140
COMMENT_PAGE_MAX = 200
COMMENT_LISTS = ("to_me", "mentions", "timeline", "by_me", "show")


@dataclass
class WeiboSimulator:
    """In-memory Weibo; thread-safe behind one lock."""

    default_base_url: str = "http://127.0.0.1"
    lock: threading.RLock = field(default_factory=threading.RLock)
    faults: Faults = field(default_factory=Faults)

    def __post_init__(self) -> None:
        self._apps: dict[str, _App] = {}
        self._statuses: list[_Status] = []
        self._pictures: dict[str, tuple[str, bytes]] = {}  # pic_id -> (extension, bytes)
        self._comments: list[_Comment] = []
        self._next_id = 4_900_000_000_000_000 + secrets.randbelow(10_000_000) * 1000

    # ------------------------------------------------------------------ control
    def register_app(self, app_key: str, secret: str, access_token: str | None = None,
                     safe_domain: str = "example.gov.cn", expires_in: int = 30 * 86400) -> _App:
        with self.lock:
            app = _App(app_key, secret, access_token or f"2.00{secrets.token_hex(12)}",
                       uid=5_000_000_000 + len(self._apps) + 1, safe_domain=safe_domain,
                       expires_at=time.time() + expires_in)
            app.screen_name = f"政务微博{app.uid % 10000:04d}"
            self._apps[app_key] = app
            return app

    def state(self) -> dict[str, Any]:
        with self.lock:
            published = []
            for s in self._statuses:
                item = {"appid": s.app_key, "id": str(s.id), "publish_id": str(s.id),
                        "title": (s.article or {}).get("title") or s.text[:30], "text": s.text, "url": s.url,
                        "kind": "article" if s.article else "status", "rip": s.rip, "pic": s.pic,
                        "status": "deleted" if s.deleted else "published"}
                if s.article:
                    item.update(cover=s.article["cover"], summary=s.article["summary"],
                                content=s.article["content"])
                published.append(item)
            return {"drafts": [], "published": published, "mass_sends": [],
                    "pictures": [{"pic_id": k, "sha256": hashlib.sha256(v[1]).hexdigest()}
                                 for k, v in self._pictures.items()],
                    "apps": [{"appid": a.app_key, "uid": a.uid, "screen_name": a.screen_name}
                             for a in self._apps.values()],
                    "comments": [{"appid": c.status_owner or (c.mentions[0] if c.mentions else c.author_app),
                                  "id": str(c.id), "status_id": str(c.status_id), "user_id": str(c.user_id),
                                  "text": c.text, "kind": "reply" if c.author_app else (
                                      "comment" if c.status_owner else "mention"),
                                  "mentions": list(c.mentions),
                                  "reply_to": str(c.reply_to) if c.reply_to else None} for c in self._comments],
                    "comment_replies": [{"appid": c.author_app, "status_id": str(c.status_id),
                                         "comment_id": str(c.reply_to), "reply_id": str(c.id),
                                         "text": c.sent_text} for c in self._comments if c.author_app]}

    # ------------------------------------------------------------------ HTTP entry
    def handle(self, request: SimRequest) -> SimResponse:
        if request.path.startswith("/_sim/"):
            return self._control(request)
        if request.path.startswith("/s/"):
            return self._page(request.path[3:])
        if request.path.startswith("/large/"):
            return self._picture(request.path[len("/large/"):])
        route = _ROUTES.get(request.path)
        if route is None:
            return json_response({"request": request.path, "error_code": 10014, "error": "not found"}, 404)
        method, handler = route
        article = request.path == ARTICLE_PATH
        with self.lock:
            latency = self.faults.latency_ms
        if latency:
            time.sleep(latency / 1000)
        with self.lock:
            if self.faults.roll_busy():
                return self._error(request, _Err(10001 if article else 10009))
            drop = self.faults.roll_drop()
            if request.method != method:
                response = self._error(request, _Err(10021, 405))
            elif self.faults.quota_exhausted:
                response = self._error(request, _Err(11001 if article else 10023, 403))
            else:
                try:
                    response = handler(self, request, self._params(request))
                except _Err as err:
                    response = self._error(request, err)
        response.drop = drop
        return response

    @staticmethod
    def _error(request: SimRequest, err: _Err) -> SimResponse:
        if request.path == ARTICLE_PATH:  # 头条文章 answers {code, msg} (HTTP 200), not the /2/ shape
            msg = ARTICLE_ERRORS.get(err.code) or ERRORS.get(err.code, "error")
            if err.code == 10008:
                msg = f"param {err.detail or 'xxx'} invalid"
            return json_response({"code": err.code, "msg": msg, "data": {}})
        text = ERRORS.get(err.code, "error")
        if err.detail and err.code == 10016:
            text = f"miss required parameter ({err.detail}) , see doc for more info."
        elif err.detail and err.code == 10017:
            text = f"parameter ({err.detail})'s value invalid, see doc for more info."
        return json_response({"request": request.path, "error_code": err.code, "error": text}, err.status)

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

    def _duplicate(self, app: _App, text: str) -> bool:
        return any(s.app_key == app.app_key and s.text == text and not s.deleted for s in self._statuses)

    def _check_text(self, app: _App, text: str) -> None:
        """``statuses/share``: ≤ 140, a link on the safe domain, no #话题#, not a repeat."""
        if not text.strip():
            raise _Err(10016, detail="status")
        if weibo_length(text) > STATUS_MAX:
            raise _Err(20012)
        hosts = [urlsplit(u).hostname or "" for u in _URL.findall(text)]
        if not any(h == app.safe_domain or h.endswith("." + app.safe_domain) for h in hosts):
            raise _Err(10017, detail="status")
        if _TOPIC.search(text):
            raise _Err(10017, detail="status")
        if self._duplicate(app, text):
            raise _Err(20019)

    @staticmethod
    def _rip(p: dict[str, Any], code: int = 10016) -> str:
        rip = p.get("rip")
        if not isinstance(rip, str) or not rip.strip():
            raise _Err(code, detail="rip")
        if not _valid_ip(rip):
            raise _Err(10017 if code == 10016 else code, detail="rip")
        return rip.strip()

    @staticmethod
    def _picture_kind(data: bytes) -> str | None:
        return next((kind for magic, kind in _PIC_KINDS.items() if data.startswith(magic)), None)

    # ------------------------------------------------------------------ endpoints
    def _share(self, request: SimRequest, p: dict[str, Any]) -> SimResponse:
        app = self._auth(p)
        text = p.get("status")
        if not isinstance(text, str):
            raise _Err(10016, detail="status")
        rip = self._rip(p)
        self._check_text(app, text)
        pic = p.get("pic")
        if pic is not None and not isinstance(pic, str):
            if len(pic.data) > PIC_MAX:
                raise _Err(20006)
            if self._picture_kind(pic.data) is None:
                raise _Err(20005)
        st = self._new_status(app, text, self._base(request), pic=pic is not None, rip=rip)
        return json_response(self._json(app, st))

    def _upload_pic(self, request: SimRequest, p: dict[str, Any]) -> SimResponse:
        self._auth(p)
        pic = p.get("pic")
        if pic is None or isinstance(pic, str):
            raise _Err(10016, detail="pic")
        if len(pic.data) > PIC_MAX:
            raise _Err(20006)
        kind = self._picture_kind(pic.data)
        if kind is None:
            raise _Err(20005)
        pic_id = hashlib.sha256(pic.data).hexdigest()[:22]
        self._pictures[pic_id] = (kind, pic.data)
        base = self._base(request)
        return json_response({"pic_id": pic_id, "thumbnail_pic": f"{base}/large/{pic_id}.{kind}?size=thumbnail",
                              "bmiddle_pic": f"{base}/large/{pic_id}.{kind}?size=bmiddle",
                              "original_pic": f"{base}/large/{pic_id}.{kind}"})

    def _article(self, request: SimRequest, p: dict[str, Any]) -> SimResponse:
        app = self._auth(p)
        values: dict[str, str] = {}
        for name in ("title", "content", "cover", "text", "rip", "summary"):
            value = p.get(name)
            if value is not None and not isinstance(value, str):  # a file part: the docs want a string
                raise _Err(10008, detail=name)
            values[name] = (value or "").strip() if name != "content" else (value or "")
        for name in ("title", "content", "cover", "text", "rip"):  # required, per the docs
            if not values[name].strip():
                raise _Err(10008, detail=name)
        if len(values["title"]) > ARTICLE_TITLE_MAX:
            raise _Err(10008, detail="title")
        if len(values["content"]) > ARTICLE_CONTENT_MAX:
            raise _Err(10008, detail="content")
        if len(values["text"]) > ARTICLE_TEXT_MAX:
            raise _Err(10008, detail="text")
        cover = urlsplit(values["cover"])
        if cover.scheme not in ("http", "https") or not cover.hostname:
            raise _Err(10008, detail="cover")
        if not _valid_ip(values["rip"]):
            raise _Err(10008, detail="rip")
        if self._duplicate(app, values["text"]):
            raise _Err(11002)
        st = self._new_status(app, values["text"], self._base(request), rip=values["rip"], article={
            "title": values["title"], "summary": values["summary"], "content": values["content"],
            "cover": values["cover"]})
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

    # ------------------------------------------------------------------ comments
    def _status_json(self, status_id: int, owner: str | None) -> dict[str, Any]:
        app = self._apps.get(owner) if owner else None
        st = next((s for s in self._statuses if s.id == status_id), None) if app else None
        if app is not None and st is not None:
            return self._json(app, st)
        return {"id": status_id, "idstr": str(status_id), "mid": str(status_id), "text": "",
                "user": {"id": 0, "idstr": "0"}}

    def _comment_json(self, c: _Comment, nested: bool = True) -> dict[str, Any]:
        created = datetime.fromtimestamp(c.created, BEIJING).strftime("%a %b %d %H:%M:%S +0800 %Y")
        out: dict[str, Any] = {
            "created_at": created, "id": c.id, "idstr": str(c.id), "mid": str(c.id), "text": c.text,
            "source": '<a href="http://weibo.com" rel="nofollow">微博 weibo.com</a>',
            "user": {"id": c.user_id, "idstr": str(c.user_id), "screen_name": c.screen_name, "name": c.screen_name}}
        if nested:
            out["status"] = self._status_json(c.status_id, c.status_owner)
            target = next((t for t in self._comments if t.id == c.reply_to), None) if c.reply_to else None
            if target is not None:
                out["reply_comment"] = self._comment_json(target, nested=False)
        return out

    def _mentioned(self, text: str) -> tuple[str, ...]:
        return tuple(a.app_key for a in self._apps.values() if f"@{a.screen_name}" in text)

    @staticmethod
    def _int_param(p: dict[str, Any], name: str, default: int) -> int:
        raw = p.get(name)
        if raw in (None, ""):
            return default
        try:
            return int(str(raw))
        except ValueError:
            raise _Err(10017, detail=name) from None

    def _comment_list(self, request: SimRequest, p: dict[str, Any]) -> SimResponse:
        app = self._auth(p)
        which = request.path.removeprefix("/2/comments/").removesuffix(".json")
        since_id = self._int_param(p, "since_id", 0)
        max_id = self._int_param(p, "max_id", 0)
        count = self._int_param(p, "count", 50)
        page = self._int_param(p, "page", 1)
        if not 1 <= count <= COMMENT_PAGE_MAX:
            raise _Err(10017, detail="count")
        if page < 1:
            raise _Err(10017, detail="page")
        key = app.app_key
        if which == "show":
            if not p.get("id"):
                raise _Err(10016, detail="id")
            sid = self._find(app, p.get("id")).id
            chosen = [c for c in self._comments if c.status_id == sid]
        else:
            chosen = [c for c in self._comments if (
                (which in ("to_me", "timeline") and c.status_owner == key and c.author_app != key)
                or (which == "mentions" and key in c.mentions and c.author_app != key)
                or (which in ("by_me", "timeline") and c.author_app == key))]
        chosen = sorted((c for c in chosen if c.id > since_id and (max_id <= 0 or c.id <= max_id)),
                        key=lambda c: c.id, reverse=True)
        chunk = chosen[(page - 1) * count: page * count]
        more = len(chosen) > page * count
        return json_response({"comments": [self._comment_json(c) for c in chunk], "hasvisible": False,
                              "previous_cursor": 0, "next_cursor": chunk[-1].id - 1 if more and chunk else 0,
                              "total_number": len(chosen)})

    def _reply(self, request: SimRequest, p: dict[str, Any]) -> SimResponse:
        app = self._auth(p)
        for name in ("cid", "id", "comment"):
            if not isinstance(p.get(name), str) or not p[name].strip():
                raise _Err(10016, detail=name)
        cid, sid = self._int_param(p, "cid", 0), self._int_param(p, "id", 0)
        text = p["comment"]
        if weibo_length(text) > COMMENT_MAX:
            raise _Err(20012)
        known = any(s.id == sid and not s.deleted for s in self._statuses) or any(
            c.status_id == sid and c.status_owner is None for c in self._comments)
        if not known:
            raise _Err(20101)
        target = next((c for c in self._comments if c.id == cid and c.status_id == sid), None)
        if target is None:
            raise _Err(20201)
        if any(c.author_app == app.app_key and c.reply_to == cid and c.sent_text == text for c in self._comments):
            raise _Err(20019)
        shown = text if str(p.get("without_mention") or "0") == "1" else f"回复@{target.screen_name}:{text}"
        self._next_id += 1
        reply = _Comment(self._next_id, sid, target.status_owner, app.uid, app.screen_name, shown, time.time(),
                         author_app=app.app_key, mentions=self._mentioned(shown), reply_to=cid, sent_text=text)
        self._comments.append(reply)
        return json_response(self._comment_json(reply))

    def add_comment(self, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /_sim/comment``: a member of the public comments (raises ValueError with the reason)."""
        with self.lock:
            app = self._apps.get(str(body.get("appid") or "")) or next(
                (a for a in self._apps.values() if str(a.uid) == str(body.get("uid") or "")), None)
            if app is None:
                raise ValueError("appid (app key) or uid of a registered app is required")
            text = body.get("text")
            if not isinstance(text, str) or not text.strip():
                raise ValueError("text (a non-empty string) is required")
            mention = body.get("mention", False)
            if not isinstance(mention, bool):
                raise ValueError("mention must be true or false")
            raw_sid = body.get("status_id")
            owner: str | None
            if raw_sid in (None, ""):
                mine = [s for s in self._statuses if s.app_key == app.app_key and not s.deleted]
                if mine:
                    sid, owner = mine[-1].id, app.app_key
                elif mention:
                    self._next_id += 1
                    sid, owner = self._next_id, None
                else:
                    raise ValueError("the account has no status to comment on (give status_id)")
            else:
                sid = int(str(raw_sid))
                st = next((s for s in self._statuses if s.id == sid and not s.deleted), None)
                if st is None and not mention:
                    raise ValueError(f"status {sid} is not a status of the account")
                owner = st.app_key if st is not None else None
            user_id = int(str(body.get("user_id") or 6_000_000_000 + secrets.randbelow(10**9)))
            screen_name = str(body.get("screen_name") or f"网友{user_id % 100000:05d}")
            if mention and f"@{app.screen_name}" not in text:
                text = f"@{app.screen_name} {text}"
            self._next_id += 1
            c = _Comment(self._next_id, sid, owner, user_id, screen_name, text, time.time(),
                         mentions=self._mentioned(text))
            self._comments.append(c)
            return {"ok": True, "id": str(c.id), "comment": self._comment_json(c)}

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

    def _picture(self, name: str) -> SimResponse:
        with self.lock:
            found = self._pictures.get(name.rpartition(".")[0] or name)
        if found is None:
            return text_response("not found\n", 404)
        kind, data = found
        return SimResponse(body=data, content_type=_PIC_TYPES[kind])

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
            if path == "/_sim/comment":
                return json_response(self.add_comment(body))
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
    "/2/statuses/upload_pic.json": ("POST", WeiboSimulator._upload_pic),
    "/2/statuses/user_timeline.json": ("GET", WeiboSimulator._timeline),
    "/2/statuses/show.json": ("GET", WeiboSimulator._show),
    "/2/statuses/destroy.json": ("POST", WeiboSimulator._destroy),
    "/oauth2/get_token_info": ("POST", WeiboSimulator._token_info),
    ARTICLE_PATH: ("POST", WeiboSimulator._article),
    "/2/comments/reply.json": ("POST", WeiboSimulator._reply),
    **{f"/2/comments/{name}.json": ("GET", WeiboSimulator._comment_list) for name in COMMENT_LISTS},
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
