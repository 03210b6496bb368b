"""WeChat Official Account (公众号) platform simulator.

Speaks the real API protocol (``https://api.weixin.qq.com/cgi-bin/...``) on
loopback: same paths, query parameters, JSON shapes and error codes, errors
as HTTP 200 with ``{"errcode": N, "errmsg": "..."}``. Covered endpoints::

    GET  /cgi-bin/token                     POST /cgi-bin/stable_token
    POST /cgi-bin/material/add_material     POST /cgi-bin/material/del_material
    POST /cgi-bin/media/uploadimg
    POST /cgi-bin/draft/add|get|update|delete|batchget
    GET  /cgi-bin/draft/count               (POST is accepted too)
    POST /cgi-bin/freepublish/submit|get|batchget|getarticle|delete
    POST /cgi-bin/message/mass/sendall|get|delete
    POST /cgi-bin/message/custom/send       (客服消息, within 48 h of the follower's last message)
    POST /cgi-bin/clear_quota

Followers' messages are pushed to the app's server (``callback_url``, signed with ``token``, AES
encrypted with ``encoding_aes_key``) as :mod:`adapters.simulators.wechat_callback` describes.

Behaviour taken from WeChat's documentation rather than from our adapter:

* ``draft/add`` / ``draft/update`` store the content as WeChat keeps it
  (:mod:`adapters.simulators.wechat_html`): external images, scripts, iframes,
  CSS ``url()`` backgrounds, ``srcset`` and external link targets are removed.
* ``message/mass/sendall``: a ``clientmsgid`` over 64 bytes gives 45067; one
  seen in the last 24 h (simulator clock) gives 45065 with the original
  ``msg_id``; quotas follow the app's type (订阅号 ``subscription``: 1 mass send
  per Beijing day; 服务号 ``service``: 4 per Beijing calendar month), beyond
  that 45028. Sends finish asynchronously: ``message/mass/get`` answers
  ``SENDING`` for ``mass_delay`` seconds, then ``SEND_SUCCESS`` (the draft then
  leaves the draft box) or ``SEND_FAIL``. ``message/mass/delete`` withdraws a
  successful mpnews send (``DELETE``).
* Apps may be unverified (48001 "api unauthorized" on ``freepublish/*`` and
  ``message/mass/*``), have an IP allow-list (40164 on token and API calls from
  another address) and a cap on held permanent materials (45034).

Published articles are viewable at ``GET /s/<key>`` on the simulator itself
(the ``article_url`` it hands out), so links work on a closed network.

Test hooks: a draft whose content contains ``SIM-FAIL-CHECK`` is refused by
``freepublish/submit`` with 53503; one containing ``SIM-FAIL-PUBLISH`` is
accepted but the asynchronous publication ends with ``publish_status`` 3
(the draft goes back to the draft box). A mass send of content containing
``SIM-REPRINT`` is judged a repost (转载): with ``send_ignore_reprint`` 0 (the
documented default) the send stops and ends ``SEND_FAIL``; with 1 it goes on.

Control surface (never subject to injected faults)::

    POST /_sim/apps {appid, secret[, type, verified, ip_whitelist, material_cap,
                     callback_url, token, encoding_aes_key, original_id]}
    POST /_sim/user_message {appid, openid, content[, deliveries, concurrent]}
                                      (a follower's text message, pushed to callback_url)
    POST /_sim/followers {appid, openid[, interacted_ago]}
    GET  /_sim/apps
    GET  /_sim/state[?appid=]         POST|GET /_sim/faults
    POST /_sim/expire_tokens          POST /_sim/reset
    POST|GET /_sim/quotas {daily, minute}
    POST|GET /_sim/clock {advance: seconds}   (moves the simulator clock forward)
"""

from __future__ import annotations

import hashlib
import html
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import ThreadingHTTPServer
from typing import Any

from adapters.simulators.base import (
    HTML_CONTENT_TYPE,
    Faults,
    SimHTTPServer,
    SimRequest,
    SimResponse,
    format_base_url,
    json_response,
    make_sim_server,
    serve_until_stopped,
    text_response,
)
from adapters.simulators.wechat_apps import App, check_app_settings, ip_allowed
from adapters.simulators.wechat_callback import (
    InteractionBook,
    api_custom_send,
    deliver_user_message,
    set_follower,
)
from adapters.simulators.wechat_html import is_wechat_link, wechat_content
from adapters.simulators.wechat_mass import REPRINT_MARKER, MassSend, MassSendBook
from adapters.simulators.wechat_mass import WxError as _WxError

__all__ = [
    "WeChatSimulator",
    "make_server",
    "serve",
    "FAIL_CHECK_MARKER",
    "FAIL_PUBLISH_MARKER",
    "REPRINT_MARKER",
]

#: Content marker that makes ``freepublish/submit`` answer 53503.
FAIL_CHECK_MARKER = "SIM-FAIL-CHECK"
#: Content marker that makes an accepted publication end with publish_status 3.
FAIL_PUBLISH_MARKER = "SIM-FAIL-PUBLISH"

DEFAULT_DAILY_QUOTA = 1_000_000

# Real limits (see NOTES.md "wechatpy").
TITLE_MAX = 32
AUTHOR_MAX = 16
DIGEST_MAX = 128
CONTENT_MAX_CHARS = 20_000  # content must be shorter than this
CONTENT_MAX_BYTES = 1024 * 1024
THUMB_MAX_BYTES = 64 * 1024
IMAGE_MAX_BYTES = 10 * 1024 * 1024
UPLOADIMG_MAX_BYTES = 1024 * 1024  # must be smaller than this
MAX_ARTICLES = 8
AUTO_DIGEST_CHARS = 54
# Endpoints an unverified account may not call (48001).
VERIFIED_ONLY_PREFIXES = ("/cgi-bin/freepublish/", "/cgi-bin/message/mass/", "/cgi-bin/message/custom/")

BEIJING = timezone(timedelta(hours=8))

ERRORS: dict[int, str] = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40004: "invalid media type",
    40005: "invalid file type",
    40007: "invalid media_id",
    40008: "invalid message type",
    40009: "invalid image size",
    40013: "invalid appid",
    40125: "invalid appsecret",
    40164: "invalid ip",
    41001: "access_token missing",
    41002: "appid missing",
    41004: "appsecret missing",
    41005: "media data missing",
    42001: "access_token expired",
    43001: "require GET method",
    43002: "require POST method",
    44002: "empty post data",
    44003: "empty news data",
    44004: "empty content",
    45002: "content size out of limit",
    45003: "title size out of limit",
    45004: "description size out of limit",
    45008: "article size out of limit",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit",
    45015: "response out of time limit or subscription is canceled",
    45028: "has no masssend quota",
    45034: "media file count is out of limit",
    45065: "clientmsgid exist",
    45067: "clientmsgid size out of limit",
    45110: "author size out of limit",
    47001: "data format error",
    47003: "argument invalid!",
    48001: "api unauthorized",
    53503: "该草稿未通过发布检查",
    53600: "Article ID 无效",
}

# Fields a draft article keeps (besides the computed url / thumb_url).
ARTICLE_FIELDS = (
    "article_type",
    "title",
    "author",
    "digest",
    "content",
    "content_source_url",
    "thumb_media_id",
    "show_cover_pic",
    "need_open_comment",
    "only_fans_can_comment",
)

_TAG_RE = re.compile(r"<[^>]*>")
_SPACE_RE = re.compile(r"\s+")


def wx_error(code: int, detail: str = "") -> SimResponse:
    """An error answer the way the platform gives it: HTTP 200 + errcode/errmsg."""
    message = ERRORS.get(code, "unknown error")
    if detail:
        message = f"{message} {detail}"
    return json_response({"errcode": code, "errmsg": message})


def wx_ok(**extra: Any) -> SimResponse:
    """``{"errcode": 0, "errmsg": "ok", ...extra}``."""
    return json_response({"errcode": 0, "errmsg": "ok", **extra})


# --------------------------------------------------------------------------- state records


@dataclass
class _Token:
    value: str
    appid: str
    kind: str  # "basic" | "stable"
    expires_at: float


@dataclass
class _Material:
    appid: str
    media_id: str
    type: str
    format: str
    size: int
    url: str
    create_time: int
    sha256: str = ""


@dataclass
class _Draft:
    appid: str
    media_id: str
    articles: list[dict[str, Any]]
    create_time: int
    update_time: int
    seq: int


@dataclass
class _Publication:
    appid: str
    publish_id: str
    media_id: str
    articles: list[dict[str, Any]]
    submitted_at: float
    submit_time: int
    base_url: str
    will_fail: bool
    seq: int
    status: str = "publishing"  # publishing | published | failed | deleted
    article_id: str | None = None
    urls: list[str] = field(default_factory=list)
    deleted: list[bool] = field(default_factory=list)
    fail_idx: list[int] = field(default_factory=list)
    publish_time: int | None = None
    update_time: int | None = None


def _new_id(nbytes: int = 48) -> str:
    """URL-safe random id (48 bytes → 64 characters, like real media ids)."""
    return secrets.token_urlsafe(nbytes)


def _image_format(data: bytes) -> str | None:
    """Sniff an image format from its magic bytes."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if data.startswith(b"BM"):
        return "bmp"
    return None


def _text_of(content: str) -> str:
    """Plain text of an HTML fragment (for the automatic digest)."""
    return _SPACE_RE.sub(" ", html.unescape(_TAG_RE.sub("", content))).strip()


def _as_int(value: Any, default: int) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    raise _WxError(47003, "integer expected")


def _flag(value: Any) -> int:
    return 1 if _as_int(value, 0) else 0


# --------------------------------------------------------------------------- simulator


Handler = Callable[["WeChatSimulator", SimRequest, str], SimResponse]


class WeChatSimulator:
    """In-memory WeChat Official Account platform; thread-safe behind one lock.

    ``token_ttl`` is the access-token lifetime in seconds; ``publish_delay`` is
    how long a ``freepublish/submit`` stays at ``publish_status`` 1 and
    ``mass_delay`` (default: ``publish_delay``) how long a mass send stays
    ``SENDING``, both in simulator time (``clock`` plus what ``/_sim/clock``
    advanced).
    ``daily_quota`` is the per-app, per-endpoint daily call limit and
    ``minute_quota`` the per-app, per-endpoint limit per minute (None = off).
    """

    def __init__(
        self,
        token_ttl: int = 7200,
        publish_delay: float = 0.3,
        *,
        mass_delay: float | None = None,
        daily_quota: int = DEFAULT_DAILY_QUOTA,
        minute_quota: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.token_ttl = token_ttl
        self.publish_delay = publish_delay
        self.mass_delay = publish_delay if mass_delay is None else mass_delay
        self.daily_quota = daily_quota
        self.minute_quota = minute_quota
        self.clock = clock
        #: Base URL used for article links when a request carries no Host header.
        self.default_base_url = "http://127.0.0.1"
        self.lock = threading.RLock()
        # Ids that must never repeat, even across /_sim/reset.
        self._publish_counter = 2_247_483_648 + secrets.randbelow(1_000_000) * 1000
        self._msg_counter = 1_000_000_001 + secrets.randbelow(1_000_000) * 1000
        self._seq = 0
        self._reset_state()

    # ----------------------------------------------------------------- state housekeeping

    def _reset_state(self) -> None:
        self.faults = Faults()
        self._apps: dict[str, App] = {}
        self._tokens: dict[str, _Token] = {}
        self._materials: dict[str, _Material] = {}
        self._images: list[dict[str, Any]] = []
        self._drafts: dict[str, _Draft] = {}
        self._publications: dict[str, _Publication] = {}
        self._articles: dict[str, str] = {}  # article_id -> publish_id
        self._mass = MassSendBook()
        self._pages: dict[str, tuple[str, str, int]] = {}  # key -> (kind, ref, idx)
        self._day_calls: dict[tuple[str, str], tuple[str, int]] = {}
        self._minute_calls: dict[tuple[str, str], tuple[int, int]] = {}
        self._clock_offset = 0.0
        self._interactions = InteractionBook()

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _now(self) -> float:
        return self.clock() + self._clock_offset

    def advance_clock(self, seconds: float) -> float:
        """Move the simulator clock forward by ``seconds``; returns the new time."""
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            raise ValueError("advance must be a non-negative number of seconds")
        with self.lock:
            self._clock_offset += float(seconds)
            return self._now()

    def register_app(self, appid: str, secret: str, **settings: Any) -> App:
        """Register an app (or replace its secret); same as ``POST /_sim/apps``.

        ``settings`` may hold ``type`` ("subscription" | "service"), ``verified``
        (bool), ``ip_whitelist`` (list of addresses or networks, or None) and
        ``material_cap`` (int or None). For an app already registered, the
        settings given replace the current ones and the others stay. Raises
        ValueError when a setting is invalid.
        """
        checked = check_app_settings(settings)
        with self.lock:
            app = self._apps.get(appid)
            if app is None:
                app = self._apps[appid] = App(appid=appid, secret=secret)
            app.secret = secret
            for key, value in checked.items():
                setattr(app, key, value)
            return app

    def set_faults(self, payload: dict[str, Any]) -> None:
        """Replace the fault settings (``{}`` resets them); raises ValueError when invalid."""
        faults = Faults.from_payload(payload)
        with self.lock:
            self.faults = faults

    def expire_tokens(self) -> None:
        """Make every issued access token expired."""
        with self.lock:
            now = self._now()
            for token in self._tokens.values():
                token.expires_at = min(token.expires_at, now - 1)

    def reset(self) -> None:
        """Forget apps, tokens, content, faults and quota counters."""
        with self.lock:
            self._reset_state()

    def _advance(self) -> None:
        """Finish the publications whose publish delay has elapsed."""
        now = self._now()
        for pub in self._publications.values():
            if pub.status != "publishing" or now < pub.submitted_at + self.publish_delay:
                continue
            finished = int(now)
            pub.update_time = finished
            if pub.will_fail:
                pub.status = "failed"
                pub.fail_idx = [
                    i for i, art in enumerate(pub.articles, 1) if FAIL_PUBLISH_MARKER in art["content"]
                ] or [1]
                # A failed publication leaves the draft in the draft box.
                self._drafts[pub.media_id] = _Draft(
                    appid=pub.appid,
                    media_id=pub.media_id,
                    articles=pub.articles,
                    create_time=pub.submit_time,
                    update_time=finished,
                    seq=self._next_seq(),
                )
                continue
            pub.status = "published"
            pub.publish_time = finished
            pub.article_id = _new_id()
            self._articles[pub.article_id] = pub.publish_id
            pub.urls = []
            for idx in range(1, len(pub.articles) + 1):
                key = secrets.token_urlsafe(16)
                self._pages[key] = ("article", pub.publish_id, idx)
                pub.urls.append(f"{pub.base_url}/s/{key}")
            pub.deleted = [False] * len(pub.articles)
        self._mass.advance(now, self.mass_delay, self._mass_delivered)

    # ----------------------------------------------------------------- entry point

    def handle(self, request: SimRequest) -> SimResponse:
        """Answer one HTTP request (control surface, article pages or platform API)."""
        if request.path == "/_sim" or request.path.startswith("/_sim/"):
            return self._control(request)
        if request.path.startswith("/s/") and request.method in ("GET", "HEAD"):
            return self._page(request.path[len("/s/") :])
        route = _ROUTES.get(request.path)
        if route is None:
            return text_response("404 Not Found\n", status=404)
        methods, needs_token, handler = route

        with self.lock:
            latency = self.faults.latency_ms
        if latency > 0:
            time.sleep(latency / 1000.0)

        with self.lock:
            if self.faults.quota_exhausted:
                return wx_error(45009)
            if self.faults.roll_busy():
                return wx_error(-1)
            drop = self.faults.roll_drop()
            response = self._call(request, methods, needs_token, handler)
        if drop:
            response.drop = True
        return response

    def _call(
        self, request: SimRequest, methods: tuple[str, ...], needs_token: bool, handler: Handler
    ) -> SimResponse:
        """Run one platform endpoint under the lock: method, token, IP, permission, quota, action."""
        if request.method not in methods:
            return wx_error(43002 if "POST" in methods else 43001)
        self._advance()
        try:
            if not needs_token:
                return handler(self, request, "")
            appid = self._authenticate(request)
            app = self._apps[appid]
            self._check_ip(app, request)
            if not app.verified and request.path.startswith(VERIFIED_ONLY_PREFIXES):
                raise _WxError(48001)
            self._charge(appid, request.path)
            return handler(self, request, appid)
        except _WxError as exc:
            return wx_error(exc.code, exc.detail)

    @staticmethod
    def _check_ip(app: App, request: SimRequest) -> None:
        """40164 when the app has an IP allow-list and the caller is not on it."""
        allowed, addr = ip_allowed(app, request.remote_addr or "127.0.0.1")
        if not allowed:
            raise _WxError(40164, f"{addr}, not in whitelist")

    def _authenticate(self, request: SimRequest) -> str:
        value = request.query.get("access_token", "")
        if not value:
            raise _WxError(41001)
        token = self._tokens.get(value)
        if token is None or token.appid not in self._apps:
            raise _WxError(40001)
        if self._now() >= token.expires_at:
            raise _WxError(42001)
        return token.appid

    def _charge(self, appid: str, path: str) -> None:
        """Count one call of ``path`` for ``appid``; raise 45009 / 45011 past the limits."""
        family = path.removeprefix("/cgi-bin/")
        now = self._now()
        key = (appid, family)
        day = datetime.fromtimestamp(now, BEIJING).strftime("%Y-%m-%d")
        stored_day, day_count = self._day_calls.get(key, (day, 0))
        if stored_day != day:
            day_count = 0
        if day_count >= self.daily_quota:
            raise _WxError(45009)
        minute = int(now // 60)
        stored_minute, minute_count = self._minute_calls.get(key, (minute, 0))
        if stored_minute != minute:
            minute_count = 0
        if self.minute_quota is not None and minute_count >= self.minute_quota:
            raise _WxError(45011)
        self._day_calls[key] = (day, day_count + 1)
        self._minute_calls[key] = (minute, minute_count + 1)

    def _base_url(self, request: SimRequest) -> str:
        host = request.host
        return f"http://{host}" if host else self.default_base_url

    @staticmethod
    def _body(request: SimRequest) -> dict[str, Any]:
        try:
            data = request.json()
        except (ValueError, UnicodeDecodeError) as exc:
            raise _WxError(47001) from exc
        if not isinstance(data, dict):
            raise _WxError(47001)
        return data

    # ----------------------------------------------------------------- tokens

    def _issue_token(self, app: App, kind: str) -> _Token:
        old = app.basic_token if kind == "basic" else app.stable_token
        if old is not None:
            self._tokens.pop(old, None)
        token = _Token(
            value=_new_id(102), appid=app.appid, kind=kind, expires_at=self._now() + self.token_ttl
        )
        self._tokens[token.value] = token
        if kind == "basic":
            app.basic_token = token.value
        else:
            app.stable_token = token.value
        return token

    def _check_credentials(self, grant_type: Any, appid: Any, secret: Any) -> App:
        if not appid:
            raise _WxError(41002)
        if grant_type != "client_credential":
            raise _WxError(40002)
        app = self._apps.get(str(appid))
        if app is None:
            raise _WxError(40013)
        if not secret:
            raise _WxError(41004)
        if not secrets.compare_digest(str(secret).encode(), app.secret.encode()):
            raise _WxError(40125)
        return app

    def _api_token(self, request: SimRequest, _appid: str) -> SimResponse:
        q = request.query
        app = self._check_credentials(q.get("grant_type"), q.get("appid"), q.get("secret"))
        self._check_ip(app, request)
        self._charge(app.appid, request.path)
        token = self._issue_token(app, "basic")
        return json_response({"access_token": token.value, "expires_in": self.token_ttl})

    def _api_stable_token(self, request: SimRequest, _appid: str) -> SimResponse:
        body = self._body(request)
        app = self._check_credentials(body.get("grant_type"), body.get("appid"), body.get("secret"))
        self._check_ip(app, request)
        self._charge(app.appid, request.path)
        force = body.get("force_refresh") in (True, 1, "true", "1")
        now = self._now()
        current = self._tokens.get(app.stable_token) if app.stable_token else None
        if force or current is None or now >= current.expires_at:
            current = self._issue_token(app, "stable")
        return json_response(
            {"access_token": current.value, "expires_in": max(0, int(current.expires_at - now))}
        )

    def _api_clear_quota(self, request: SimRequest, appid: str) -> SimResponse:
        body = self._body(request)
        if body.get("appid") != appid:
            raise _WxError(40013)
        for store in (self._day_calls, self._minute_calls):
            for key in [k for k in store if k[0] == appid]:
                del store[key]
        return wx_ok()

    # ----------------------------------------------------------------- materials

    def _upload(self, request: SimRequest) -> tuple[bytes, str]:
        files = request.files()
        upload = files.get("media")
        if upload is None or not upload.data:
            raise _WxError(41005)
        fmt = _image_format(upload.data)
        if fmt is None:
            raise _WxError(40005)
        return upload.data, fmt

    def _api_add_material(self, request: SimRequest, appid: str) -> SimResponse:
        media_type = request.query.get("type", "")
        if media_type not in ("image", "thumb"):
            raise _WxError(40004)
        data, fmt = self._upload(request)
        if media_type == "thumb":
            if fmt != "jpg":
                raise _WxError(40005)
            if len(data) > THUMB_MAX_BYTES:
                raise _WxError(40009)
        elif len(data) > IMAGE_MAX_BYTES:
            raise _WxError(40009)
        cap = self._apps[appid].material_cap
        if cap is not None and sum(1 for m in self._materials.values() if m.appid == appid) >= cap:
            raise _WxError(45034)
        media_id = _new_id()
        wx_fmt = "jpeg" if fmt == "jpg" else fmt
        url = f"http://mmbiz.qpic.cn/mmbiz_{fmt}/{_new_id(32)}/0?wx_fmt={wx_fmt}"
        self._materials[media_id] = _Material(
            appid=appid,
            media_id=media_id,
            type=media_type,
            format=fmt,
            size=len(data),
            url=url,
            create_time=int(self._now()),
            sha256=hashlib.sha256(data).hexdigest(),
        )
        return json_response({"media_id": media_id, "url": url})

    def _api_del_material(self, request: SimRequest, appid: str) -> SimResponse:
        media_id = self._body(request).get("media_id")
        material = self._materials.get(str(media_id)) if media_id else None
        if material is None or material.appid != appid:
            raise _WxError(40007)
        del self._materials[material.media_id]
        return wx_ok()

    def _api_uploadimg(self, request: SimRequest, appid: str) -> SimResponse:
        data, fmt = self._upload(request)
        if fmt not in ("jpg", "png"):
            raise _WxError(40005)
        if len(data) >= UPLOADIMG_MAX_BYTES:
            raise _WxError(40009)
        url = f"http://mmbiz.qpic.cn/mmbiz_{fmt}/{_new_id(32)}/0"
        # uploadimg images do not count against the material library.
        self._images.append(
            {
                "appid": appid,
                "url": url,
                "sha256": hashlib.sha256(data).hexdigest(),
                "format": fmt,
                "size": len(data),
                "create_time": int(self._now()),
            }
        )
        return json_response({"url": url, "errcode": 0, "errmsg": "ok"})

    # ----------------------------------------------------------------- drafts

    def _kept_content(self, request: SimRequest, content: str) -> str:
        """``content`` as WeChat stores it; links to this simulator's article pages count as WeChat's."""
        own_pages = {f"{self._base_url(request)}/s/", f"{self.default_base_url}/s/"}

        def keep_link(href: str) -> bool:
            return is_wechat_link(href) or href.strip().startswith(tuple(own_pages))

        return wechat_content(content, keep_link)

    def _validate_article(self, raw: Any, appid: str, single: bool, request: SimRequest) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise _WxError(47001)
        article_type = raw.get("article_type") or "news"
        if article_type != "news":
            raise _WxError(47003, "article_type")
        title = str(raw.get("title") or "")
        author = str(raw.get("author") or "")
        digest = str(raw.get("digest") or "")
        content = str(raw.get("content") or "")
        if not title.strip():
            raise _WxError(47003, "title is empty")
        if len(title) > TITLE_MAX:
            raise _WxError(45003)
        if len(author) > AUTHOR_MAX:
            raise _WxError(45110)
        if len(digest) > DIGEST_MAX:
            raise _WxError(45004)
        if not content.strip():
            raise _WxError(44004)
        if len(content) >= CONTENT_MAX_CHARS or len(content.encode("utf-8")) >= CONTENT_MAX_BYTES:
            raise _WxError(45002)
        thumb_media_id = str(raw.get("thumb_media_id") or "")
        material = self._materials.get(thumb_media_id)
        if material is None or material.appid != appid:
            raise _WxError(40007)
        content = self._kept_content(request, content)
        if not single:
            digest = ""  # the platform keeps digests for single-article messages only
        elif not digest:
            digest = _text_of(content)[:AUTO_DIGEST_CHARS]
        return {
            "article_type": "news",
            "title": title,
            "author": author,
            "digest": digest,
            "content": content,
            "content_source_url": str(raw.get("content_source_url") or ""),
            "thumb_media_id": thumb_media_id,
            "show_cover_pic": _flag(raw.get("show_cover_pic", 0)),
            "need_open_comment": _flag(raw.get("need_open_comment", 0)),
            "only_fans_can_comment": _flag(raw.get("only_fans_can_comment", 0)),
            "thumb_url": material.url,
        }

    def _draft_pages(self, request: SimRequest, draft: _Draft) -> None:
        base = self._base_url(request)
        for idx, article in enumerate(draft.articles, 1):
            key = secrets.token_urlsafe(16)
            self._pages[key] = ("draft", draft.media_id, idx)
            article["url"] = f"{base}/s/{key}"

    def _api_draft_add(self, request: SimRequest, appid: str) -> SimResponse:
        articles = self._body(request).get("articles")
        if not isinstance(articles, list) or not articles:
            raise _WxError(44003)
        if len(articles) > MAX_ARTICLES:
            raise _WxError(45008)
        validated = [
            self._validate_article(raw, appid, single=len(articles) == 1, request=request) for raw in articles
        ]
        now = int(self._now())
        draft = _Draft(
            appid=appid,
            media_id=_new_id(),
            articles=validated,
            create_time=now,
            update_time=now,
            seq=self._next_seq(),
        )
        self._draft_pages(request, draft)
        self._drafts[draft.media_id] = draft
        return json_response({"media_id": draft.media_id})

    def _own_draft(self, media_id: Any, appid: str) -> _Draft:
        draft = self._drafts.get(str(media_id)) if media_id else None
        if draft is None or draft.appid != appid:
            raise _WxError(40007)
        return draft

    def _api_draft_update(self, request: SimRequest, appid: str) -> SimResponse:
        body = self._body(request)
        draft = self._own_draft(body.get("media_id"), appid)
        index = _as_int(body.get("index"), 0)
        if not 0 <= index < len(draft.articles):
            raise _WxError(47003, "index")
        article = self._validate_article(
            body.get("articles"), appid, single=len(draft.articles) == 1, request=request
        )
        article["url"] = draft.articles[index].get("url", "")
        draft.articles[index] = article
        draft.update_time = int(self._now())
        draft.seq = self._next_seq()
        return wx_ok()

    @staticmethod
    def _news_item(article: dict[str, Any], no_content: bool = False) -> dict[str, Any]:
        item = {key: article.get(key, "") for key in (*ARTICLE_FIELDS, "url", "thumb_url")}
        if no_content:
            item.pop("content", None)
        return item

    def _api_draft_get(self, request: SimRequest, appid: str) -> SimResponse:
        draft = self._own_draft(self._body(request).get("media_id"), appid)
        return json_response({"news_item": [self._news_item(a) for a in draft.articles]})

    def _api_draft_delete(self, request: SimRequest, appid: str) -> SimResponse:
        draft = self._own_draft(self._body(request).get("media_id"), appid)
        del self._drafts[draft.media_id]
        return wx_ok()

    def _api_draft_count(self, request: SimRequest, appid: str) -> SimResponse:
        return json_response({"total_count": sum(1 for d in self._drafts.values() if d.appid == appid)})

    @staticmethod
    def _page_args(body: dict[str, Any]) -> tuple[int, int, bool]:
        offset = _as_int(body.get("offset"), 0)
        count = _as_int(body.get("count"), 0)
        if offset < 0:
            raise _WxError(47003, "offset")
        if not 1 <= count <= 20:
            raise _WxError(47003, "count")
        return offset, count, bool(_as_int(body.get("no_content"), 0))

    def _api_draft_batchget(self, request: SimRequest, appid: str) -> SimResponse:
        offset, count, no_content = self._page_args(self._body(request))
        drafts = sorted(
            (d for d in self._drafts.values() if d.appid == appid),
            key=lambda d: (d.update_time, d.seq),
            reverse=True,
        )
        page = drafts[offset : offset + count]
        items = [
            {
                "media_id": d.media_id,
                "content": {
                    "news_item": [self._news_item(a, no_content) for a in d.articles],
                    "create_time": d.create_time,
                    "update_time": d.update_time,
                },
                "update_time": d.update_time,
            }
            for d in page
        ]
        return json_response({"total_count": len(drafts), "item_count": len(items), "item": items})

    # ----------------------------------------------------------------- freepublish

    def _api_publish_submit(self, request: SimRequest, appid: str) -> SimResponse:
        draft = self._own_draft(self._body(request).get("media_id"), appid)
        if any(FAIL_CHECK_MARKER in a["content"] for a in draft.articles):
            raise _WxError(53503)
        self._publish_counter += 1
        publish_id = str(self._publish_counter)
        now = self._now()
        pub = _Publication(
            appid=appid,
            publish_id=publish_id,
            media_id=draft.media_id,
            articles=[dict(a) for a in draft.articles],
            submitted_at=now,
            submit_time=int(now),
            base_url=self._base_url(request),
            will_fail=any(FAIL_PUBLISH_MARKER in a["content"] for a in draft.articles),
            seq=self._next_seq(),
        )
        self._publications[publish_id] = pub
        # A draft that is being published leaves the draft box.
        del self._drafts[draft.media_id]
        return wx_ok(publish_id=publish_id, msg_data_id=int(publish_id))

    def _article_detail(self, pub: _Publication) -> dict[str, Any]:
        items = [{"idx": idx, "article_url": url} for idx, url in enumerate(pub.urls, 1)]
        return {"count": len(items), "item": items}

    def _api_publish_get(self, request: SimRequest, appid: str) -> SimResponse:
        publish_id = self._body(request).get("publish_id")
        pub = self._publications.get(str(publish_id)) if publish_id not in (None, "") else None
        if pub is None or pub.appid != appid:
            raise _WxError(47003, "publish_id")
        if pub.status == "publishing":
            return json_response({"publish_id": pub.publish_id, "publish_status": 1, "fail_idx": []})
        if pub.status == "failed":
            return json_response(
                {"publish_id": pub.publish_id, "publish_status": 3, "fail_idx": pub.fail_idx}
            )
        return json_response(
            {
                "publish_id": pub.publish_id,
                "publish_status": 5 if pub.status == "deleted" else 0,
                "article_id": pub.article_id,
                "article_detail": self._article_detail(pub),
                "fail_idx": [],
            }
        )

    def _published_item(self, pub: _Publication, idx: int, no_content: bool = False) -> dict[str, Any]:
        item = self._news_item(pub.articles[idx], no_content)
        item["url"] = pub.urls[idx]
        item["is_deleted"] = pub.deleted[idx]
        return item

    def _api_publish_batchget(self, request: SimRequest, appid: str) -> SimResponse:
        offset, count, no_content = self._page_args(self._body(request))
        pubs = sorted(
            (
                p
                for p in self._publications.values()
                if p.appid == appid and p.status in ("published", "deleted")
            ),
            key=lambda p: (p.update_time or 0, p.seq),
            reverse=True,
        )
        page = pubs[offset : offset + count]
        items = [
            {
                "article_id": p.article_id,
                "content": {
                    "news_item": [self._published_item(p, i, no_content) for i in range(len(p.articles))],
                    "create_time": p.publish_time,
                    "update_time": p.update_time,
                },
                "update_time": p.update_time,
            }
            for p in page
        ]
        return json_response({"total_count": len(pubs), "item_count": len(items), "item": items})

    def _own_article(self, article_id: Any, appid: str) -> _Publication:
        publish_id = self._articles.get(str(article_id)) if article_id else None
        pub = self._publications.get(publish_id) if publish_id else None
        if pub is None or pub.appid != appid or pub.status != "published":
            raise _WxError(53600)
        return pub

    def _api_publish_getarticle(self, request: SimRequest, appid: str) -> SimResponse:
        pub = self._own_article(self._body(request).get("article_id"), appid)
        return json_response({"news_item": [self._published_item(pub, i) for i in range(len(pub.articles))]})

    def _api_publish_delete(self, request: SimRequest, appid: str) -> SimResponse:
        body = self._body(request)
        pub = self._own_article(body.get("article_id"), appid)
        index = _as_int(body.get("index"), 0)
        if not 0 <= index <= len(pub.articles):
            raise _WxError(47003, "index")
        if index == 0:
            pub.deleted = [True] * len(pub.articles)
        else:
            pub.deleted[index - 1] = True
        pub.update_time = int(self._now())
        if all(pub.deleted):
            pub.status = "deleted"
        return wx_ok()

    # ----------------------------------------------------------------- mass send

    def _api_mass_sendall(self, request: SimRequest, appid: str) -> SimResponse:
        body = self._body(request)
        filt = body.get("filter")
        if not isinstance(filt, dict):
            raise _WxError(47003, "filter")
        is_to_all = filt.get("is_to_all") in (True, 1, "true")
        tag_id = filt.get("tag_id", filt.get("group_id"))
        if not is_to_all and tag_id in (None, ""):
            raise _WxError(47003, "filter")
        now = self._now()
        clientmsgid = body.get("clientmsgid")
        if clientmsgid not in (None, ""):
            clientmsgid = str(clientmsgid)
            earlier = self._mass.duplicate(appid, clientmsgid, now)
            if earlier is not None:
                return json_response({"errcode": 45065, "errmsg": ERRORS[45065], "msg_id": earlier.msg_id})
        else:
            clientmsgid = None
        msgtype = body.get("msgtype")
        media_id: str | None = None
        text: str | None = None
        articles: list[dict[str, Any]] = []
        if msgtype == "mpnews":
            payload = body.get("mpnews")
            media_id = payload.get("media_id") if isinstance(payload, dict) else None
            articles = [dict(a) for a in self._own_draft(media_id, appid).articles]
        elif msgtype == "text":
            payload = body.get("text")
            text = str(payload.get("content") or "") if isinstance(payload, dict) else ""
            if not text:
                raise _WxError(44004)
        elif msgtype == "image":
            payload = body.get("image")
            media_id = payload.get("media_id") if isinstance(payload, dict) else None
            material = self._materials.get(str(media_id)) if media_id else None
            if material is None or material.appid != appid:
                raise _WxError(40007)
        else:
            raise _WxError(40008)
        self._mass.check_quota(appid, self._apps[appid].type, now)
        self._msg_counter += 1
        msg_id = self._msg_counter
        msg_data_id = None
        if msgtype == "mpnews":
            self._publish_counter += 1
            msg_data_id = self._publish_counter
        self._mass.add(
            MassSend(
                appid=appid,
                msg_id=msg_id,
                msg_data_id=msg_data_id,
                msgtype=str(msgtype),
                media_id=media_id,
                clientmsgid=clientmsgid,
                is_to_all=is_to_all,
                tag_id=tag_id,
                articles=articles,
                text=text,
                sent_at=now,
                send_ignore_reprint=_flag(body.get("send_ignore_reprint", 0)),
            )
        )
        answer: dict[str, Any] = {"errcode": 0, "errmsg": "send job submission success", "msg_id": msg_id}
        if msg_data_id is not None:
            answer["msg_data_id"] = msg_data_id
        return json_response(answer)

    def _mass_delivered(self, sent: MassSend) -> None:
        """A send succeeded: "群发成功后 media_id 会失效，后台草稿也会被自动删除"."""
        draft = self._drafts.get(str(sent.media_id)) if sent.msgtype == "mpnews" else None
        if draft is not None and draft.appid == sent.appid:
            del self._drafts[draft.media_id]

    def _api_mass_get(self, request: SimRequest, appid: str) -> SimResponse:
        sent = self._mass.get(appid, _as_int(self._body(request).get("msg_id"), 0))
        return json_response({"msg_id": sent.msg_id, "msg_status": sent.status})

    def _api_mass_delete(self, request: SimRequest, appid: str) -> SimResponse:
        """Withdraw a sent 图文: ``{msg_id, article_idx}`` (article_idx 0 or missing = all articles)."""
        body = self._body(request)
        self._mass.delete(appid, _as_int(body.get("msg_id"), 0), _as_int(body.get("article_idx"), 0))
        return wx_ok()

    # ----------------------------------------------------------------- article pages

    def _page(self, key: str) -> SimResponse:
        with self.lock:
            self._advance()
            target = self._pages.get(key)
            article: dict[str, Any] | None = None
            if target is not None:
                kind, ref, idx = target
                if kind == "draft":
                    draft = self._drafts.get(ref)
                    article = draft.articles[idx - 1] if draft else None
                else:
                    pub = self._publications.get(ref)
                    if pub is not None and pub.status == "published" and not pub.deleted[idx - 1]:
                        article = pub.articles[idx - 1]
        if article is None:
            return text_response(
                "<!DOCTYPE html><meta charset=utf-8><title>微信公众平台</title><p>该内容已被发布者删除</p>",
                status=404,
                content_type=HTML_CONTENT_TYPE,
            )
        title = html.escape(article["title"])
        author = html.escape(article["author"])
        page = (
            "<!DOCTYPE html><html lang=zh-CN><head><meta charset=utf-8>"
            f"<title>{title}</title></head><body><h1 id=activity-name>{title}</h1>"
            f"<p id=meta_content>{author}</p><div id=js_content>{article['content']}</div></body></html>"
        )
        return text_response(page, content_type=HTML_CONTENT_TYPE)

    # ----------------------------------------------------------------- control surface

    def _control(self, request: SimRequest) -> SimResponse:
        path, method = request.path, request.method
        try:
            if path == "/_sim/state" and method == "GET":
                return json_response(self.state(appid=request.query.get("appid") or None))
            if path == "/_sim/apps" and method == "GET":
                with self.lock:
                    return json_response({"apps": [a.settings() for a in self._apps.values()]})
            if path == "/_sim/faults" and method == "GET":
                with self.lock:
                    return json_response(self.faults.to_dict())
            if path == "/_sim/quotas" and method == "GET":
                with self.lock:
                    return json_response({"daily": self.daily_quota, "minute": self.minute_quota})
            if path == "/_sim/clock" and method == "GET":
                with self.lock:
                    return json_response({"now": self._now(), "offset": self._clock_offset})
            if method != "POST":
                known = {
                    "/_sim/apps",
                    "/_sim/faults",
                    "/_sim/expire_tokens",
                    "/_sim/reset",
                    "/_sim/quotas",
                    "/_sim/clock",
                    "/_sim/user_message",
                    "/_sim/followers",
                }
                if path in known or path == "/_sim/state":
                    return json_response({"error": "method not allowed"}, status=405)
                return json_response({"error": "not found"}, status=404)
            try:
                body = request.json()
            except (ValueError, UnicodeDecodeError):
                return json_response({"error": "body must be JSON"}, status=400)
            if not isinstance(body, dict):
                return json_response({"error": "body must be a JSON object"}, status=400)
            if path == "/_sim/apps":
                appid, secret = body.get("appid"), body.get("secret")
                if not isinstance(appid, str) or not appid or not isinstance(secret, str) or not secret:
                    return json_response({"error": "appid and secret (strings) are required"}, status=400)
                settings = {k: v for k, v in body.items() if k not in ("appid", "secret")}
                app = self.register_app(appid, secret, **settings)
                with self.lock:
                    return json_response({"ok": True, **app.settings()})
            if path == "/_sim/user_message":
                return deliver_user_message(self, body)
            if path == "/_sim/followers":
                return set_follower(self, body)
            if path == "/_sim/clock":
                now = self.advance_clock(body.get("advance", 0))
                with self.lock:
                    return json_response({"ok": True, "now": now, "offset": self._clock_offset})
            if path == "/_sim/faults":
                self.set_faults(body)
                with self.lock:
                    return json_response({"ok": True, "faults": self.faults.to_dict()})
            if path == "/_sim/expire_tokens":
                self.expire_tokens()
                return json_response({"ok": True})
            if path == "/_sim/reset":
                self.reset()
                return json_response({"ok": True})
            if path == "/_sim/quotas":
                daily = body.get("daily", DEFAULT_DAILY_QUOTA)
                minute = body.get("minute")
                for value in (daily, minute):
                    if value is not None and (
                        isinstance(value, bool) or not isinstance(value, int) or value < 0
                    ):
                        raise ValueError(
                            "daily and minute must be non-negative integers (minute may be null)"
                        )
                if daily is None:
                    raise ValueError("daily must be an integer")
                with self.lock:
                    self.daily_quota = daily
                    self.minute_quota = minute
                return json_response({"ok": True, "daily": daily, "minute": minute})
        except ValueError as exc:
            return json_response({"error": str(exc)}, status=400)
        return json_response({"error": "not found"}, status=404)

    def state(self, appid: str | None = None) -> dict[str, Any]:
        """Everything the platform holds, as ``GET /_sim/state`` returns it."""
        with self.lock:
            self._advance()

            def wanted(owner: str) -> bool:
                return appid is None or owner == appid

            drafts = [
                {
                    "appid": d.appid,
                    "media_id": d.media_id,
                    "articles": [dict(a) for a in d.articles],
                    "create_time": d.create_time,
                    "update_time": d.update_time,
                }
                for d in sorted(self._drafts.values(), key=lambda d: d.seq)
                if wanted(d.appid)
            ]
            published = []
            for p in sorted(self._publications.values(), key=lambda p: p.seq):
                if not wanted(p.appid):
                    continue
                first = p.articles[0]
                published.append(
                    {
                        "appid": p.appid,
                        "publish_id": p.publish_id,
                        "article_id": p.article_id,
                        "media_id": p.media_id,
                        "title": first["title"],
                        "url": p.urls[0] if p.urls else None,
                        "status": p.status,
                        "content_source_url": first["content_source_url"],
                        "submit_time": p.submit_time,
                        "publish_time": p.publish_time,
                        "fail_idx": list(p.fail_idx),
                        "articles": [
                            {
                                **a,
                                "idx": i,
                                "url": p.urls[i - 1] if p.urls else None,
                                "is_deleted": p.deleted[i - 1] if p.deleted else False,
                            }
                            for i, a in enumerate(p.articles, 1)
                        ],
                    }
                )
            mass_sends = [m.as_state() for m in self._mass.sends if wanted(m.appid)]
            materials = [
                {
                    "appid": m.appid,
                    "media_id": m.media_id,
                    "type": m.type,
                    "format": m.format,
                    "size": m.size,
                    "url": m.url,
                    "sha256": m.sha256,
                }
                for m in self._materials.values()
                if wanted(m.appid)
            ]
            images = [dict(i) for i in self._images if wanted(i["appid"])]
            return {
                "drafts": drafts,
                "published": published,
                "mass_sends": mass_sends,
                "materials": materials,
                "images": images,
                **self._interactions.state(wanted),
            }


# path -> (HTTP methods, needs access_token, handler)
_ROUTES: dict[str, tuple[tuple[str, ...], bool, Handler]] = {
    "/cgi-bin/token": (("GET",), False, WeChatSimulator._api_token),
    "/cgi-bin/stable_token": (("POST",), False, WeChatSimulator._api_stable_token),
    "/cgi-bin/clear_quota": (("POST",), True, WeChatSimulator._api_clear_quota),
    "/cgi-bin/material/add_material": (("POST",), True, WeChatSimulator._api_add_material),
    "/cgi-bin/material/del_material": (("POST",), True, WeChatSimulator._api_del_material),
    "/cgi-bin/media/uploadimg": (("POST",), True, WeChatSimulator._api_uploadimg),
    "/cgi-bin/draft/add": (("POST",), True, WeChatSimulator._api_draft_add),
    "/cgi-bin/draft/update": (("POST",), True, WeChatSimulator._api_draft_update),
    "/cgi-bin/draft/get": (("POST",), True, WeChatSimulator._api_draft_get),
    "/cgi-bin/draft/delete": (("POST",), True, WeChatSimulator._api_draft_delete),
    "/cgi-bin/draft/count": (("GET", "POST"), True, WeChatSimulator._api_draft_count),
    "/cgi-bin/draft/batchget": (("POST",), True, WeChatSimulator._api_draft_batchget),
    "/cgi-bin/freepublish/submit": (("POST",), True, WeChatSimulator._api_publish_submit),
    "/cgi-bin/freepublish/get": (("POST",), True, WeChatSimulator._api_publish_get),
    "/cgi-bin/freepublish/batchget": (("POST",), True, WeChatSimulator._api_publish_batchget),
    "/cgi-bin/freepublish/getarticle": (("POST",), True, WeChatSimulator._api_publish_getarticle),
    "/cgi-bin/freepublish/delete": (("POST",), True, WeChatSimulator._api_publish_delete),
    "/cgi-bin/message/mass/sendall": (("POST",), True, WeChatSimulator._api_mass_sendall),
    "/cgi-bin/message/mass/get": (("POST",), True, WeChatSimulator._api_mass_get),
    "/cgi-bin/message/mass/delete": (("POST",), True, WeChatSimulator._api_mass_delete),
    "/cgi-bin/message/custom/send": (("POST",), True, api_custom_send),
}


# --------------------------------------------------------------------------- server


def make_server(
    host: str = "127.0.0.1", port: int = 0, simulator: WeChatSimulator | None = None
) -> ThreadingHTTPServer:
    """Create (not start) the simulator's HTTP server; port 0 picks a free port.

    ``server.server_address`` gives the real port and ``server.simulator`` the
    state. Run it with ``server.serve_forever()`` (e.g. in a thread) and stop it
    with ``server.shutdown(); server.server_close()``. A host containing ``:``
    ("::", "::1") serves IPv6; "::" also accepts IPv4 where the OS allows it.
    """
    sim = simulator if simulator is not None else WeChatSimulator()
    server = make_sim_server(host, port, sim)
    bound_host, bound_port = server.server_address[:2]
    wildcard = {"0.0.0.0": "127.0.0.1", "::": "::1"}
    sim.default_base_url = format_base_url(wildcard.get(str(bound_host), str(bound_host)), int(bound_port))
    return server


def serve(host: str, port: int) -> None:
    """Run the simulator in the foreground until Ctrl-C or SIGTERM.

    Prints ``WeChat simulator on http://HOST:PORT`` once listening.
    """
    server = make_server(host, port)
    assert isinstance(server, SimHTTPServer)
    serve_until_stopped(server, "WeChat simulator")
