"""The worker that holds a dispatch: its lease, the platform's rate budget and the adapter.

A publish or reconcile run *holds* a dispatch through a claim token and a lease that it renews
while the platform calls go on; a run whose lease ran out has lost the dispatch to recovery.
"""

from __future__ import annotations

import os
import socket
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import update

from adapters.base import Adapter, LostClaim
from adapters.registry import UnknownPlatform, get_adapter
from hub.config import get_settings, values_of
from hub.db import db
from hub.dispatch.media import DbMediaStore
from hub.models import Account, Dispatch, utcnow
from hub.queue import PlatformRateLimit, RedisTokenCache, get_redis, platform_rates


def lease_seconds(app: Any) -> float:
    """How long a worker holds a dispatch without renewing (``HUB_DISPATCH_LEASE``, default 40 s)."""
    return max(2.0, get_settings(app.config).dispatch_lease)


def worker_label() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


class Holder:
    """What the adapter's hooks do for the worker that holds a dispatch.

    ``before_call`` waits for the platform's rate budget and renews the lease now and then
    (raising :class:`LostClaim` if another process took the dispatch over); ``checkpoint``
    persists how far the platform calls got, before the next mutating call.
    """

    def __init__(self, app: Any, dispatch_id: int, claim: str, platform: str, per_second: int) -> None:
        self.app = app
        self.dispatch_id = dispatch_id
        self.claim = claim
        self.lease = lease_seconds(app)
        self.renewed = time.monotonic()
        try:
            client = get_redis(app.config)
        except Exception:
            client = None
        self.rate = PlatformRateLimit(client, platform, per_second) if client is not None else None

    def before_call(self) -> None:
        if self.rate is not None:
            self.rate.wait()
        if time.monotonic() - self.renewed >= self.lease / 4:
            self._update({})

    def rate_wait(self) -> None:
        """The platform's rate budget alone (calls made after the run gave its lease back)."""
        if self.rate is not None:
            self.rate.wait()

    def checkpoint(self, stage: str, draft_ref: str | None = None, platform_ref: str | None = None,
                   stats_ref: str | None = None) -> None:
        values: dict[str, Any] = {"stage": stage}
        if stats_ref is not None:  # the platform's statistics reference (hub/metrics)
            values["stats_ref"] = stats_ref
        if draft_ref is not None:
            values["draft_ref"] = draft_ref
        if platform_ref is not None:
            values["platform_ref"] = platform_ref
        self._update(values)

    def _update(self, values: dict[str, Any]) -> None:
        now = utcnow()
        values = dict(values, lease_until=now + timedelta(seconds=self.lease), updated_at=now)
        with db.transaction() as s:
            n = s.execute(update(Dispatch).where(Dispatch.id == self.dispatch_id, Dispatch.claim == self.claim)
                          .values(**values).execution_options(synchronize_session=False)).rowcount  # type: ignore[attr-defined]
        self.renewed = time.monotonic()
        if n != 1:
            raise LostClaim(f"dispatch {self.dispatch_id} was taken over")


def make_adapter(app: Any, account: Account, creds: dict[str, str], holder: Holder | None) -> Adapter:
    """An adapter instance for ``account`` wired to the shared token cache and the holder's hooks."""
    cls = get_adapter(account.platform)
    try:
        cache: Any = RedisTokenCache(get_redis(app.config))
    except Exception:
        cache = None
    adapter = cls(account.api_base, creds, cache,
                  before_call=holder.before_call if holder else None,
                  checkpoint=holder.checkpoint if holder else None,
                  config=values_of(cls.config_settings, app.config))
    adapter.media = DbMediaStore(account.id, get_settings(app.config).media_keep)
    return adapter


def platform_rate(app: Any, platform: str) -> int:
    try:
        default = get_adapter(platform).rate_per_second
    except UnknownPlatform:
        default = 10
    return platform_rates(app.config).get(platform, default)
