"""Media jobs: delete an account's cover materials that no dispatch uses any more.

Publish runs do this for their account when they settle (hub/dispatch/jobs/publish.py); the sweeper
(``due_accounts``) catches the accounts whose unused covers passed ``HUB_MEDIA_KEEP`` while they
published nothing, and enqueues one job per account (ids only; credentials decrypted here).
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from hub import audit
from hub.accounts.service import decrypt_credentials
from hub.config import get_settings
from hub.db import db
from hub.dispatch import media, queueing
from hub.dispatch.holder import make_adapter, platform_rate
from hub.models import Account, PlatformMedia, utcnow
from hub.queue import PlatformRateLimit, get_redis
from hub.runtime import get_app

log = logging.getLogger(__name__)

RELEASE = "hub.dispatch.jobs.media.release_account_media"
#: How often the sweeper looks for accounts with covers to delete (at most; see ``due_accounts``).
LOOK_EVERY = 3600.0
_looked_at = 0.0


def release_account_media(account_id: int) -> int:
    """RQ job: delete the account's cover materials no dispatch uses any more; how many went."""
    app = get_app()
    with app.app_context():
        token = audit.current_actor.set(audit.Actor.system("worker"))
        try:
            s = db.session()
            account = s.get(Account, account_id)
            if account is None or account.status != "active":
                return 0
            try:
                creds = decrypt_credentials(account, app.extensions["hub_vault"])
                adapter = make_adapter(app, account, creds, None)
            except Exception:  # locked vault, unknown platform: tried again at a later sweep
                log.warning("cannot release media of account %s", account_id, exc_info=True)
                return 0
            finally:
                s.rollback()
            del creds
            try:
                rate: Any = PlatformRateLimit(get_redis(app.config), account.platform,
                                              platform_rate(app, account.platform))
            except Exception:
                rate = None
            return media.release_unused(adapter, rate.wait if rate is not None else None)
        finally:
            audit.current_actor.reset(token)
            db.session.remove()


def due_accounts(app: Any) -> int:
    """From the sweeper: enqueue a release job for each account holding covers that no dispatch uses
    and that were last used more than ``HUB_MEDIA_KEEP`` ago. Looks at most every ``LOOK_EVERY``
    seconds (or the keep period, when shorter)."""
    global _looked_at
    keep = get_settings(app.config).media_keep
    if time.monotonic() - _looked_at < min(LOOK_EVERY, keep):
        return 0
    _looked_at = time.monotonic()
    s = db.session()
    try:
        ids = s.scalars(select(PlatformMedia.account_id).where(
            PlatformMedia.kind == "cover", PlatformMedia.last_used_at <= utcnow() - timedelta(seconds=keep))
            .distinct()).all()
        due = [i for i in ids if media.DbMediaStore(i, keep).releasable("cover")]
    finally:
        s.rollback()
    return sum(1 for i in due if queueing.enqueue(app.config, RELEASE, i))
