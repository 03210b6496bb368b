"""The sweeper: the database is the source of truth, the queue only a fast path.

Every few seconds a worker's sweeper thread enqueues what is due (pending dispatches whose
enqueue was lost, scheduled posts whose time has come, retries) and recovers or reconciles
the rest (``reconcile.recover``), chains audit entries whose writer died before sealing, and now and
then asks for the deletion of cover materials no dispatch uses any more (``media.due_accounts``).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from hub import audit
from hub.config import get_settings
from hub.db import db
from hub.dispatch import queueing, state
from hub.dispatch.jobs.media import due_accounts
from hub.dispatch.jobs.reconcile import recover
from hub.models import Dispatch, Post, utcnow
from hub.models.states import DispatchStatus, PostStatus
from hub.runtime import get_app

log = logging.getLogger(__name__)


def _chain_stragglers(app: Any) -> None:
    """Chain audit entries whose writer died between its commit and sealing (PostgreSQL queue)."""
    w = audit.queue_in_use(db.session())
    if w is None:
        return
    try:
        audit.settle(db.engine, w)
    except Exception:  # the next sweep, writer or reader chains them
        log.warning("could not chain queued audit entries", exc_info=True)


def _daily_expiries(app: Any) -> None:
    """Once a day (a Redis marker per Beijing date), apply the policies' expiry dates (``hub validity run``)."""
    from hub.posts import validity
    from hub.queue import get_redis

    today = validity.today_shanghai()
    key = f"{app.config.get('HUB_QUEUE', 'hub')}:validity-run:{today.isoformat()}"
    if not get_redis(app.config).set(key, "1", nx=True, ex=2 * 86400):
        return
    with db.transaction() as s:
        validity.run(s, today)


def sweep() -> int:
    """Re-enqueue what is due: pending dispatches (lost enqueues, scheduled posts, retries), and
    recover / reconcile the rest (see ``reconcile.recover``). Runs every few seconds in a worker."""
    app = get_app()
    with app.app_context():
        try:
            _chain_stragglers(app)
            now = utcnow()
            s = db.session()
            ids = s.scalars(select(Dispatch.id).where(
                Dispatch.status == DispatchStatus.PENDING,
                (Dispatch.not_before.is_(None)) | (Dispatch.not_before <= now),
                Dispatch.updated_at <= now - timedelta(seconds=get_settings(app.config).pending_grace),
            ).limit(500)).all()
            s.rollback()
            # Scheduled posts whose time has come move to publishing.
            with db.transaction() as s2:
                token = audit.current_actor.set(audit.Actor.system("scheduler"))
                try:
                    due = s2.scalars(select(Post).where(Post.status == PostStatus.APPROVED, Post.publish_at <= now)).all()
                    for post in due:
                        pending = s2.scalars(select(Dispatch.id).where(
                            Dispatch.post_id == post.id, Dispatch.revision_id == post.current_revision_id)).all()
                        if pending:
                            state.move_post(post, PostStatus.PUBLISHING)
                            audit.record(s2, "post.publishing", object_type="post", object_id=post.id,
                                         unit=post.unit, summary="到达定时发布时间，开始发布")
                            ids = list(ids) + list(pending)
                finally:
                    audit.current_actor.reset(token)
            n = queueing.enqueue_dispatches(app.config, sorted(set(ids)))
            try:
                _daily_expiries(app)  # 效力标注: expiry dates reached today (hub/posts/validity.py)
            except Exception:  # never in the way of publishing
                log.warning("could not apply scheduled expiries", exc_info=True)
            try:
                due_accounts(app)  # covers no dispatch uses any more, past their keep period
            except Exception:  # never in the way of publishing
                log.warning("could not look for unused media", exc_info=True)
            return n + recover(app)
        finally:
            db.session.remove()
