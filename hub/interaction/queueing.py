"""Interaction jobs on the RQ queue, by their dotted name, enqueued after the commit that made them
due (hub.db.after_commit). A lost enqueue costs only time: the sweeper finds approved answers
not yet sent (hub/interaction/jobs.py ``sweep``)."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def enqueue(job: str, object_id: int) -> bool:
    from flask import current_app

    from hub.queue import get_queue

    try:
        get_queue(dict(current_app.config)).enqueue(job, object_id, job_timeout=120)
        return True
    except Exception:  # Redis unreachable: the sweeper enqueues it again
        log.warning("could not enqueue %s for %s", job, object_id, exc_info=True)
        return False
