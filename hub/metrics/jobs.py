"""The daily read-count pull, started by the worker's sweeper (hub/worker.py) once per Beijing day
after ``PULL_HOUR`` (WeChat asks for the previous day to be queried after 08:00, once its figures are
computed). A Redis key per day (``SET NX``) makes it once a day however many workers sweep;
``hub metrics pull [--day]`` does the same on demand."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from hub import audit
from hub.db import db
from hub.metrics import service

log = logging.getLogger(__name__)
DAY_KEY = "hub:metrics:{queue}:{day}"  # per instance (its queue name) and Beijing day
PULL_HOUR = 9  # Beijing time


def schedule_daily(app: Any, now: datetime | None = None) -> service.PullResult | None:
    """Pull yesterday's figures once (the first sweep after PULL_HOUR of the Beijing day)."""
    from hub.queue import get_redis

    local = (now or datetime.now(UTC)).astimezone(service.SHANGHAI)
    if local.hour < PULL_HOUR:
        return None
    day = local.date()
    key = DAY_KEY.format(queue=app.config.get("HUB_QUEUE", "hub"), day=day.isoformat())
    if not get_redis(app.config).set(key, "1", nx=True, ex=2 * 86400):
        return None
    return run(app, service.default_day())


def run(app: Any, day: Any) -> service.PullResult:
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
