"""Each channel's documented message format, and the call that sends it.

* 企业微信 group robot (``https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…``): POST JSON
  ``{"msgtype": "markdown", "markdown": {"content": …}}`` or ``{"msgtype": "text", "text": {"content": …}}``;
  answers ``{"errcode": 0, "errmsg": "ok"}``.
* 钉钉 custom robot (``https://oapi.dingtalk.com/robot/send?access_token=…``): POST JSON
  ``{"msgtype": "markdown", "markdown": {"title", "text"}}`` or ``{"msgtype": "text", "text": {"content"}}``;
  with a signing secret the URL also carries ``timestamp`` (ms) and
  ``sign`` = URL-encoded base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}")); answers ``{"errcode": 0}``.
* 企业微信 application message: ``GET <api>/cgi-bin/gettoken?corpid=…&corpsecret=…`` →
  ``{"errcode": 0, "access_token", "expires_in"}``, then ``POST <api>/cgi-bin/message/send?access_token=…``
  with ``{"touser": "UserID", "msgtype": "textcard", "agentid": …, "textcard": {"title", "description",
  "url", "btntxt"}}``; a stale token (40014, 42001) is fetched again once. Tokens are kept in the worker's
  memory only.
* e-mail: SMTP (``HUB_SMTP_HOST`` / ``HUB_SMTP_PORT`` / ``HUB_SMTP_FROM``), plain text.

A message holds the event's text (which names at most the post's title) and the hub link: nothing
secret or personal. Errors name the HTTP status or errcode, never the URL (it carries the key).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import smtplib
import threading
import time
import urllib.parse
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import requests

TIMEOUT = 10


class SendError(Exception):
    """The channel did not take the message; ``retry`` says whether trying again may help."""

    def __init__(self, message: str, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


@dataclass(frozen=True)
class Message:
    title: str  # one line: 待您审核：《标题》
    text: str  # one or two lines
    link: str  # absolute URL into the hub


def wecom_body(msg: Message, msgtype: str = "markdown") -> dict[str, Any]:
    if msgtype == "text":
        return {"msgtype": "text", "text": {"content": f"{msg.title}\n{msg.text}\n{msg.link}"}}
    return {"msgtype": "markdown",
            "markdown": {"content": f"**{msg.title}**\n{msg.text}\n[打开政务新媒体发布中心]({msg.link})"}}


def dingtalk_body(msg: Message, msgtype: str = "markdown") -> dict[str, Any]:
    if msgtype == "text":
        return {"msgtype": "text", "text": {"content": f"{msg.title}\n{msg.text}\n{msg.link}"}}
    return {"msgtype": "markdown", "markdown": {
        "title": msg.title, "text": f"#### {msg.title}\n\n{msg.text}\n\n[打开政务新媒体发布中心]({msg.link})"}}


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """钉钉's signature: base64(HMAC-SHA256(key=secret, f"{timestamp}\\n{secret}")), not yet URL-encoded."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def dingtalk_url(url: str, secret: str, timestamp_ms: int | None = None) -> str:
    if not secret:
        return url
    ts = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    sep = "&" if urllib.parse.urlsplit(url).query else "?"
    return f"{url}{sep}timestamp={ts}&sign={urllib.parse.quote_plus(dingtalk_sign(secret, ts))}"


def _post(url: str, body: dict[str, Any]) -> None:
    try:
        r = requests.post(url, json=body, timeout=TIMEOUT, allow_redirects=False)
    except requests.RequestException as exc:
        raise SendError(f"无法连接（{type(exc).__name__}）") from None
    if r.status_code >= 500 or r.status_code == 429:
        raise SendError(f"对方服务器返回 HTTP {r.status_code}")
    if r.status_code >= 300:
        raise SendError(f"对方拒绝：HTTP {r.status_code}", retry=r.status_code in (408, 409, 425))
    try:
        answer = r.json()
    except ValueError:
        answer = {}
    code = answer.get("errcode", 0) if isinstance(answer, dict) else 0
    if code not in (0, "0", None):
        # -1 busy, 45009 / 130101 / 45033 rate limits: worth a retry; a bad key or token is not.
        raise SendError(f"对方返回错误码 {code}", retry=code in (-1, 45009, 45033, 130101, 660026))


_tokens: dict[str, tuple[str, float]] = {}
_tokens_lock = threading.Lock()
STALE_TOKEN = (40014, 42001, 40001)


def _token_key(base: str, corpid: str, secret: str) -> str:
    return f"{base}|{corpid}|" + hashlib.sha256(secret.encode()).hexdigest()


def wecom_app_token(base: str, corpid: str, secret: str, *, fresh: bool = False) -> str:
    key = _token_key(base, corpid, secret)
    with _tokens_lock:
        held = _tokens.get(key)
        if held and not fresh and held[1] > time.monotonic():
            return held[0]
    try:
        r = requests.get(f"{base}/cgi-bin/gettoken", params={"corpid": corpid, "corpsecret": secret},
                         timeout=TIMEOUT, allow_redirects=False)
        answer = r.json() if r.status_code == 200 else {}
    except (requests.RequestException, ValueError) as exc:
        raise SendError(f"无法获取企业微信凭证（{type(exc).__name__}）") from None
    if r.status_code != 200:
        raise SendError(f"获取企业微信凭证失败：HTTP {r.status_code}", retry=r.status_code >= 500)
    token = answer.get("access_token") if isinstance(answer, dict) else None
    if not token:
        code = answer.get("errcode") if isinstance(answer, dict) else None
        raise SendError(f"获取企业微信凭证失败：错误码 {code}", retry=code in (-1,))
    ttl = max(60, int(answer.get("expires_in") or 7200) - 300)
    with _tokens_lock:
        _tokens[key] = (str(token), time.monotonic() + ttl)
    return str(token)


def wecom_app_body(userid: str, agentid: int, msg: Message) -> dict[str, Any]:
    return {"touser": userid, "msgtype": "textcard", "agentid": agentid,
            "textcard": {"title": msg.title[:60], "description": (msg.text or msg.title)[:200], "url": msg.link,
                         "btntxt": "详情"}}


def send_wecom_app(base: str, corpid: str, agentid: int, secret: str, userid: str, msg: Message) -> None:
    if not userid:
        raise SendError("收件人没有企业微信账号", retry=False)
    body = wecom_app_body(userid, agentid, msg)
    for fresh in (False, True):
        token = wecom_app_token(base, corpid, secret, fresh=fresh)
        try:
            _post(f"{base}/cgi-bin/message/send?access_token={urllib.parse.quote(token)}", body)
            return
        except SendError as exc:
            if fresh or not any(f"错误码 {c}" in str(exc) for c in STALE_TOKEN):
                raise


def send_wecom(url: str, msg: Message, options: dict[str, Any]) -> None:
    _post(url, wecom_body(msg, options.get("msgtype", "markdown")))


def send_dingtalk(url: str, secret: str, msg: Message, options: dict[str, Any]) -> None:
    _post(dingtalk_url(url, secret), dingtalk_body(msg, options.get("msgtype", "markdown")))


@dataclass(frozen=True)
class Smtp:
    host: str
    port: int
    sender: str
    username: str = ""
    password: str = ""


def send_email(smtp: Smtp, to: list[str], subject: str, body: str) -> None:
    if not smtp.host:
        raise SendError("未配置邮件服务器（HUB_SMTP_HOST）")
    if not to:
        raise SendError("没有收件人", retry=False)
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = smtp.sender, ", ".join(to), subject
    m.set_content(body)
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=TIMEOUT) as conn:
            conn.ehlo()
            if conn.has_extn("starttls"):
                conn.starttls()
                conn.ehlo()
            if smtp.username:
                conn.login(smtp.username, smtp.password)
            conn.send_message(m)
    except smtplib.SMTPAuthenticationError:
        raise SendError("邮件服务器拒绝登录", retry=False) from None
    except smtplib.SMTPRecipientsRefused:
        raise SendError("邮件服务器拒绝收件人", retry=False) from None
    except (OSError, smtplib.SMTPException) as exc:
        raise SendError(f"邮件发送失败（{type(exc).__name__}）") from None
