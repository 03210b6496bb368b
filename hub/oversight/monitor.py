"""The silence monitor (日常监测): per account, the last publication, days without one and the
publications of the last 7 and 30 days, all as of a Beijing date; and the ``silence`` alerts
(``warn`` at 7, 10 and 13 days, ``veto`` at 14: 2 周无更新, 国办秘函〔2019〕19号).

Publications are the hub's own records: a dispatch's ``published_at`` (a withdrawn one was
published too). Nothing after the end of the ``as_of`` day counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from hub import audit
from hub.models import Account, Dispatch, MonitorAlert, Unit, User, utcnow
from hub.notify import events as notify
from hub.permissions import is_admin_of, is_supervisor_over, subtree_ids

SHANGHAI = ZoneInfo("Asia/Shanghai")
WARN_DAYS = (7, 10, 13)
VETO_DAYS = 14
MONITORED = ("active", "suspended")


def today() -> date:
    return datetime.now(UTC).astimezone(SHANGHAI).date()


def day_end_utc(day: date) -> datetime:
    """The end of a Beijing day as naive UTC (exclusive bound)."""
    local = datetime(day.year, day.month, day.day, tzinfo=SHANGHAI) + timedelta(days=1)
    return local.astimezone(UTC).replace(tzinfo=None)


def beijing_date(dt: datetime) -> date:
    return dt.replace(tzinfo=UTC).astimezone(SHANGHAI).date()


def threshold(days: int | None) -> tuple[str, int] | None:
    """The silence level and the threshold reached after ``days`` without a publication."""
    if days is None:
        return None
    if days >= VETO_DAYS:
        return "veto", VETO_DAYS
    reached = [d for d in WARN_DAYS if days >= d]
    return ("warn", reached[-1]) if reached else None


@dataclass
class AccountState:
    account: Account
    last_published_at: datetime | None
    days_silent: int | None
    posts_7d: int
    posts_30d: int
    alerts: list[dict[str, Any]] = field(default_factory=list)

    def level(self) -> tuple[str, int] | None:
        return threshold(self.days_silent)


def accounts_of(session: Session, unit_ids: set[int]) -> list[Account]:
    return list(session.scalars(select(Account).where(
        Account.unit_id.in_(unit_ids), Account.status.in_(MONITORED)).order_by(Account.unit_id, Account.id)).unique())


def states(session: Session, accounts: list[Account], as_of: date) -> list[AccountState]:
    """Each account's publication figures as of ``as_of``."""
    end = day_end_utc(as_of)
    # A publication is in the last 7 (30) Beijing days when it is on or after the start of the day
    # 6 (29) days before ``as_of``, i.e. after the end of the day 7 (30) days before.
    since7, since30 = day_end_utc(as_of - timedelta(days=7)), day_end_utc(as_of - timedelta(days=30))
    ids = [a.id for a in accounts]
    figures: dict[int, tuple[datetime | None, int, int]] = {}
    if ids:
        # One aggregate per account (index ix_dispatches_account_published): the page's cost does not
        # grow with the years of publications behind it (issue 19).
        at = Dispatch.published_at
        rows = session.execute(
            select(Dispatch.account_id, func.max(at),
                   func.sum(case((at >= since7, 1), else_=0)), func.sum(case((at >= since30, 1), else_=0)))
            .where(Dispatch.account_id.in_(ids), at.is_not(None), at < end)
            .group_by(Dispatch.account_id)).all()
        figures = {aid: (last, int(n7 or 0), int(n30 or 0)) for aid, last, n7, n30 in rows}
    out = []
    for a in accounts:
        last, d7, d30 = figures.get(a.id, (None, 0, 0))
        start = last or a.activated_at or a.created_at
        days = (as_of - beijing_date(start)).days if start and beijing_date(start) <= as_of else None
        st = AccountState(a, last, days, d7, d30)
        lv = st.level()
        if lv and start:
            st.alerts.append({"kind": "silence", "level": lv[0],
                              "since": (beijing_date(start) + timedelta(days=lv[1])).isoformat()})
        out.append(st)
    _message_alerts(session, out)
    return out


def _message_alerts(session: Session, out: list[AccountState]) -> None:
    """Open ``message_overdue`` alerts (issue 16: a message of the public not answered within 5
    working days) on the row of the account it came to; one without an account (the 留言 form,
    phone, letter) on the unit's main account."""
    if not out:
        return
    unit_ids = {st.account.unit_id for st in out}
    rows = session.scalars(select(MonitorAlert).where(MonitorAlert.kind == "message_overdue",
                                                      MonitorAlert.closed_at.is_(None),
                                                      MonitorAlert.unit_id.in_(unit_ids))).unique().all()
    by_id = {st.account.id: st for st in out}
    main: dict[int, AccountState] = {}
    for st in out:
        if st.account.unit_id not in main or (st.account.is_main and not main[st.account.unit_id].account.is_main):
            main[st.account.unit_id] = st
    for a in rows:
        row = by_id.get(a.account_id) if a.account_id else main.get(a.unit_id)
        if row is not None:
            row.alerts.append({"kind": "message_overdue", "level": "warn", "since": a.since.isoformat()})


def run(session: Session, as_of: date | None = None) -> dict[str, int]:
    """Evaluate every monitored account as of ``as_of`` (default today, Beijing): raise or raise
    the level of its open silence alert, close it when the account is no longer silent (it
    published). Audited. Returns counts of alerts raised, escalated and closed."""
    as_of = as_of or today()
    counts = {"raised": 0, "raised_level": 0, "closed": 0}
    units = set(session.scalars(select(Unit.id)).all())
    open_alerts = {a.account_id: a for a in session.scalars(
        select(MonitorAlert).where(MonitorAlert.closed_at.is_(None), MonitorAlert.kind == "silence")).unique()}
    for st in states(session, accounts_of(session, units), as_of):
        acc, lv = st.account, st.level()
        alert = open_alerts.get(acc.id)
        if alert is not None and (lv is None or alert.last_published_at != st.last_published_at):
            alert.closed_at = utcnow()
            audit.record(session, "monitor.alert_close", object_type="monitor_alert", object_id=alert.id,
                         unit=acc.unit, summary=f"「{acc.name}」已更新，静默预警关闭",
                         details={"account_id": acc.id, "as_of": as_of.isoformat()})
            counts["closed"] += 1
            alert = None
        if lv is None:
            continue
        since = beijing_date(st.last_published_at or acc.activated_at or acc.created_at) + timedelta(days=lv[1])
        if alert is None:
            alert = MonitorAlert(account_id=acc.id, unit_id=acc.unit_id, kind="silence", level=lv[0], days=lv[1],
                                 since=since, last_published_at=st.last_published_at)
            session.add(alert)
            session.flush()
            counts["raised"] += 1
        elif alert.days < lv[1]:
            alert.level, alert.days, alert.since = lv[0], lv[1], since
            counts["raised_level"] += 1
        else:
            continue
        audit.record(session, "monitor.alert", object_type="monitor_alert", object_id=alert.id, unit=acc.unit,
                     summary=f"「{acc.name}」已 {st.days_silent} 天未更新"
                             + ("（2 周无更新，单项否决）" if lv[0] == "veto" else ""),
                     details={"account_id": acc.id, "level": lv[0], "days": st.days_silent,
                              "as_of": as_of.isoformat()})
        notify.silence(session, alert.id, st.days_silent or lv[1], acc.name, acc.unit_id, lv[0] == "veto")
    return counts


def monitor_units(session: Session, user: User, unit: Unit) -> set[int]:
    """The units whose accounts ``user`` may watch from ``unit``: a supervisor its subtree, an admin
    its unit (and below, as admins oversee). Raises Forbidden otherwise."""
    from hub.errors import Forbidden

    if is_supervisor_over(session, user, unit.id) or is_admin_of(session, user, unit.id):
        return subtree_ids(session, unit.id)
    raise Forbidden("只有主管单位（监管）或本单位管理员可以查看监测", code="not_supervisor")


def open_alerts(session: Session, unit_ids: set[int]) -> list[MonitorAlert]:
    return list(session.scalars(select(MonitorAlert).where(
        MonitorAlert.unit_id.in_(unit_ids), MonitorAlert.closed_at.is_(None)).order_by(MonitorAlert.id)).unique())
