"""Publication time: schedule, reschedule and cancel, the dispatches an approved post arms, and
their RQ jobs (due ones now, scheduled ones at their time).

A time without offset means Asia/Shanghai; times are stored as naive UTC.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from hub import audit
from hub.errors import BadRequest, Conflict, Forbidden, Unprocessable
from hub.models import Dispatch, Post, User, utcnow
from hub.permissions import is_admin_of, is_editor_of
from hub.posts.access import get_post

SHANGHAI = ZoneInfo("Asia/Shanghai")
SCHEDULABLE_STATUSES = ("draft", "rejected", "in_review", "approved")
SCHEDULE_HORIZON = timedelta(hours=1)
log = logging.getLogger(__name__)


def parse_time(value: Any) -> datetime | None:
    """ISO 8601 to naive UTC; a time without offset means Asia/Shanghai."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise BadRequest("publish_at 必须是 ISO 8601 时间字符串", code="invalid_publish_at")
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"无法识别的时间：{value}", code="invalid_publish_at") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=SHANGHAI)
    return dt.astimezone(UTC).replace(tzinfo=None)


def _may_schedule(session: Session, user: User, post: Post) -> None:
    if not (is_editor_of(user, post.unit_id) or is_admin_of(session, user, post.unit_id)):
        raise Forbidden("只有本单位编辑或管理员可以安排发布时间", code="not_editor")


def schedule_post(session: Session, user: User, post_id: int, body: Any) -> tuple[Post, list[int]]:
    """Set or change the publish time (no new revision, no re-approval; audited).

    Before approval it is the time to publish at once approved. On an approved post it
    arms its dispatches for that time; ``publish_at: null`` then means "publish now".
    Returns the post and the ids of its pending dispatches (to enqueue, now or at the time).
    """
    post = get_post(session, user, post_id, lock=True)
    _may_schedule(session, user, post)
    if post.status not in SCHEDULABLE_STATUSES:
        raise Conflict(f"稿件当前状态（{post.status}）不能调整发布时间", code="not_schedulable", status=post.status)
    if not isinstance(body, dict):
        raise BadRequest("请求体必须是 JSON 对象", code="invalid_body")
    if "publish_at" not in body:
        raise BadRequest("缺少 publish_at（ISO 8601 时间；null 表示审核通过后立即发布）", code="missing_publish_at")
    unknown = set(body) - {"publish_at"}
    if unknown:
        raise BadRequest(f"未知字段：{', '.join(sorted(unknown))}", code="unknown_field")
    new_at = parse_time(body["publish_at"])
    now = utcnow()
    if new_at is not None and new_at <= now:
        raise Unprocessable(f"发布时间 {fmt_local(new_at)} 已过，请选择将来的时间", code="publish_at_past")
    old_at = post.publish_at
    post.publish_at = new_at
    post.updated_at = now
    ids: list[int] = []
    if post.status == "approved":
        ids = _arm_dispatches(session, post, new_at, revive=True)
        if new_at is None:
            post.status = "publishing"
    if new_at is None and post.status == "publishing":
        summary = "立即发布"
    elif new_at is None:
        summary = "取消定时，审核通过后立即发布"
    else:
        summary = f"发布时间调整为 {fmt_local(new_at)}"
    audit.record(session, "post.reschedule", object_type="post", object_id=post.id, unit=post.unit,
                 summary=summary, details={"from": iso_utc(old_at), "to": iso_utc(new_at), "status": post.status,
                                           "dispatches": ids})
    return post, ids


def cancel_schedule(session: Session, user: User, post_id: int) -> Post:
    """Cancel the scheduled publication of an approved post; it waits for a new time (no re-approval)."""
    post = get_post(session, user, post_id, lock=True)
    _may_schedule(session, user, post)
    if post.status != "approved" or post.publish_at is None:
        raise Conflict(f"只有已审核通过、等待定时发布的稿件可以取消发布（当前状态：{post.status}"
                       + ("，未安排发布时间" if post.status == "approved" else "") + "）",
                       code="not_scheduled", status=post.status)
    rev = post.current_revision
    assert rev is not None
    cancelled = cancel_pending(session, post, "已取消定时发布")
    old_at = post.publish_at
    post.publish_at = None
    post.updated_at = utcnow()
    audit.record(session, "post.schedule_cancel", object_type="post", object_id=post.id, unit=post.unit,
                 summary="取消定时发布，等待重新选择发布时间",
                 details={"publish_at": iso_utc(old_at), "cancelled_dispatches": cancelled})
    return post


def cancel_pending(session: Session, post: Post, why: str) -> list[int]:
    """Cancel the post's pending dispatches; returns the ids actually cancelled (conditional update)."""
    ids = list(session.scalars(select(Dispatch.id).where(Dispatch.post_id == post.id,
                                                         Dispatch.status == "pending")))
    done: list[int] = []
    for did in ids:
        n = session.execute(update(Dispatch).where(Dispatch.id == did, Dispatch.status == "pending")
                            .values(status="cancelled", error=why, updated_at=utcnow())
                            .execution_options(synchronize_session=False)).rowcount  # type: ignore[attr-defined]
        if n == 1:
            done.append(did)
    if ids:
        session.expire(post, ["dispatches"])
    if done:
        _after_commit_unschedule(session, done)
    return done


def create_dispatches(session: Session, post: Post) -> list[int]:
    """One pending dispatch per target account of the current revision (existing ones reused)."""
    return _arm_dispatches(session, post, post.publish_at, revive=False)


def _arm_dispatches(session: Session, post: Post, not_before: datetime | None, *, revive: bool) -> list[int]:
    rev = post.current_revision
    assert rev is not None
    existing = {d.account_id: d for d in session.scalars(select(Dispatch).where(Dispatch.revision_id == rev.id))}
    ids = []
    for account_id in rev.account_ids:
        d = existing.get(account_id)
        if d is None:
            d = Dispatch(post_id=post.id, revision_id=rev.id, account_id=account_id, status="pending",
                         not_before=not_before)
            session.add(d)
            session.flush()
            audit.record(session, "dispatch.create", object_type="dispatch", object_id=d.id, unit=post.unit,
                         summary="创建发布任务", details={"post_id": post.id, "account_id": account_id,
                                                       "revision_hash": rev.hash})
        elif revive and d.status in ("pending", "cancelled"):
            d.status, d.not_before, d.error = "pending", not_before, None
            d.updated_at = utcnow()
        ids.append(d.id)
    session.expire(post, ["dispatches"])
    return ids


def pending_dispatch_times(session: Session, post_id: int) -> list[tuple[int, datetime | None]]:
    """(dispatch id, not_before) of a post's pending dispatches."""
    return [(i, nb) for i, nb in session.execute(select(Dispatch.id, Dispatch.not_before).where(
        Dispatch.post_id == post_id, Dispatch.status == "pending")).all()]


def scheduled_job_id(dispatch_id: int) -> str:
    """The RQ job id of a dispatch's publication at its scheduled time (one per dispatch)."""
    return f"hub-publish-at-{dispatch_id}"


def enqueue_post_dispatches(config: dict[str, Any], session: Session, post_id: int) -> int:
    """Enqueue a post's pending dispatches: due ones now, scheduled ones at their time.

    Times within ``SCHEDULE_HORIZON`` become RQ scheduled jobs (one per dispatch, replaced on
    reschedule, deleted on cancel); later ones, and any job lost with Redis, are enqueued by
    the worker's sweeper once due. Either way the job re-checks the time before publishing.
    """
    from hub.dispatch.jobs.publish import enqueue_dispatches, publish_dispatch
    from hub.queue import get_queue

    now = utcnow()
    due: list[int] = []
    later: list[tuple[int, datetime]] = []
    for did, nb in pending_dispatch_times(session, post_id):
        if nb and nb > now:
            later.append((did, nb))
        else:
            due.append(did)
    n = enqueue_dispatches(config, due)
    for did, nb in later:
        if nb - now > SCHEDULE_HORIZON:
            continue
        try:
            q = get_queue(config)
            old = q.fetch_job(scheduled_job_id(did))
            if old is not None:
                old.delete()
            # Two seconds of slack: schedulers work in whole seconds and may move a job up to one
            # second early; an early job would find the dispatch not yet due and do nothing.
            q.enqueue_at(nb.replace(tzinfo=UTC) + timedelta(seconds=2), publish_dispatch, did,
                         job_id=scheduled_job_id(did), job_timeout=600)
            n += 1
        except Exception:  # Redis down: the sweeper enqueues the dispatch when it is due
            log.warning("could not schedule dispatch %s; the sweeper will enqueue it", did)
    return n


def unschedule_dispatches(config: dict[str, Any], dispatch_ids: list[int]) -> None:
    """Delete the scheduled RQ jobs of cancelled dispatches (best effort: the job re-checks anyway)."""
    from hub.queue import get_queue

    try:
        q = get_queue(config)
        for did in dispatch_ids:
            job = q.fetch_job(scheduled_job_id(did))
            if job is not None:
                job.delete()
    except Exception:
        log.warning("could not delete scheduled jobs of dispatches %s", dispatch_ids)


def _after_commit_unschedule(session: Session, dispatch_ids: list[int]) -> None:
    try:
        from flask import current_app

        config = dict(current_app.config)
    except RuntimeError:  # no app context: nothing was scheduled by this process
        return
    event.listen(session, "after_commit", lambda _s: unschedule_dispatches(config, dispatch_ids), once=True)


def iso_utc(dt: datetime | None) -> str | None:
    return dt.replace(tzinfo=UTC).isoformat() if dt else None


def fmt_local(dt: datetime | None) -> str:
    if dt is None:
        return ""
    return dt.replace(tzinfo=UTC).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
