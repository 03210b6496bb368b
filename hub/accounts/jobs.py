"""The daily token run of the OAuth accounts (抖音, 快手): refresh, renew, alert (hub/accounts/oauth.py).

Started by the worker's sweeper (hub/worker.py) once per Beijing day: a Redis key per day (``SET NX``)
makes it once a day however many workers sweep. Each account is checked in its own transaction, so
one account's vault or platform trouble never stops the others."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from hub import audit
from hub.accounts import oauth
from hub.db import db
from hub.models import Account
from hub.oversight import monitor

log = logging.getLogger(__name__)
DAY_KEY = "hub:tokens:{queue}:{day}"  # per instance (its queue name) and Beijing day
CHECKED = ("active", "suspended", "pending")


def check_tokens() -> dict[str, int]:
    """One token run over every account of an OAuth platform that is not closed (app context required)."""
    counts: dict[str, int] = {}
    s = db.session()
    ids = s.scalars(select(Account.id).where(Account.status.in_(CHECKED)).order_by(Account.id)).all()
    s.rollback()
    for account_id in ids:
        try:
            with db.transaction() as tx:
                account = tx.get(Account, account_id)
                if account is None or not oauth.is_oauth(account):
                    continue
                outcome = oauth.check_account(tx, account)
        except Exception:
            log.warning("token check failed for account %s", account_id, exc_info=True)
            outcome = "error"
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def run(app: Any) -> dict[str, int]:
    """The token run now, as the system actor ``tokens``."""
    with app.app_context():
        token = audit.current_actor.set(audit.Actor.system("tokens"))
        try:
            counts = check_tokens()
        finally:
            audit.current_actor.reset(token)
            db.session.remove()
    log.info("token run: %s", counts)
    return counts


def schedule_daily(app: Any) -> dict[str, int] | None:
    """Run today's token check once (the first sweep of the Beijing day)."""
    from hub.queue import get_redis

    day = monitor.today()
    key = DAY_KEY.format(queue=app.config.get("HUB_QUEUE", "hub"), day=day.isoformat())
    if not get_redis(app.config).set(key, "1", nx=True, ex=2 * 86400):
        return None
    return run(app)
