"""The publishing calendar: scheduled posts at their ``publish_at`` and published posts on the day
their dispatches were published, for a month or a week (Beijing days), per unit and account.

Two queries for the items, whatever the data's size (one for scheduled posts, one for published
dispatches), both bounded to the days shown; moving an item goes through
:func:`hub.posts.schedule.schedule_post` (its rules, its ``post.reschedule`` audit entry).
"""

from __future__ import annotations

import calendar as _cal
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.errors import BadRequest
from hub.models import Account, Dispatch, Post, Revision, Unit, User
from hub.permissions import is_admin_of, is_editor_of, overseen_unit_ids, subtree_ids, visible_unit_ids
from hub.posts.schedule import SCHEDULABLE_STATUSES, SHANGHAI

VIEWS = ("month", "week")


@dataclass
class Item:
    post_id: int
    title: str
    status: str
    kind: str  # "scheduled" or "published"
    at: datetime  # naive UTC
    unit_name: str
    accounts: list[str] = field(default_factory=list)
    movable: bool = False

    @property
    def local(self) -> datetime:
        return self.at.replace(tzinfo=UTC).astimezone(SHANGHAI)

    @property
    def day(self) -> date:
        return self.local.date()


@dataclass
class Window:
    view: str
    anchor: date  # the month's first day, or the week's Monday
    first: date  # first day shown
    last: date  # last day shown (inclusive)

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    @property
    def weeks(self) -> list[list[date]]:
        d = self.days
        return [d[i:i + 7] for i in range(0, len(d), 7)]

    def bounds_utc(self) -> tuple[datetime, datetime]:
        def utc(d: date) -> datetime:
            return datetime.combine(d, time(0), tzinfo=SHANGHAI).astimezone(UTC).replace(tzinfo=None)

        return utc(self.first), utc(self.last + timedelta(days=1))

    def previous(self) -> date:
        if self.view == "week":
            return self.anchor - timedelta(days=7)
        return (self.anchor - timedelta(days=1)).replace(day=1)

    def next(self) -> date:
        if self.view == "week":
            return self.anchor + timedelta(days=7)
        return (self.anchor + timedelta(days=32)).replace(day=1)


def today_local() -> date:
    return datetime.now(SHANGHAI).date()


def parse_day(value: Any, name: str = "date") -> date | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{name} 必须是 YYYY-MM-DD 日期", code="invalid_date")
    text = value.strip()
    try:
        d = date.fromisoformat(text) if len(text) > 7 else date.fromisoformat(text + "-01")
    except ValueError:
        raise BadRequest(f"无法识别的日期：{text[:32]}（应为 YYYY-MM-DD）", code="invalid_date") from None
    if not 2000 <= d.year <= 2999:
        raise BadRequest(f"日期超出范围（2000 年至 2999 年）：{text[:32]}", code="invalid_date")
    return d


def window(view: str, on: date | None) -> Window:
    """The days of the month (whole weeks, Monday first) or the week that contain ``on`` (default: today)."""
    if view not in VIEWS:
        raise BadRequest("view 只能是 month 或 week", code="invalid_view")
    on = on or today_local()
    if view == "week":
        monday = on - timedelta(days=on.weekday())
        return Window("week", monday, monday, monday + timedelta(days=6))
    first = on.replace(day=1)
    last = first.replace(day=_cal.monthrange(first.year, first.month)[1])
    return Window("month", first, first - timedelta(days=first.weekday()), last + timedelta(days=6 - last.weekday()))


MAX_RANGE_DAYS = 62


def range_window(first: date | None, last: date | None) -> Window:
    """Days ``first`` .. ``last`` (inclusive, at most :data:`MAX_RANGE_DAYS`); default this month."""
    if first is None and last is None:
        month = window("month", None)
        first, last = month.anchor, month.anchor.replace(
            day=_cal.monthrange(month.anchor.year, month.anchor.month)[1])
    elif first is None or last is None:
        first = first or last
        last = last or first
    assert first is not None and last is not None
    if last < first:
        raise BadRequest("to 不能早于 from", code="invalid_range")
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise BadRequest(f"日期范围最多 {MAX_RANGE_DAYS} 天", code="range_too_long")
    return Window("range", first, first, last)


def scope_units(session: Session, user: User, unit_code: str | None) -> tuple[set[int], Unit | None]:
    """The unit ids shown: every visible unit, or the chosen unit's subtree within them."""
    visible = visible_unit_ids(session, user)
    if not unit_code:
        return visible, None
    unit = session.scalars(select(Unit).where(Unit.code == unit_code)).first()
    if unit is None or unit.id not in visible:
        raise BadRequest("单位不存在或您无权查看", code="unknown_unit")
    return subtree_ids(session, unit.id) & visible, unit


def visible_units(session: Session, unit_ids: set[int]) -> list[Unit]:
    return list(session.scalars(select(Unit).where(Unit.id.in_(unit_ids)).order_by(Unit.id)).unique())


def visible_accounts(session: Session, user: User, unit_ids: set[int]) -> list[Account]:
    """Accounts of ``unit_ids`` the user may see (all of an overseen unit, else the active ones)."""
    overseen = overseen_unit_ids(session, user)
    rows = session.scalars(select(Account).where(Account.unit_id.in_(unit_ids))
                           .order_by(Account.unit_id, Account.id)).unique()
    return [a for a in rows if a.unit_id in overseen or a.status == "active"]


def items(session: Session, user: User, win: Window, unit_ids: set[int], accounts: dict[int, str],
          account_id: int | None = None) -> list[Item]:
    """Scheduled and published posts of ``unit_ids`` in the window (``accounts``: id -> name)."""
    start, end = win.bounds_utc()
    out: list[Item] = []
    if not unit_ids:
        return out
    scheduled = session.execute(
        select(Post.id, Post.status, Post.publish_at, Post.unit_id, Revision.title, Revision.account_ids, Unit.name)
        .join(Revision, Revision.id == Post.current_revision_id).join(Unit, Unit.id == Post.unit_id)
        .where(Post.unit_id.in_(unit_ids), Post.status.in_(SCHEDULABLE_STATUSES),
               Post.publish_at >= start, Post.publish_at < end)
        .order_by(Post.publish_at, Post.id)).all()
    may = {uid: is_editor_of(user, uid) or is_admin_of(session, user, uid) for uid in unit_ids}
    for pid, status, at, uid, title, acc_ids, unit_name in scheduled:
        acc_ids = [a for a in (acc_ids or []) if isinstance(a, int)]
        if account_id is not None and account_id not in acc_ids:
            continue
        assert at is not None  # bounded by the window
        out.append(Item(pid, title, status, "scheduled", at, unit_name,
                        [accounts.get(a, "") for a in acc_ids if a in accounts], movable=may.get(uid, False)))
    q = (select(Dispatch.post_id, Dispatch.published_at, Dispatch.account_id, Post.status, Revision.title, Unit.name)
         .join(Post, Post.id == Dispatch.post_id).join(Revision, Revision.id == Post.current_revision_id)
         .join(Unit, Unit.id == Post.unit_id)
         .where(Post.unit_id.in_(unit_ids), Dispatch.published_at >= start, Dispatch.published_at < end)
         .order_by(Dispatch.published_at, Dispatch.id))
    if account_id is not None:
        q = q.where(Dispatch.account_id == account_id)
    seen: dict[tuple[int, date], Item] = {}
    for pid, at, acc, status, title, unit_name in session.execute(q).all():
        assert at is not None
        item = Item(pid, title, status, "published", at, unit_name)
        key = (pid, item.day)
        if key in seen:
            item = seen[key]
        else:
            seen[key] = item
            out.append(item)
        name = accounts.get(acc, "")
        if name and name not in item.accounts:
            item.accounts.append(name)
    out.sort(key=lambda i: (i.at, i.post_id))
    return out


def by_day(found: list[Item]) -> dict[date, list[Item]]:
    days: dict[date, list[Item]] = {}
    for item in found:
        days.setdefault(item.day, []).append(item)
    return days


def item_json(item: Item) -> dict[str, Any]:
    return {"post_id": item.post_id, "title": item.title, "status": item.status, "kind": item.kind,
            "at": item.at.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z"), "day": item.day.isoformat(),
            "unit": item.unit_name, "accounts": item.accounts, "movable": item.movable}
