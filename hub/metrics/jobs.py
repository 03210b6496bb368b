"""The daily read-count pull. The worker's sweeper (hub/worker.py) calls ``schedule_daily`` on every
sweep; the first sweep after ``PULL_HOUR`` of a Beijing day (WeChat asks for the previous day to be
queried after 08:00, once its figures are computed) enqueues one RQ job that pulls yesterday's
figures, so a slow platform never holds up the sweeper. A Redis key per day (``SET NX``) makes it
once a day however many workers sweep; ``hub metrics pull [--day]`` does the same on demand, in the
CLI process."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Any

from hub import audit
from hub.db import db
from hub.metrics import service

log = logging.getLogger(__name__)
DAY_KEY = "hub:metrics:{queue}:{day}"  # per instance (its queue name) and Beijing day
PULL_HOUR = 9  # Beijing time
PULL_JOB = "hub.metrics.jobs.pull_job"
#: A pull asks every measurable account in turn (each call bounded by the adapter's timeout).
JOB_TIMEOUT = 3600


def schedule_daily(app: Any, now: datetime | None = None) -> str | None:
    """Enqueue the pull of yesterday's figures once a day (after PULL_HOUR); returns the job id."""
    from hub.queue import get_queue, get_redis

    local = (now or datetime.now(UTC)).astimezone(service.SHANGHAI)
    if local.hour < PULL_HOUR:
        return None
    today = local.date()
    key = DAY_KEY.format(queue=app.config.get("HUB_QUEUE", "hub"), day=today.isoformat())
    if not get_redis(app.config).set(key, "1", nx=True, ex=2 * 86400):
        return None
    day = date.fromordinal(today.toordinal() - 1)
    job_id = f"metrics-pull-{day.isoformat()}"
    get_queue(app.config).enqueue(PULL_JOB, day.isoformat(), job_id=job_id, job_timeout=JOB_TIMEOUT)
    log.info("read-count pull of %s enqueued", day)
    return job_id


def pull_job(day: str) -> str:
    """RQ job: pull the figures of ``day`` (YYYY-MM-DD) as the system actor (ids and dates only)."""
    from hub.runtime import get_app

    result = run(get_app(), date.fromisoformat(day))
    return result.summary()


def run(app: Any, day: date) -> service.PullResult:
    """One pull for ``day`` as the system actor (app context made here)."""
    with app.app_context():
        token = audit.current_actor.set(audit.Actor.system("metrics"))
        try:
            result = service.pull(app, day)
        finally:
            audit.current_actor.reset(token)
            db.session.remove()
    log.info("metrics pull %s: %s accounts, %s failed", day, result.accounts, len(result.failed))
    return result
