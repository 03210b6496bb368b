"""Dispatch work on the RQ queue: jobs named by their dotted path, enqueued after the commit
that made them due.

Services never import a job: they call the ``*_after_commit`` functions here, which put the
job on the queue once the transaction that created or released the dispatch has committed
(:func:`hub.db.after_commit`), and not at all if it rolls back. Jobs re-enqueue themselves
(retries, polls) with :func:`enqueue`. RQ stores a job's function by this same dotted name, so
naming it here instead of importing it changes nothing on the queue.

The database is the source of truth: every lost enqueue (Redis down, a crash between commit
and enqueue) is found again by the sweeper (hub/dispatch/jobs/sweep.py).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.db import after_commit
from hub.models import Dispatch, utcnow
from hub.queue import get_queue

log = logging.getLogger(__name__)

PUBLISH = "hub.dispatch.jobs.publish.publish_dispatch"
RECONCILE = "hub.dispatch.jobs.reconcile.reconcile_dispatch"
WITHDRAW = "hub.dispatch.jobs.withdraw.withdraw_dispatch"
MANUAL_CHECK = "hub.dispatch.jobs.manual.check_manual_url"
UPDATE = "hub.dispatch.jobs.update.update_dispatch"

JOB_TIMEOUT = 600
WITHDRAW_TIMEOUT = 300
#: Scheduled publications closer than this become RQ scheduled jobs; later ones wait for the sweeper.
SCHEDULE_HORIZON = timedelta(hours=1)


def _config() -> dict[str, Any]:
    """The running app's config (web request, CLI or worker job)."""
    try:
        from flask import current_app

        return dict(current_app.config)
    except RuntimeError:
        from hub.runtime import get_app

        return dict(get_app().config)


# -- now ------------------------------------------------------------------------------------
def enqueue(config: dict[str, Any], job: str, dispatch_id: int, delay: float = 0, *args: Any,
            timeout: int = JOB_TIMEOUT) -> bool:
    """Enqueue ``job(dispatch_id, *args)``; False when Redis is unreachable (the sweeper catches up)."""
    try:
        q = get_queue(config)
        if delay > 0:
            q.enqueue_in(timedelta(seconds=delay), job, dispatch_id, *args, job_timeout=timeout)
        else:
            q.enqueue(job, dispatch_id, *args, job_timeout=timeout)
        return True
    except Exception:
        log.warning("could not enqueue %s(%s); the sweeper will retry", job.rsplit(".", 1)[-1], dispatch_id)
        return False


def enqueue_dispatches(config: dict[str, Any], dispatch_ids: Iterable[int], delay: float = 0) -> int:
    """Put publish jobs on the queue; a lost enqueue is picked up by the sweeper."""
    return sum(1 for did in dispatch_ids if enqueue(config, PUBLISH, did, delay))


def enqueue_withdrawals(config: dict[str, Any], dispatch_ids: Iterable[int]) -> int:
    """One withdraw job per dispatch; a Redis outage is logged (the post stays withdrawn)."""
    return sum(1 for did in dispatch_ids if enqueue(config, WITHDRAW, did, 0, 0, timeout=WITHDRAW_TIMEOUT))


def scheduled_job_id(dispatch_id: int) -> str:
    """The RQ job id of a dispatch's publication at its scheduled time (one per dispatch)."""
    return f"hub-publish-at-{dispatch_id}"


def pending_dispatch_times(session: Session, post_id: int) -> list[tuple[int, datetime | None]]:
    """(dispatch id, not_before) of a post's pending dispatches."""
    return [(i, nb) for i, nb in session.execute(select(Dispatch.id, Dispatch.not_before).where(
        Dispatch.post_id == post_id, Dispatch.status == "pending")).all()]


def enqueue_post_dispatches(config: dict[str, Any], session: Session, post_id: int) -> int:
    """Enqueue a post's pending dispatches: due ones now, scheduled ones at their time."""
    return enqueue_at_times(config, pending_dispatch_times(session, post_id))


def enqueue_at_times(config: dict[str, Any], times: Iterable[tuple[int, datetime | None]]) -> int:
    """Enqueue dispatches by their ``not_before``: due ones now, scheduled ones at their time.

    Times within ``SCHEDULE_HORIZON`` become RQ scheduled jobs (one per dispatch, replaced on
    reschedule, deleted on cancel); later ones, and any job lost with Redis, are enqueued by
    the worker's sweeper once due. Either way the job re-checks the time before publishing.
    """
    now = utcnow()
    due: list[int] = []
    later: list[tuple[int, datetime]] = []
    for did, nb in times:
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
            q.enqueue_at(nb.replace(tzinfo=UTC) + timedelta(seconds=2), PUBLISH, did,
                         job_id=scheduled_job_id(did), job_timeout=JOB_TIMEOUT)
            n += 1
        except Exception:  # Redis down: the sweeper enqueues the dispatch when it is due
            log.warning("could not schedule dispatch %s; the sweeper will enqueue it", did)
    return n


def unschedule_dispatches(config: dict[str, Any], dispatch_ids: Iterable[int]) -> None:
    """Delete the scheduled RQ jobs of cancelled dispatches (best effort: the job re-checks anyway)."""
    try:
        q = get_queue(config)
        for did in dispatch_ids:
            job = q.fetch_job(scheduled_job_id(did))
            if job is not None:
                job.delete()
    except Exception:
        log.warning("could not delete scheduled jobs of dispatches %s", list(dispatch_ids))


# -- after the commit -------------------------------------------------------------------------
def publish_after_commit(session: Session, dispatch_ids: Iterable[int]) -> None:
    """Queue publish jobs for these dispatches once the transaction commits."""
    ids = list(dispatch_ids)
    if ids:
        config = _config()
        after_commit(session, lambda: enqueue_dispatches(config, ids))


def publish_post_after_commit(session: Session, post_id: int) -> None:
    """Once the transaction commits, queue the post's pending dispatches (due ones now, scheduled
    ones at their time): what approval, scheduling and "publish now" leave behind. Call it after
    the dispatches are armed: their times are read now (a committed session may not emit SQL)."""
    config = _config()
    session.flush()
    times = pending_dispatch_times(session, post_id)
    after_commit(session, lambda: enqueue_at_times(config, times))


def withdraw_after_commit(session: Session, dispatch_ids: Iterable[int]) -> None:
    ids = list(dispatch_ids)
    if ids:
        config = _config()
        after_commit(session, lambda: enqueue_withdrawals(config, ids))


def update_after_commit(session: Session, dispatch_ids: Iterable[int]) -> None:
    """Queue update pushes (a published item replaced in place: 效力标注) once the transaction commits."""
    ids = list(dispatch_ids)
    if ids:
        config = _config()
        after_commit(session, lambda: [enqueue(config, UPDATE, i) for i in ids])


def reconcile_now(dispatch_id: int) -> bool:
    """Ask for a reconciliation at once, whatever becomes of the current transaction (the job
    reads the committed state; a refused retry rolls back and still wants the check)."""
    return enqueue(_config(), RECONCILE, dispatch_id)


def unschedule_after_commit(session: Session, dispatch_ids: Iterable[int]) -> None:
    """Delete the scheduled jobs of dispatches this transaction cancels, once it commits."""
    ids = list(dispatch_ids)
    if not ids:
        return
    try:
        from flask import current_app

        config = dict(current_app.config)
    except RuntimeError:  # no app context: nothing was scheduled by this process
        return
    after_commit(session, lambda: unschedule_dispatches(config, ids))


def manual_check_after_commit(session: Session, dispatch_id: int) -> None:
    """Fetch a manual publication's URL once the record of it has committed (hub/dispatch/jobs/manual.py)."""
    config = _config()
    after_commit(session, lambda: enqueue(config, MANUAL_CHECK, dispatch_id, 0, timeout=120))
