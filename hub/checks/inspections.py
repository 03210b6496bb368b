"""The inspection (巡检) as people see it: runs, their findings, and the alerts raised for
unit admins. The inspecting itself is the RQ job in ``hub/checks/jobs.py``.

Admins and supervisors see runs; of a run's findings they see those of the units they
oversee. Alerts go to the admins of the publishing account's unit (and of the units above it).

The error codes ``scan_not_found`` and ``scan_running`` and the audit action ``check.alert_ack``
(object type ``check_alert``) keep their old words: API clients match on the codes, and audit
entries already written carry the action.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub import audit
from hub.config import get_settings
from hub.db import after_commit
from hub.errors import Conflict, Forbidden, NotFound
from hub.models import InspectionAlert, InspectionFinding, InspectionRun, User, utcnow
from hub.permissions import is_admin_of, overseen_unit_ids, subtree_ids
from hub.queue import get_queue


def may_view(user: User) -> bool:
    return user.has_role("admin") or user.has_role("supervisor")


def require_view(user: User) -> None:
    if not may_view(user):
        raise Forbidden("只有管理员和主管单位可以查看巡检结果", code="not_admin")


def list_runs(session: Session, user: User, limit: int = 60) -> list[InspectionRun]:
    """The most recent runs (every day's run is kept)."""
    require_view(user)
    return list(session.scalars(select(InspectionRun).order_by(InspectionRun.id.desc()).limit(limit)).unique())


def get_run(session: Session, user: User, run_id: int) -> InspectionRun:
    require_view(user)
    run = session.get(InspectionRun, run_id)
    if run is None:
        raise NotFound("巡检记录不存在", code="scan_not_found")
    return run


def run_findings(session: Session, user: User, run: InspectionRun, *,
                 only_new: bool = False) -> list[InspectionFinding]:
    """The run's findings on content of units ``user`` oversees, new ones first."""
    units = overseen_unit_ids(session, user)
    stmt = select(InspectionFinding).where(InspectionFinding.run_id == run.id,
                                           InspectionFinding.unit_id.in_(units or {-1}))
    if only_new:
        stmt = stmt.where(InspectionFinding.is_new.is_(True))
    rows = list(session.scalars(stmt.order_by(InspectionFinding.id).limit(5000)).unique())
    sev = {"block": 0, "warn": 1, "info": 2}
    return sorted(rows, key=lambda f: (not f.is_new, sev.get(f.severity, 3), f.post_id, f.start_offset))


def alerts_for(session: Session, user: User, *, include_acknowledged: bool = False,
               limit: int = 50) -> list[InspectionAlert]:
    """Alerts for the units ``user`` is an admin of (their dashboard)."""
    units: set[int] = set()
    for g in user.roles:
        if g.role == "admin":
            units |= subtree_ids(session, g.unit_id)
    if not units:
        return []
    stmt = select(InspectionAlert).where(InspectionAlert.unit_id.in_(units))
    if not include_acknowledged:
        stmt = stmt.where(InspectionAlert.acknowledged_at.is_(None))
    return list(session.scalars(stmt.order_by(InspectionAlert.id.desc()).limit(limit)).unique())


def acknowledge(session: Session, user: User, alert_id: int) -> InspectionAlert:
    """An admin of the alert's unit marks it as handled (audited)."""
    alert = session.get(InspectionAlert, alert_id)
    if alert is None or alert.unit_id not in overseen_unit_ids(session, user):
        raise NotFound("告警不存在", code="alert_not_found")
    if not is_admin_of(session, user, alert.unit_id):
        raise Forbidden("只有该单位的管理员可以处理告警", code="not_admin")
    if alert.acknowledged_at is not None:
        raise Conflict("该告警已处理", code="already_acknowledged")
    alert.acknowledged_at = utcnow()
    alert.acknowledged_by_id = user.id
    audit.record(session, "check.alert_ack", object_type="check_alert", object_id=alert.id, unit=alert.unit,
                 summary=f"已处理巡检告警：{alert.summary[:150]}", details={"run": alert.run_id, "post": alert.post_id})
    return alert


def start_run(session: Session, user: User, app: Any) -> InspectionRun:
    """An admin starts an inspection now; its job is queued after the commit."""
    if not user.has_role("admin"):
        raise Forbidden("只有管理员可以发起巡检", code="not_admin")
    active = session.scalars(select(InspectionRun).where(InspectionRun.status.in_(("queued", "running")),
                                                         InspectionRun.trigger == "manual")).first()
    if active is not None:
        raise Conflict("已有一次巡检在进行中，请稍后再试", code="scan_running", run=active.id)
    local = datetime.now(UTC).astimezone(SHANGHAI)
    run = InspectionRun(run_key=f"manual-{uuid.uuid4().hex[:12]}", trigger="manual", day=local.date().isoformat(),
                        status="queued", window_days=window_days(app), requested_by_id=user.id)
    session.add(run)
    session.flush()
    audit.record(session, "check.rescan_start", object_type="scan_run", object_id=run.id, unit=user.unit,
                 summary=f"手动发起巡检（近 {run.window_days} 天已发布内容）", details={"run": run.id})
    config, run_id = dict(app.config), run.id
    after_commit(session, lambda: enqueue_inspection(config, run_id))
    return run


# -- the job's name, time and window (the job itself: hub/checks/jobs.py) ----------------------
#: The job, by its dotted name (services never import a job).
INSPECTION_JOB = "hub.checks.jobs.run_inspection"
JOB_TIMEOUT = 3600
SHANGHAI = ZoneInfo("Asia/Shanghai")


def run_at(app: Any) -> time:
    """``HUB_RESCAN_AT`` as a time of day in Asia/Shanghai (HH:MM; default 03:00)."""
    return get_settings(app.config).rescan_at


def window_days(app: Any) -> int:
    """``HUB_RESCAN_DAYS`` (default 30, at least 1)."""
    return max(1, get_settings(app.config).rescan_days)


def job_id(run_id: int) -> str:
    # The old word stays: the sweeper looks up queued runs' jobs by this id (see hub/checks/jobs.py).
    return f"hub-rescan-{run_id}"


def enqueue_inspection(config: dict[str, Any], run_id: int) -> None:
    """Put the run's job on the queue (ids only)."""
    get_queue(config).enqueue(INSPECTION_JOB, run_id, job_id=job_id(run_id), job_timeout=JOB_TIMEOUT)


def run_json(run: InspectionRun) -> dict[str, Any]:
    from hub.times import iso

    return {"id": run.id, "trigger": run.trigger, "day": run.day, "status": run.status,
            "window_days": run.window_days, "lexicon_version": run.lexicon_version,
            "created_at": iso(run.created_at), "started_at": iso(run.started_at),
            "finished_at": iso(run.finished_at), "posts_checked": run.posts_checked,
            "links_checked": run.links_checked, "findings_count": run.findings_count, "new_findings": run.new_findings,
            "alerts": run.alerts, "error": run.error,
            "requested_by": run.requested_by.to_ref() if run.requested_by else None}


def finding_json(f: InspectionFinding) -> dict[str, Any]:
    return {"id": f.id, "post_id": f.post_id, "unit": f.unit.code, "field": f.field, "rule": f.rule,
            "category": f.category, "severity": f.severity, "start": f.start_offset, "end": f.end_offset,
            "text": f.text, "suggestion": f.suggestion, "message": f.message, "url": f.url or None,
            "is_new": f.is_new, "lexicon_version": f.lexicon_version}


def alert_json(a: InspectionAlert) -> dict[str, Any]:
    from hub.times import iso

    return {"id": a.id, "run_id": a.run_id, "unit": a.unit.code, "post_id": a.post_id, "account_id": a.account_id,
            "findings": a.findings, "summary": a.summary, "created_at": iso(a.created_at),
            "acknowledged_at": iso(a.acknowledged_at)}
