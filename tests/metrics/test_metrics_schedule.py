"""The daily pull: the worker's sweeper enqueues it once per Beijing day after 09:00 (WeChat computes the
previous day's figures overnight), for yesterday; a real RQ worker runs it as the system actor; other
sweeps that day do nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from support import run_burst_worker

from hub.db import db


def test_once_a_day_after_nine_for_yesterday(app, world):
    from hub.metrics import jobs, service
    from hub.models import AccountMetrics, AuditEntry

    today = service.today()
    early = datetime(today.year, today.month, today.day, 0, 30, tzinfo=UTC)  # 08:30 in Beijing
    assert jobs.schedule_daily(app, now=early) is None
    later = datetime(today.year, today.month, today.day, 1, 30, tzinfo=UTC)  # 09:30 in Beijing
    job = jobs.schedule_daily(app, now=later)
    assert job == f"metrics-pull-{service.default_day().isoformat()}"
    assert jobs.schedule_daily(app, now=later) is None  # the next sweep of the same day
    run_burst_worker(app)
    s = db.session()
    rows = s.scalars(select(AccountMetrics).where(AccountMetrics.day == service.default_day())).all()
    assert len(rows) == 2 and all(r.followers and r.error is None for r in rows)
    (entry,) = s.scalars(select(AuditEntry).where(AuditEntry.action == "metrics.pull")).all()
    assert entry.actor_username == "system:metrics" and "2 个账号成功，0 个失败" in entry.summary
    s.rollback()
