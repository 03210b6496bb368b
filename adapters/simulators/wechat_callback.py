"""Followers' messages pushed to the account's server (消息推送) and customer-service messages (客服消息).

As WeChat's 接入指南 / 接收普通消息 / 被动回复用户消息 / 消息加解密说明 / 客服消息 documentation describes:

* The server settings of an app (基本配置 → 服务器配置): ``callback_url`` (the server URL), ``token``
  (3–32 letters or digits) and, for 安全模式, ``encoding_aes_key`` (43 letters or digits).
* A text message is POSTed to the URL as XML (``ToUserName`` = the account's original id,
  ``FromUserName`` = the follower's openid, ``CreateTime``, ``MsgType`` text, ``Content``, ``MsgId``) with
  the query string ``signature`` (sha1 of the sorted token, timestamp, nonce), ``timestamp``, ``nonce``
  and ``openid``. In 安全模式 the body is ``<xml><ToUserName/><Encrypt/></xml>`` (AES-256-CBC, wechatpy's
  ``PrpCrypto``) and the query string also has ``encrypt_type=aes`` and ``msg_signature`` (sha1 of the
  sorted token, timestamp, nonce and ``Encrypt``).
* The server has 5 seconds to answer; without an answer WeChat drops the connection and delivers the
  same message again (same ``MsgId``), three attempts in all ("总共重试三次"). An answer of "success"
  or an empty body means no reply; otherwise the body is a passive reply (被动回复) — in 安全模式
  encrypted, with ``MsgSignature``, ``TimeStamp`` and ``Nonce``, checked and decrypted here.
* ``message/custom/send`` reaches a follower only within 48 hours of their last message (45015
  "response out of time limit or subscription is canceled"); an openid the app has never seen is 40003.
  The 48 hours run on the simulator clock (``POST /_sim/clock {advance}``, or
  ``POST /_sim/followers {appid, openid, interacted_ago}``).

``CreateTime`` and the 48-hour window follow the simulator clock; the signature's ``timestamp`` is
the wall clock (a server may refuse stale timestamps).
"""

from __future__ import annotations

import re
import secrets
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.utils import WeChatSigner

from adapters.simulators.base import SimRequest, SimResponse, json_response
from adapters.simulators.wechat_mass import WxError

if TYPE_CHECKING:
    from adapters.simulators.wechat_apps import App

__all__ = [
    "CALLBACK_SETTINGS",
    "CALLBACK_TIMEOUT",
    "MAX_ATTEMPTS",
    "WINDOW_SECONDS",
    "InteractionBook",
    "check_callback_settings",
    "deliver_user_message",
    "signature",
]

CALLBACK_SETTINGS = ("callback_url", "token", "encoding_aes_key", "original_id")
#: Seconds WeChat waits for the server's answer.
CALLBACK_TIMEOUT = 5.0
#: Deliveries of one message when the server does not answer ("总共重试三次").
MAX_ATTEMPTS = 3
#: The customer-service window after a follower's last interaction.
WINDOW_SECONDS = 48 * 3600
#: Most deliveries ``/_sim/user_message`` forces with ``deliveries``.
MAX_FORCED_DELIVERIES = 10
#: msgtype values of message/custom/send the documentation lists.
CUSTOM_TYPES = ("text", "image", "voice", "video", "music", "news", "mpnews", "mpnewsarticle", "msgmenu",
                "wxcard", "miniprogrampage")

_TOKEN = re.compile(r"[A-Za-z0-9]{3,32}")
_AES_KEY = re.compile(r"[A-Za-z0-9]{43}")


def signature(*parts: str) -> str:
    """WeChat's signature: sha1 of the parts sorted and joined (wechatpy's ``WeChatSigner``)."""
    signer = WeChatSigner()
    signer.add_data(*parts)
    return str(signer.signature)


def check_callback_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Validate the server settings of ``POST /_sim/apps``; raises ValueError with the reason."""
    checked: dict[str, Any] = {}
    for key in CALLBACK_SETTINGS:
        if key not in settings:
            continue
        value = settings[key]
        if value in (None, ""):
            checked[key] = None
            continue
        if not isinstance(value, str):
            raise ValueError(f"{key} must be a string (or null)")
        if key == "callback_url":
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError("callback_url must be an http(s) URL")
        elif key == "token" and not _TOKEN.fullmatch(value):
            raise ValueError("token must be 3 to 32 letters or digits (WeChat's rule)")
        elif key == "encoding_aes_key" and not _AES_KEY.fullmatch(value):
            raise ValueError("encoding_aes_key must be 43 letters or digits")
        checked[key] = value
    return checked


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_message_xml(to_user: str, from_user: str, create_time: int, content: str, msg_id: int) -> str:
    """A follower's text message as WeChat pushes it."""
    return (f"<xml><ToUserName>{_cdata(to_user)}</ToUserName><FromUserName>{_cdata(from_user)}</FromUserName>"
            f"<CreateTime>{create_time}</CreateTime><MsgType>{_cdata('text')}</MsgType>"
            f"<Content>{_cdata(content)}</Content><MsgId>{msg_id}</MsgId></xml>")


def original_id(app: App) -> str:
    """The account's original id (``gh_…``), the ``ToUserName`` of pushed messages."""
    return app.original_id or "gh_" + signature(app.appid)[:12]


# --------------------------------------------------------------------------- state


@dataclass
class UserMessage:
    appid: str
    openid: str
    content: str
    msg_id: int
    create_time: int
    status: str = "pending"
    reply: str | None = None
    attempts: list[dict[str, Any]] = field(default_factory=list)

    def as_state(self) -> dict[str, Any]:
        return {"appid": self.appid, "openid": self.openid, "content": self.content, "msg_id": self.msg_id,
                "create_time": self.create_time, "status": self.status, "reply": self.reply,
                "deliveries": len(self.attempts)}


@dataclass
class InteractionBook:
    """Followers' last interactions, pushed messages and customer-service messages."""

    followers: dict[tuple[str, str], float] = field(default_factory=dict)
    user_messages: list[UserMessage] = field(default_factory=list)
    custom_messages: list[dict[str, Any]] = field(default_factory=list)
    next_msg_id: int = field(default_factory=lambda: 24_000_000_000_000_000 + secrets.randbelow(10**9) * 1000)

    def state(self, wanted: Any) -> dict[str, Any]:
        return {
            "custom_messages": [dict(m) for m in self.custom_messages if wanted(m["appid"])],
            "user_messages": [m.as_state() for m in self.user_messages if wanted(m.appid)],
            "followers": [{"appid": a, "openid": o, "last_interaction": t}
                          for (a, o), t in self.followers.items() if wanted(a)],
        }


# --------------------------------------------------------------------------- delivery


def _signed_request(app: App, plain_xml: str) -> tuple[dict[str, str], bytes]:
    """Query string and body of one delivery (a fresh timestamp and nonce each time)."""
    assert app.token
    timestamp = str(int(time.time()))
    nonce = str(secrets.randbelow(10**10))
    query = {"signature": signature(app.token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}
    if not app.encoding_aes_key:
        return query, plain_xml.encode("utf-8")
    crypto = PrpCrypto(WeChatCrypto(app.token, app.encoding_aes_key, app.appid).key)
    encrypted = crypto.encrypt(plain_xml, app.appid)
    encrypted = encrypted.decode() if isinstance(encrypted, bytes) else str(encrypted)
    query.update(encrypt_type="aes", msg_signature=signature(app.token, timestamp, nonce, encrypted))
    body = f"<xml><ToUserName>{_cdata(original_id(app))}</ToUserName><Encrypt>{_cdata(encrypted)}</Encrypt></xml>"
    return query, body.encode("utf-8")


def _parse_reply(app: App, openid: str, body: bytes) -> tuple[str, str | None, str | None, str]:
    """(outcome, reply_type, reply text, detail) of a server's answer."""
    text = body.decode("utf-8", "replace").strip()
    if text in ("", "success"):
        return "delivered", None, None, ""
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return "invalid_reply", None, None, "the answer is not XML, 'success' or empty"
    if app.encoding_aes_key:
        assert app.token
        if root.findtext("Encrypt") is None:
            return "invalid_reply", None, None, "safe mode: the reply is not encrypted"
        try:
            crypto = WeChatCrypto(app.token, app.encoding_aes_key, app.appid)
            plain = crypto.decrypt_message(text, root.findtext("MsgSignature") or "",
                                           root.findtext("TimeStamp") or "", root.findtext("Nonce") or "")
            root = ET.fromstring(plain)
        except InvalidSignatureException:
            return "invalid_reply", None, None, "MsgSignature does not match"
        except (InvalidAppIdException, ET.ParseError, ValueError, KeyError) as exc:
            return "invalid_reply", None, None, f"the reply cannot be decrypted ({type(exc).__name__})"
    msgtype = root.findtext("MsgType") or ""
    if root.findtext("ToUserName") != openid or root.findtext("FromUserName") != original_id(app):
        return "invalid_reply", msgtype or None, None, "ToUserName / FromUserName do not match the message"
    if msgtype == "text":
        return "replied", "text", root.findtext("Content") or "", ""
    if msgtype in ("image", "voice", "video", "music", "news", "transfer_customer_service"):
        return "replied", msgtype, None, ""
    return "invalid_reply", msgtype or None, None, "unknown MsgType"


def _attempt(app: App, openid: str, plain_xml: str) -> dict[str, Any]:
    query, body = _signed_request(app, plain_xml)
    assert app.callback_url
    query["openid"] = openid
    try:
        res = requests.post(app.callback_url, params=query, data=body, timeout=CALLBACK_TIMEOUT,
                            headers={"Content-Type": "text/xml", "User-Agent": "Mozilla/4.0"})
    except requests.Timeout:
        return {"outcome": "timeout", "http_status": None, "reply_type": None, "reply": None, "detail": ""}
    except requests.RequestException as exc:
        return {"outcome": "error", "http_status": None, "reply_type": None, "reply": None,
                "detail": type(exc).__name__}
    if res.status_code != 200:
        return {"outcome": "error", "http_status": res.status_code, "reply_type": None, "reply": None,
                "detail": f"HTTP {res.status_code}"}
    outcome, reply_type, reply, detail = _parse_reply(app, openid, res.content)
    return {"outcome": outcome, "http_status": 200, "reply_type": reply_type, "reply": reply, "detail": detail}


def deliver_user_message(sim: Any, body: dict[str, Any]) -> SimResponse:
    """``POST /_sim/user_message {appid, openid, content[, deliveries, concurrent]}``.

    Without ``deliveries``: delivered until the server answers, at most :data:`MAX_ATTEMPTS` times.
    With ``deliveries`` N: delivered exactly N times (same ``MsgId``), one after the other, or all at
    once with ``concurrent``. Answers ``{"status", "reply", "reply_type", "msg_id", "deliveries",
    "attempts"}``; status is "replied", "delivered" (no reply), "invalid_reply" or "failed".
    """
    appid, openid, content = body.get("appid"), body.get("openid"), body.get("content")
    if not all(isinstance(v, str) and v for v in (appid, openid, content)):
        return json_response({"error": "appid, openid and content (non-empty strings) are required"}, 400)
    assert isinstance(appid, str) and isinstance(openid, str) and isinstance(content, str)
    forced = body.get("deliveries")
    if forced is not None and (isinstance(forced, bool) or not isinstance(forced, int)
                               or not 1 <= forced <= MAX_FORCED_DELIVERIES):
        return json_response({"error": f"deliveries must be an integer from 1 to {MAX_FORCED_DELIVERIES}"}, 400)
    concurrent = body.get("concurrent", False)
    if not isinstance(concurrent, bool):
        return json_response({"error": "concurrent must be true or false"}, 400)
    with sim.lock:
        app = sim._apps.get(appid)
        if app is None:
            return json_response({"error": f"unknown appid {appid!r}"}, 404)
        if not app.callback_url or not app.token:
            return json_response({"error": "the app has no callback_url and token (POST /_sim/apps)"}, 409)
        book: InteractionBook = sim._interactions
        now = sim._now()
        book.followers[(appid, openid)] = now
        book.next_msg_id += 1
        message = UserMessage(appid, openid, content, book.next_msg_id, int(now))
        book.user_messages.append(message)
        plain_xml = text_message_xml(original_id(app), openid, message.create_time, content, message.msg_id)
    attempts: list[dict[str, Any]] = []
    if forced is not None and concurrent:
        results: list[dict[str, Any] | None] = [None] * forced

        def run(i: int) -> None:
            results[i] = _attempt(app, openid, plain_xml)

        threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(forced)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        attempts = [r for r in results if r is not None]
    else:
        for _ in range(forced or MAX_ATTEMPTS):
            attempts.append(_attempt(app, openid, plain_xml))
            if forced is None and attempts[-1]["outcome"] not in ("timeout", "error"):
                break
    answered = [a for a in attempts if a["outcome"] not in ("timeout", "error")]
    first = next((a for a in answered if a["outcome"] == "replied"), answered[0] if answered else None)
    status = first["outcome"] if first else "failed"
    with sim.lock:
        message.status, message.reply, message.attempts = status, first["reply"] if first else None, attempts
    return json_response({"status": status, "reply": message.reply,
                          "reply_type": first["reply_type"] if first else None, "msg_id": message.msg_id,
                          "deliveries": len(attempts), "attempts": attempts})


def set_follower(sim: Any, body: dict[str, Any]) -> SimResponse:
    """``POST /_sim/followers {appid, openid, interacted_ago?}``: a follower whose last interaction was
    ``interacted_ago`` simulator seconds ago (default 0: now)."""
    appid, openid = body.get("appid"), body.get("openid")
    if not isinstance(appid, str) or not appid or not isinstance(openid, str) or not openid:
        return json_response({"error": "appid and openid (non-empty strings) are required"}, 400)
    ago = body.get("interacted_ago", 0)
    if isinstance(ago, bool) or not isinstance(ago, int | float) or ago < 0:
        return json_response({"error": "interacted_ago must be a non-negative number of seconds"}, 400)
    with sim.lock:
        if appid not in sim._apps:
            return json_response({"error": f"unknown appid {appid!r}"}, 404)
        at = sim._now() - float(ago)
        sim._interactions.followers[(appid, openid)] = at
    return json_response({"ok": True, "appid": appid, "openid": openid, "last_interaction": at})


# --------------------------------------------------------------------------- message/custom/send


def api_custom_send(sim: Any, request: SimRequest, appid: str) -> SimResponse:
    """``message/custom/send``: ``{"touser", "msgtype", "<msgtype>": {...}}`` within the 48-hour window."""
    body = sim._body(request)
    touser = body.get("touser")
    if not isinstance(touser, str) or not touser:
        raise WxError(40003)
    msgtype = body.get("msgtype")
    if msgtype not in CUSTOM_TYPES:
        raise WxError(40008)
    payload = body.get(msgtype)
    if not isinstance(payload, dict):
        raise WxError(44002 if payload is None else 47001)
    content = payload.get("content") if msgtype == "text" else None
    if msgtype == "text" and (not isinstance(content, str) or not content):
        raise WxError(44004)
    book: InteractionBook = sim._interactions
    last = book.followers.get((appid, touser))
    if last is None:
        raise WxError(40003)
    if sim._now() - last > WINDOW_SECONDS:
        raise WxError(45015)
    book.custom_messages.append({"appid": appid, "touser": touser, "msgtype": msgtype,
                                 "content": content if msgtype == "text" else None,
                                 "payload": dict(payload), "sent_at": sim._now()})
    return json_response({"errcode": 0, "errmsg": "ok"})
