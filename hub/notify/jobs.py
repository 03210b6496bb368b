"""Delivery of notifications through the outside channels, as RQ jobs.

``deliver(id)`` claims one pending delivery with a conditional update (two workers, or a job and
the sweeper, never both send it), opens the channel's URL and secret from the vault, sends, and
records the outcome: sent, or pending again with a later ``next_at`` (backoff) and a scheduled job,
or failed after ``MAX_ATTEMPTS`` (or at once for an answer that no retry can change, a bad key).

``sweep()`` runs in the worker's sweeper (hub/worker.py): pending deliveries whose job was lost
(Redis was down at the commit, a worker died) are enqueued again, and deliveries left ``sending``
by a dead worker are released. ``daily()`` once per Beijing day after ``DAILY_AT``: the digest
e-mail for people who chose one message a day, and the credentials-due alerts for admins.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta
from datetime import time as dtime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from hub import audit
from hub.accounts.service import max_age_days
from hub.config import get_settings
from hub.db import db
from hub.models import (
    Account,
    Credential,
    NotifyChannel,
    NotifyDelivery,
    NotifyPreference,
    RotationTask,
    utcnow,
)
from hub.notify import channels as channels_svc
from hub.notify import events
from hub.notify.senders import (
    Message,
    SendError,
    Smtp,
    send_dingtalk,
    send_email,
    send_wecom,
    send_wecom_app,
)
from hub.runtime import get_app

log = logging.getLogger(__name__)

#: Seconds to wait before each further attempt (attempt 2 after 2 s, … then every 15 minutes).
BACKOFF = (2, 5, 15, 60, 300, 900)
MAX_ATTEMPTS = 10
#: A delivery left ``sending`` this long belongs to a worker that died: it is released.
SENDING_LEASE = timedelta(minutes=5)
#: The daily digest and credential alerts go out after this time of day (Asia/Shanghai).
DAILY_AT = dtime(8, 0)
DAY_KEY = "hub:notify-daily:{queue}:{day}"
BEIJING = ZoneInfo("Asia/Shanghai")
FOOTER = "此消息由政务新媒体发布中心自动发送。"


def backoff(attempts: int) -> int:
    return BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1]


def deliver(delivery_id: int) -> str:
    app = get_app()
    with app.app_context():
        try:
            return _deliver(app, delivery_id)
        finally:
            db.session.remove()


def _claim(delivery_id: int) -> bool:
    now = utcnow()
    with db.transaction() as s:
        won = s.execute(update(NotifyDelivery).where(
            NotifyDelivery.id == delivery_id, NotifyDelivery.status == "pending",
            NotifyDelivery.next_at <= now + timedelta(seconds=3),
        ).values(status="sending", attempts=NotifyDelivery.attempts + 1, updated_at=now)
            .execution_options(synchronize_session=False)).rowcount  # type: ignore[attr-defined]
    return won == 1


def _send(app: Any, d: NotifyDelivery, ch: NotifyChannel, secrets: dict[str, str], to: list[str]) -> None:
    first, _, rest = d.text.partition("\n")
    msg = Message(title=first, text=rest, link=d.link)
    opts = ch.options or {}
    if ch.kind == "wecom":
        send_wecom(secrets.get("url", ""), msg, opts)
    elif ch.kind == "dingtalk":
        send_dingtalk(secrets.get("url", ""), secrets.get("secret", ""), msg, opts)
    elif ch.kind == "wecom_app":
        send_wecom_app(opts.get("api_base") or "https://qyapi.weixin.qq.com", opts.get("corpid", ""),
                       int(opts.get("agentid") or 0), secrets.get("secret", ""), to[0] if to else "", msg)
    else:
        st = get_settings(app.config)
        smtp = Smtp(st.smtp_host, st.smtp_port, st.smtp_from, opts.get("username", ""), secrets.get("secret", ""))
        send_email(smtp, to, first, f"{rest}\n\n{d.link}\n\n--\n{FOOTER}\n".lstrip("\n"))


def _deliver(app: Any, delivery_id: int) -> str:
    if not _claim(delivery_id):
        return "skipped"
    s = db.session()
    d = s.get(NotifyDelivery, delivery_id)
    assert d is not None
    ch = s.get(NotifyChannel, d.channel_id)
    error: SendError | None = None
    try:
        if ch is None or not ch.enabled:
            raise SendError("渠道已停用或已删除", retry=False)
        secrets = channels_svc.secrets_of(s, ch)
        to: list[str] = []
        if ch.kind == "wecom_app" and d.user_id is not None:
            pref = s.get(NotifyPreference, d.user_id)
            to = [pref.wecom_userid] if pref is not None and pref.wecom_userid and pref.wecom_on else []
        elif ch.kind == "email":
            if d.user_id is not None:
                pref = s.get(NotifyPreference, d.user_id)
                to = [pref.email] if pref is not None and pref.email and pref.email_on else []
            else:
                to = list((ch.options or {}).get("to", []))
        s.rollback()  # no transaction held open during the call
        _send(app, d, ch, secrets, to)
    except SendError as exc:
        error = exc
    except Exception as exc:  # the vault locked, a bug: never lose the delivery
        log.warning("notification delivery %s: %s", delivery_id, type(exc).__name__)
        error = SendError(f"内部错误（{type(exc).__name__}）")
    now = utcnow()
    later: float | None = None
    with db.transaction() as s2:
        row = s2.get(NotifyDelivery, delivery_id, populate_existing=True)
        assert row is not None
        if error is None:
            row.status, row.sent_at, row.last_error = "sent", now, None
            outcome = "sent"
        elif error.retry and row.attempts < MAX_ATTEMPTS:
            later = backoff(row.attempts)
            row.status, row.next_at, row.last_error = "pending", now + timedelta(seconds=later), str(error)[:300]
            outcome = "retry"
        else:
            row.status, row.last_error = "failed", str(error)[:300]
            outcome = "failed"
        row.updated_at = now
    if later is not None:
        events.enqueue(app.config, [delivery_id], later)
    log.info("notification delivery %s: %s", delivery_id, outcome)
    return outcome


# -- the sweeper ----------------------------------------------------------------------------
def sweep(app: Any | None = None) -> int:
    """Enqueue pending deliveries whose job was lost; release those a dead worker left sending."""
    app = app or get_app()
    with app.app_context():
        try:
            now = utcnow()
            grace = timedelta(seconds=get_settings(app.config).pending_grace)
            with db.transaction() as s:
                s.execute(update(NotifyDelivery).where(
                    NotifyDelivery.status == "sending", NotifyDelivery.updated_at <= now - SENDING_LEASE,
                ).values(status="pending", next_at=now, updated_at=now).execution_options(synchronize_session=False))
                ids = list(s.scalars(select(NotifyDelivery.id).where(
                    NotifyDelivery.status == "pending", NotifyDelivery.next_at <= now - grace,
                ).order_by(NotifyDelivery.id).limit(500)))
            return events.enqueue(app.config, ids) if ids else 0
        finally:
            db.session.remove()


# -- once a day -----------------------------------------------------------------------------
def beijing_now() -> datetime:
    from datetime import UTC

    return datetime.now(UTC).astimezone(BEIJING)


def schedule_daily(app: Any) -> dict[str, int] | None:
    """The digest and the credential alerts, once per Beijing day after ``DAILY_AT``."""
    from hub.queue import get_redis

    now = beijing_now()
    if now.time() < DAILY_AT:
        return None
    key = DAY_KEY.format(queue=app.config.get("HUB_QUEUE", "hub"), day=now.date().isoformat())
    if not get_redis(app.config).set(key, "1", nx=True, ex=2 * 86400):
        return None
    return daily(app, now.date().isoformat())


def daily(app: Any, day: str) -> dict[str, int]:
    with app.app_context():
        token = audit.current_actor.set(audit.Actor.system("notify"))
        try:
            return {"digests": digest(day), "credentials": credentials_due()}
        finally:
            audit.current_actor.reset(token)
            db.session.remove()


def digest(day: str) -> int:
    """One message a day: each person's held e-mail deliveries become one e-mail to their inbox page."""
    with db.transaction() as s:
        held = list(s.scalars(select(NotifyDelivery).where(NotifyDelivery.status == "held")
                              .order_by(NotifyDelivery.id)))
        by_user: dict[tuple[int, int], list[NotifyDelivery]] = defaultdict(list)
        for d in held:
            if d.user_id is not None:
                by_user[(d.user_id, d.channel_id)].append(d)
        link = events.absolute(events.hub_path("web.notify.inbox_page"))
        ids = []
        for (uid, cid), rows in by_user.items():
            lines = [r.text.partition("\n")[0] for r in rows]
            body = "；".join(lines[:8]) + ("……" if len(lines) > 8 else "")
            key = f"digest:{day}|u{uid}|{cid}"
            if s.scalar(select(NotifyDelivery.id).where(NotifyDelivery.key == key)) is None:
                row = NotifyDelivery(key=key, channel_id=cid, user_id=uid, kind="digest", link=link,
                                     text=f"今日通知汇总：共 {len(rows)} 条\n{body}"[:500], status="pending",
                                     next_at=utcnow())
                s.add(row)
                s.flush()
                ids.append(row.id)
            for r in rows:
                r.status, r.updated_at = "digested", utcnow()
    if ids:
        events.enqueue(dict(get_app().config), ids)
    return len(ids)


def credentials_due() -> int:
    """An alert to the unit's admins for each credential past its rotation age (once per version)."""
    n = 0
    with db.transaction() as s:
        limit = utcnow() - timedelta(days=max_age_days())
        rows = s.execute(select(Credential.id, Credential.version, Account.name, Account.unit_id)
                         .join(Account, Account.id == Credential.account_id)
                         .where(Credential.changed_at < limit, Account.status == "active")).all()
        for cid, version, name, unit_id in rows:
            events.credential_due(s, f"credential:{cid}:{version}", name, unit_id)
            n += 1
        # Rotations asked for other reasons (a user who knew the password was disabled, ...).
        tasks = s.execute(select(RotationTask.id, Account.name, Account.unit_id)
                          .join(Account, Account.id == RotationTask.account_id)
                          .where(RotationTask.status == "open", Account.status == "active")).all()
        for tid, name, unit_id in tasks:
            events.credential_due(s, f"rotation:{tid}", name, unit_id)
            n += 1
    return n
