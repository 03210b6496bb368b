"""Figures of 政民互动: the public listing of answered messages (the four required fields and the
masked question) and the monthly statistics (received, answered, answered in time, average
working days to answer), which also feed the annual report (hub/oversight/annual.py)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.models import InboxMessage, Unit
from hub.oversight import workdays
from hub.oversight.monitor import SHANGHAI, beijing_date
from hub.times import iso

EXCLUDED = ("spam", "abuse")


def local_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start, end) Beijing dates as naive UTC datetimes."""
    from datetime import UTC

    def utc(d: date) -> datetime:
        return datetime(d.year, d.month, d.day, tzinfo=SHANGHAI).astimezone(UTC).replace(tzinfo=None)

    return utc(start), utc(end)


def working_days_between(a: date, b: date) -> int:
    """Working days after ``a`` up to and including ``b``."""
    n, d = 0, a
    while d < b:
        d += timedelta(days=1)
        n += 1 if workdays.is_workday(d) else 0
    return n


def figures(session: Session, unit_ids: set[int], start: date, end: date) -> dict[str, Any]:
    lo, hi = local_bounds(start, end)
    rows = session.scalars(select(InboxMessage).where(
        InboxMessage.unit_id.in_(unit_ids or {-1}), InboxMessage.received_at >= lo,
        InboxMessage.received_at < hi)).unique().all()
    rows = [m for m in rows if m.close_reason not in EXCLUDED]
    answered = [m for m in rows if m.answered_at is not None]
    in_time = [m for m in answered if beijing_date(m.answered_at) <= m.due_on]  # type: ignore[arg-type]
    days = [working_days_between(beijing_date(m.received_at), beijing_date(m.answered_at))  # type: ignore[arg-type]
            for m in answered]
    return {"received": len(rows), "answered": len(answered), "answered_in_time": len(in_time),
            "auto_answered": sum(1 for m in answered if m.auto_answered),
            "average_working_days": round(sum(days) / len(days), 1) if days else 0.0}


def month_bounds(month: str) -> tuple[date, date]:
    y, m = int(month[:4]), int(month[5:7])
    start = date(y, m, 1)
    return start, date(y + (m == 12), m % 12 + 1, 1)


def monthly(session: Session, unit_ids: set[int], month: str) -> dict[str, Any]:
    start, end = month_bounds(month)
    return {"month": month, **figures(session, unit_ids, start, end)}


def recent_months(today: date, n: int = 6) -> list[str]:
    out, y, m = [], today.year, today.month
    for _ in range(n):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return out


def public_messages(session: Session, unit: Unit, limit: int = 200) -> list[dict[str, Any]]:
    rows = session.scalars(select(InboxMessage).where(
        InboxMessage.unit_id == unit.id, InboxMessage.status == "closed",
        InboxMessage.answered_at.is_not(None)).order_by(InboxMessage.answered_at.desc()).limit(limit)).unique().all()
    return [{"id": m.id, "channel": m.channel, "question": m.public_text, "received_at": iso(m.received_at),
             "answered_at": iso(m.answered_at), "answer_unit": (m.answer_unit or m.unit).name,
             "answer": m.answer_text or ""} for m in rows]
