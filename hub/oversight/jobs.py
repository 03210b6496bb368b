"""The daily monitor run, started by the worker's sweeper (hub/worker.py) once per Beijing day:
silence alerts (hub.oversight.monitor.run) and the escalation of overdue rectifications. A Redis
key per day (``SET NX``) makes it once a day however many workers sweep; ``hub monitor run`` does the
same on demand for any date."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from hub import audit
from hub.db import db
from hub.oversight import annual, monitor, rectifications

log = logging.getLogger(__name__)
DAY_KEY = "hub:monitor:{queue}:{day}"  # per instance (its queue name) and Beijing day


def evaluate(as_of: date) -> dict[str, int]:
    """One monitor run as of ``as_of`` in its own transaction (app context required)."""
    with db.transaction() as s:
        counts = monitor.run(s, as_of)
        counts["escalated"] = rectifications.escalate_overdue(s, as_of)
        counts["annual"] = annual.remind(s, as_of)
    return counts


def schedule_daily(app: Any) -> dict[str, int] | None:
    """Run today's monitor once (the first sweep of the Beijing day)."""
    from hub.queue import get_redis

    day = monitor.today()
    if not get_redis(app.config).set(DAY_KEY.format(queue=app.config.get("HUB_QUEUE", "hub"), day=day.isoformat()), "1", nx=True, ex=2 * 86400):
        return None
    with app.app_context():
        token = audit.current_actor.set(audit.Actor.system("monitor"))
        try:
            counts = evaluate(day)
        finally:
            audit.current_actor.reset(token)
            db.session.remove()
    log.info("monitor run %s: %s", day, counts)
    return counts
