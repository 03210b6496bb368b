"""WeChat 群发 quota, known before sending: the hub counts the account's own mass sends.

An 订阅号 may mass-send once a Beijing day, a 服务号 four times a calendar month (the account's
``account_type`` setting; adapters/wechat_masssend.py). Counted: this account's other dispatches
whose sendall WeChat accepted (platform reference ``mass:<msg_id>``) and that did not fail —
published or withdrawn ones by when they were published, ones still being sent or unconfirmed
(including a sendall whose answer was lost) always. A send the platform stopped (SEND_FAIL)
does not count, as on WeChat. Sends made outside the hub are not known here: WeChat's 45028
then says the same in words (the adapter maps it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from adapters import wechat_masssend
from adapters.base import PlatformError
from hub.models import Account, Dispatch
from hub.models.states import DispatchStatus

_PREFIX = wechat_masssend.PREFIX


def used(session: Session, account_id: int, start: datetime, exclude: int | None = None) -> int:
    """The account's mass sends (other than dispatch ``exclude``) that count against the window
    starting ``start``."""
    sent = Dispatch.platform_ref.like(_PREFIX + "%")
    return int(session.scalar(select(func.count()).select_from(Dispatch).where(
        Dispatch.account_id == account_id, Dispatch.id != (exclude or 0),
        or_(and_(sent, Dispatch.status.in_((DispatchStatus.PUBLISHED, DispatchStatus.WITHDRAWN)),
                 Dispatch.published_at >= start),
            and_(Dispatch.status.in_((DispatchStatus.SENDING, DispatchStatus.UNCONFIRMED)),
                 or_(sent, Dispatch.stage == "mass_sending"))))) or 0)


def review_note(session: Session, account: Account, variant: dict[str, Any], settings: dict[str, str],
                now: datetime | None = None) -> str | None:
    """For the review page: the account's 群发 quota is already used in this window (so approving now
    would be refused at send time), in words; None when there is room or nothing to say."""
    if account.platform != "wechat" or not wechat_masssend.wants_mass(variant):
        return None
    quota = wechat_masssend.quota_for(wechat_masssend.account_type(settings.get("account_type")))
    if quota is None:
        return None
    n = used(session, account.id, wechat_masssend.window(quota, now)[0])
    if n < quota.limit:
        return None
    return "现在发送将被拒绝：" + wechat_masssend.quota_message(quota, n, now)


def refusal(session: Session, d: Dispatch, variant: dict[str, Any], settings: dict[str, str],
            now: datetime | None = None) -> PlatformError | None:
    """The error refusing ``d`` before sending when its account's mass-send quota is used up."""
    if d.account.platform != "wechat" or not wechat_masssend.wants_mass(variant):
        return None
    if wechat_masssend.is_mass_ref(d.platform_ref) or d.stage == "mass_sending":
        return None  # resuming this dispatch's own send (clientmsgid makes it a no-op)
    quota = wechat_masssend.quota_for(wechat_masssend.account_type(settings.get("account_type")))
    if quota is None:
        return None  # type not configured: WeChat's 45028 is the only check
    start, _next = wechat_masssend.window(quota, now)
    n = used(session, d.account_id, start, exclude=d.id)
    if n < quota.limit:
        return None
    return PlatformError("发送前检查：" + wechat_masssend.quota_message(quota, n, now), code="mass_quota")
