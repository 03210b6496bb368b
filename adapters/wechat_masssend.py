"""群发 (mass send) for the WeChat adapter, as WeChat's 群发接口 documentation describes it.

* ``message/mass/sendall`` only *submits* the send (``msg_id``); the send finishes later.
  ``message/mass/get`` answers ``SENDING``, then ``SEND_SUCCESS`` or ``SEND_FAIL`` (``DELETE``
  once withdrawn); a ``MASSSENDJOBFINISH`` event reports the same to a configured callback.
  A dispatch is ``published`` only on ``SEND_SUCCESS``: until then it waits as ``submitted``
  with the platform reference ``mass:<msg_id>``, polled by the reconcile job.
* 群发保护: when the account has API 群发保护 on, an administrator must confirm the send on the
  phone within 30 minutes, or it fails. The API shows that only as a send still ``SENDING``,
  so the waiting message says so.
* ``send_ignore_reprint`` (per post, ``variants.wechat.send_ignore_reprint``): with 0 WeChat
  "若文章被判定为转载，将停止群发"; with 1 (the hub's default) the send goes on as a repost.
* Quotas by account type (the account's ``account_type`` setting): 订阅号 one mass send per
  Beijing day, 服务号 four per calendar month; beyond that 45028. The hub counts its own sends
  before sending (hub/dispatch/mass_quota.py) with :func:`quota_for` / :func:`window`.
* Withdraw: ``message/mass/delete`` ``{msg_id, article_idx: 0}`` (0 = every article).

Functions take the adapter (for its ``_call``, ``checkpoint`` and credentials) and its client.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from .base import Lookup, PlatformError, Publication, PublishResult

PREFIX = "mass:"
QUOTA_CODE = 45028
BEIJING = timezone(timedelta(hours=8))

#: account_type setting → (label, period, sends per period)
ACCOUNT_TYPES = {"subscription": ("订阅号", "day", 1), "service": ("服务号", "month", 4)}
_ALIASES = {"subscription": "subscription", "订阅号": "subscription", "service": "service", "服务号": "service"}

WAITING = ("群发已提交，等待微信完成群发（群发需要一段时间；若公众号开启了群发保护，"
           "须由管理员在手机微信上确认，30 分钟内未确认则群发失败）")
REPRINT_CHOICES = {1: "被判定为转载时：继续群发（默认）", 0: "被判定为转载时：停止群发"}


def wants_mass(variant: dict[str, Any] | None) -> bool:
    return str((variant or {}).get("mass_send") or "").lower() in ("1", "true", "yes")


def ignore_reprint(variant: dict[str, Any] | None) -> int:
    """``send_ignore_reprint`` for this post: 1 (continue, the default) unless the post says 0."""
    return 0 if str((variant or {}).get("send_ignore_reprint", "1")).strip() in ("0", "false") else 1


def account_type(value: str | None) -> str | None:
    """"subscription" | "service" from the setting (English or 订阅号/服务号); None if unset or unknown."""
    return _ALIASES.get(str(value or "").strip().lower()) or _ALIASES.get(str(value or "").strip())


@dataclass(frozen=True)
class Quota:
    kind: str  # subscription | service
    label: str  # 订阅号 | 服务号
    period: str  # day | month
    limit: int

    def describe(self) -> str:
        return f"{self.label}每{'天' if self.period == 'day' else '月'}只能群发 {self.limit} 次"


def quota_for(kind: str | None) -> Quota | None:
    if kind not in ACCOUNT_TYPES:
        return None
    label, period, limit = ACCOUNT_TYPES[kind]
    return Quota(kind, label, period, limit)


def window(quota: Quota, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The current quota window in Beijing time, as naive UTC datetimes: (start, next start)."""
    local = (now or datetime.now(UTC)).astimezone(BEIJING)
    if quota.period == "day":
        start = local.replace(hour=0, minute=0, second=0, microsecond=0)
        nxt = start + timedelta(days=1)
    else:
        start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        nxt = (start + timedelta(days=32)).replace(day=1)
    return (start.astimezone(UTC).replace(tzinfo=None), nxt.astimezone(UTC).replace(tzinfo=None))


def quota_message(quota: Quota | None, used: int | None = None, now: datetime | None = None) -> str:
    """Chinese: which quota is used up and when the next send is possible."""
    if quota is None:
        return ("公众号群发次数已用完（订阅号每天 1 次，服务号每月 4 次）：请在账号凭据中设置公众号类型，"
                "以便发布中心在群发前核对次数；也可改为不群发（仅发表）")
    _start, nxt = window(quota, now)
    nxt_local = nxt.replace(tzinfo=UTC).astimezone(BEIJING)
    if quota.period == "day":
        done, when = "今天已群发", "明天 0 点（北京时间）"
    else:
        done = f"本月已群发 {used} 次" if used is not None else "本月次数已用完"
        when = f"{nxt_local.month} 月 1 日 0 点（北京时间）"
    return f"{quota.describe()}，{done}，{when}后可再群发"


def quota_error(adapter: Any) -> PlatformError:
    """45028 from WeChat, in words naming the account's quota."""
    quota = quota_for(account_type(adapter.credentials.get("account_type")))
    return PlatformError(quota_message(quota), code=QUOTA_CODE)


def render_notes(variant: dict[str, Any] | None, settings: dict[str, str]) -> tuple[list[str], list[str]]:
    """(warnings, problems) a 群发 post shows at submit and review time."""
    if not wants_mass(variant):
        return [], []
    raw = settings.get("account_type")
    kind = account_type(raw)
    notes = [f"群发：推送给全部关注者；{REPRINT_CHOICES[ignore_reprint(variant)]}"]
    problems: list[str] = []
    quota = quota_for(kind)
    if quota is not None:
        notes.append(f"群发次数：{quota.describe()}（{'北京时间自然日' if quota.period == 'day' else '自然月'}），"
                     "次数用完时发布中心在发送前拒绝")
    elif raw:
        problems.append(f"公众号类型设置无效（{raw[:20]}）：应为 subscription（订阅号）或 service（服务号）")
    else:
        notes.append("未设置公众号类型（订阅号/服务号）：发布中心无法在群发前核对群发次数，请管理员在账号凭据中设置")
    return notes, problems


# -- sending and waiting ----------------------------------------------------------------------
class DuplicateSend(Exception):
    """45065: a mass send with this clientmsgid already happened; carries the original msg_id."""

    def __init__(self, exc: Any) -> None:
        super().__init__("duplicate clientmsgid")
        self.msg_id = None
        try:
            body = exc.response.json() if exc.response is not None else {}
            self.msg_id = body.get("msg_id")
        except (ValueError, AttributeError):
            self.msg_id = None


def msg_id_of(platform_ref: str | None) -> str:
    return str(platform_ref or "").removeprefix(PREFIX)


def is_mass_ref(platform_ref: str | None) -> bool:
    return bool(platform_ref) and str(platform_ref).startswith(PREFIX)


def publish(adapter: Any, client: Any, pub: Publication, draft: str) -> PublishResult:
    """Submit the 群发 of ``draft`` (idempotent by ``clientmsgid``) and wait briefly for it to finish."""
    adapter.checkpoint("mass_sending", draft_ref=draft)
    data = {"filter": {"is_to_all": True}, "mpnews": {"media_id": draft}, "msgtype": "mpnews",
            "send_ignore_reprint": ignore_reprint(pub.variant), "clientmsgid": f"hub-dispatch-{pub.dispatch_id}"}
    try:
        res = adapter._call(client, "post", "message/mass/sendall", mutating=True, data=data)
        msg_id = str(res.get("msg_id") or "")
        stats_ref = str(res.get("msg_data_id") or "")  # the datacube msgid's first part (mpnews sends)
    except DuplicateSend as dup:  # 45065: this dispatch's send already happened
        msg_id = str(dup.msg_id or "")
        stats_ref = ""
    except PlatformError as exc:
        exc.draft_ref = draft
        if exc.code == QUOTA_CODE:
            err = quota_error(adapter)
            err.draft_ref = draft
            raise err from None
        raise
    ref = PREFIX + msg_id
    if stats_ref:
        adapter.checkpoint("submitted", draft_ref=draft, platform_ref=ref, stats_ref=stats_ref)
    else:
        adapter.checkpoint("submitted", draft_ref=draft, platform_ref=ref)
    return wait(adapter, client, ref, draft, pub.variant)


def wait(adapter: Any, client: Any, ref: str, draft: str | None, variant: dict[str, Any] | None) -> PublishResult:
    """Poll ``message/mass/get`` for up to ``adapter.poll_seconds``; "submitted" if still sending."""
    return poll(adapter, lambda: status(adapter, client, ref, variant), ref, draft, WAITING)


def poll(adapter: Any, read: Callable[[], PublishResult], ref: str, draft: str | None,
         note: str | None = None) -> PublishResult:
    """Call ``read`` (a status query) until it says published or ``adapter.poll_seconds`` pass.
    A failed read that changed nothing (busy, no answer) means "ask later": "submitted"."""
    deadline = time.monotonic() + adapter.poll_seconds
    delay = 0.15
    while True:
        try:
            result = read()
        except PlatformError as exc:
            if exc.retryable or exc.ambiguous:
                return PublishResult("submitted", ref, draft_ref=draft, note=note)
            exc.draft_ref = draft
            raise
        result.draft_ref = draft
        if result.status == "published" or time.monotonic() >= deadline:
            return result
        time.sleep(delay)
        delay = min(delay * 2, 1.0)


def failure_reason(msg_status: str, variant: dict[str, Any] | None, check_state: Any = None) -> str:
    """Chinese reason for a mass send that did not succeed."""
    if str(check_state) == "3" or (msg_status == "SEND_FAIL" and not ignore_reprint(variant)):
        return ("微信群发未成功：文章被判定为转载，按本稿件的设置（被判定为转载时停止群发）已停止群发，草稿仍在草稿箱。"
                "如需发送，请把群发设置改为“被判定为转载时继续群发”后重新提交审核")
    if msg_status == "SEND_FAIL":
        return "微信群发失败（SEND_FAIL）：请到公众平台“群发功能—已群发”查看原因（如管理员未在手机上确认群发保护）"
    if msg_status == "DELETE":
        return "该群发消息已在微信上被删除"
    return f"微信群发状态异常（{msg_status or '无状态'}）：请到公众平台核实"


def status(adapter: Any, client: Any, ref: str, variant: dict[str, Any] | None) -> PublishResult:
    """``message/mass/get``: published on SEND_SUCCESS, submitted while SENDING, else PlatformError."""
    msg_id = msg_id_of(ref)
    res = adapter._call(client, "post", "message/mass/get", mutating=False,
                        data={"msg_id": int(msg_id) if msg_id.isdigit() else msg_id})
    st = str(res.get("msg_status") or "")
    if st == "SEND_SUCCESS":
        return PublishResult("published", ref)
    if st == "SENDING":
        return PublishResult("submitted", ref, note=WAITING)
    raise PlatformError(failure_reason(st, variant), code=f"mass_{st.lower() or 'unknown'}")


def lookup(adapter: Any, client: Any, pub: Publication, ref: str, draft_ref: str | None) -> Lookup:
    """Reconciliation / polling of a submitted mass send."""
    try:
        result = status(adapter, client, ref, pub.variant)
    except PlatformError as exc:
        if str(exc.code).startswith("mass_"):
            return Lookup(failed=exc.message)
        raise
    if result.status == "published":
        result.draft_ref = draft_ref
        return Lookup(published=result)
    return Lookup(in_progress=True, note=WAITING)


def withdraw(adapter: Any, client: Any, ref: str) -> bool:
    """``message/mass/delete`` of every article of the send (article_idx 0)."""
    msg_id = msg_id_of(ref)
    if not msg_id:
        raise PlatformError("该群发没有微信消息编号（msg_id），无法撤回：请到公众平台删除", code="no_msg_id")
    adapter._call(client, "post", "message/mass/delete", mutating=True,
                  data={"msg_id": int(msg_id) if msg_id.isdigit() else msg_id, "article_idx": 0})
    return True
