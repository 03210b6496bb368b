"""Mass sends (群发) of the WeChat simulator, as WeChat's 群发接口 documentation describes them.

* ``clientmsgid`` is at most 64 bytes (45067) and is remembered for 24 hours:
  a repeat within that window answers 45065 with the original ``msg_id``.
* Quotas follow the account type: an 订阅号 (``subscription``) may mass-send once
  a day ("群发接口每天可成功调用1次，此次群发可选择发送给全部用户或某个标签"), a
  服务号 (``service``) four times a calendar month; days and months are Beijing
  time. A send counts whether it goes to all followers or to a tag, from the
  moment it is accepted, unless it ends ``SEND_FAIL`` (nothing was delivered).
  Beyond the quota: 45028 "has no masssend quota".
* Sends are asynchronous: ``message/mass/get`` answers ``SENDING`` until the
  simulator's mass delay has passed, then ``SEND_SUCCESS`` or ``SEND_FAIL``;
  after ``message/mass/delete`` of every article, ``DELETE``.
* The originality check (原创校验): an article whose content holds the
  :data:`REPRINT_MARKER` is judged a repost. With ``send_ignore_reprint`` 0 (the
  documented default) "若文章被判定为转载，将停止群发": the send ends
  ``SEND_FAIL`` (``check_state`` 3) and the draft stays; with 1 it is sent as a
  repost (``check_state`` 2). ``check_state`` 1 is "not a repost" (the values of
  MASSSENDJOBFINISH's ``CheckState``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

__all__ = [
    "CLIENTMSGID_MAX_BYTES",
    "CLIENTMSGID_WINDOW",
    "REPRINT_MARKER",
    "SERVICE_MASS_PER_MONTH",
    "SUBSCRIPTION_MASS_PER_DAY",
    "MassSend",
    "MassSendBook",
    "WxError",
]

#: Content marker that makes the originality check judge an article a repost.
REPRINT_MARKER = "SIM-REPRINT"
CLIENTMSGID_MAX_BYTES = 64
CLIENTMSGID_WINDOW = 24 * 3600  # seconds a clientmsgid is remembered
SUBSCRIPTION_MASS_PER_DAY = 1  # 订阅号: one mass send a day
SERVICE_MASS_PER_MONTH = 4  # 服务号: four a (natural) month

BEIJING = timezone(timedelta(hours=8))


class WxError(Exception):
    """A call refused with a WeChat errcode (raised inside handlers, answered as ``{errcode, errmsg}``)."""

    def __init__(self, code: int, detail: str = "") -> None:
        super().__init__(code, detail)
        self.code = code
        self.detail = detail


@dataclass
class MassSend:
    """One accepted ``message/mass/sendall``."""

    appid: str
    msg_id: int
    msg_data_id: int | None
    msgtype: str
    media_id: str | None
    clientmsgid: str | None
    is_to_all: bool
    tag_id: Any
    articles: list[dict[str, Any]]
    text: str | None
    sent_at: float
    send_ignore_reprint: int = 0
    status: str = "SENDING"  # SENDING | SEND_SUCCESS | SEND_FAIL | DELETE
    check_state: int | None = None  # originality check: 1 original, 2 repost sent, 3 repost stopped
    deleted: list[bool] = field(default_factory=list)
    finish_time: int | None = None

    def as_state(self) -> dict[str, Any]:
        """The send as ``GET /_sim/state`` lists it (articles with their stored content)."""
        return {
            "appid": self.appid,
            "msg_id": self.msg_id,
            "msg_data_id": self.msg_data_id,
            "msgtype": self.msgtype,
            "media_id": self.media_id,
            "clientmsgid": self.clientmsgid,
            "is_to_all": self.is_to_all,
            "tag_id": self.tag_id,
            "title": self.articles[0]["title"] if self.articles else None,
            "titles": [a["title"] for a in self.articles],
            "text": self.text,
            "send_time": int(self.sent_at),
            "finish_time": self.finish_time,
            "status": self.status,
            "send_ignore_reprint": self.send_ignore_reprint,
            "check_state": self.check_state,
            "articles": [
                {**a, "idx": i, "is_deleted": self.deleted[i - 1] if self.deleted else False}
                for i, a in enumerate(self.articles, 1)
            ],
        }


def _period(ts: float, fmt: str) -> str:
    return datetime.fromtimestamp(ts, BEIJING).strftime(fmt)


class MassSendBook:
    """Every app's mass sends; the caller holds the simulator's lock."""

    def __init__(self) -> None:
        self.sends: list[MassSend] = []

    def duplicate(self, appid: str, clientmsgid: str, now: float) -> MassSend | None:
        """The send this ``clientmsgid`` repeats (within 24 h); 45067 when it is too long."""
        if len(clientmsgid.encode("utf-8")) > CLIENTMSGID_MAX_BYTES:
            raise WxError(45067)
        for sent in self.sends:
            if sent.appid == appid and sent.clientmsgid == clientmsgid and now - sent.sent_at < CLIENTMSGID_WINDOW:
                return sent
        return None

    def check_quota(self, appid: str, app_type: str, now: float) -> None:
        """45028 when the app has used its mass sends for this day (订阅号) or month (服务号)."""
        if app_type == "subscription":
            fmt, limit = "%Y-%m-%d", SUBSCRIPTION_MASS_PER_DAY
        else:
            fmt, limit = "%Y-%m", SERVICE_MASS_PER_MONTH
        period = _period(now, fmt)
        used = sum(
            1
            for m in self.sends
            if m.appid == appid and m.status != "SEND_FAIL" and _period(m.sent_at, fmt) == period
        )
        if used >= limit:
            raise WxError(45028)

    def add(self, sent: MassSend) -> None:
        """Record an accepted send (status SENDING)."""
        sent.deleted = [False] * len(sent.articles)
        self.sends.append(sent)

    def advance(self, now: float, delay: float, on_success: Callable[[MassSend], None]) -> None:
        """Finish the sends whose ``delay`` has passed; ``on_success`` runs for each one delivered."""
        for sent in self.sends:
            if sent.status != "SENDING" or now < sent.sent_at + delay:
                continue
            sent.finish_time = int(now)
            reprint = any(REPRINT_MARKER in str(a.get("content", "")) for a in sent.articles)
            if reprint and not sent.send_ignore_reprint:
                sent.status, sent.check_state = "SEND_FAIL", 3
                continue
            sent.status = "SEND_SUCCESS"
            if sent.msgtype == "mpnews":
                sent.check_state = 2 if reprint else 1
            on_success(sent)

    def get(self, appid: str, msg_id: int) -> MassSend:
        """The app's send ``msg_id``; 47003 when there is none."""
        for sent in self.sends:
            if sent.appid == appid and sent.msg_id == msg_id:
                return sent
        raise WxError(47003, "msg_id")

    def delete(self, appid: str, msg_id: int, article_idx: int) -> None:
        """``message/mass/delete``: article ``article_idx`` (1-based; 0 = all) of a sent 图文.

        The docs: only a successful send can be deleted, and only 图文 (and video) messages;
        anything else answers 47003 here (the docs name no code for it).
        """
        sent = self.get(appid, msg_id)
        if sent.msgtype != "mpnews" or sent.status not in ("SEND_SUCCESS", "DELETE"):
            raise WxError(47003, "msg_id")
        if not 0 <= article_idx <= len(sent.articles):
            raise WxError(47003, "article_idx")
        if article_idx == 0:
            sent.deleted = [True] * len(sent.articles)
        else:
            sent.deleted[article_idx - 1] = True
        if all(sent.deleted):
            sent.status = "DELETE"
