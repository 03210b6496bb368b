"""Publishing: one RQ job per dispatch, carrying only the dispatch id.

The job claims the dispatch with a conditional update (pending -> sending) while no other
dispatch of the same account is being sent (per-account concurrency 1), takes a *lease*
(renewed while the platform calls go on), re-checks the approval set of the exact revision
hash, decrypts the account's credentials in this process only, calls the adapter, and
settles the dispatch and the post in one transaction with their audit entries and the
attempt's row in ``dispatch_attempts``.

Errors are classified (see ``adapters.base.PlatformError``): what is known not to have
happened is retried with backoff, a used-up daily quota waits for the next day, permanent
errors fail with a zh-CN reason, and an ambiguous failure makes the dispatch ``unconfirmed``
and schedules reconciliation (hub/dispatch/jobs/reconcile.py) — never a blind resend.

The database is the source of truth: every delayed job is also found by the sweeper
(``sweep``), so a lost enqueue, a restarted Redis or a killed worker never loses a dispatch.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from adapters.base import Adapter, LostClaim, PlatformError, Publication, PublishResult
from adapters.registry import UnknownPlatform, get_adapter
from hub import audit
from hub.accounts.service import decrypt_credentials
from hub.approval.decisions import approval_set_valid
from hub.db import db
from hub.dispatch.pauses import publishing_paused
from hub.models import DISPATCH_TERMINAL, Account, Dispatch, DispatchAttempt, Media, Post, utcnow
from hub.posts.schedule import SHANGHAI
from hub.queue import PlatformRateLimit, RedisTokenCache, get_queue, get_redis, platform_rates
from hub.runtime import get_app

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
POLL_DELAY = 5
RECONCILE_DELAY = 1
BUSY_ACCOUNT_DELAY = 2
JOB_TIMEOUT = 600


def setting(app: Any, name: str, default: float) -> float:
    """A numeric engine setting: app config, then the environment (``HUB_*``), then ``default``."""
    raw = app.config.get(name) if app is not None else None
    if raw in (None, ""):
        raw = os.environ.get(name)
    try:
        return float(raw) if raw not in (None, "") else default
    except (TypeError, ValueError):
        return default


def lease_seconds(app: Any) -> float:
    """How long a worker holds a dispatch without renewing (``HUB_DISPATCH_LEASE``, default 40 s)."""
    return max(2.0, setting(app, "HUB_DISPATCH_LEASE", 40.0))


def worker_label() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


def marker_url(source_url: str, post_id: int, dispatch_id: int) -> str:
    """The URL that marks a dispatch's publication on the platform (WeChat: content_source_url)."""
    return (source_url or f"https://hub.invalid/p/{post_id}") + f"#hub-dispatch-{dispatch_id}"


# -- queueing ----------------------------------------------------------------------------
def job_id(dispatch_id: int, attempt: int) -> str:
    return f"dispatch-{dispatch_id}-{attempt}"


def enqueue(config: dict[str, Any], func: Any, dispatch_id: int, delay: float = 0) -> bool:
    """Enqueue ``func(dispatch_id)``; False when Redis is unreachable (the sweeper catches up)."""
    try:
        q = get_queue(config)
        if delay > 0:
            q.enqueue_in(timedelta(seconds=delay), func, dispatch_id, job_timeout=JOB_TIMEOUT)
        else:
            q.enqueue(func, dispatch_id, job_timeout=JOB_TIMEOUT)
        return True
    except Exception:
        log.warning("could not enqueue %s(%s); the sweeper will retry", getattr(func, "__name__", func),
                    dispatch_id)
        return False


def enqueue_dispatches(config: dict[str, Any], dispatch_ids: list[int], delay: float = 0) -> int:
    """Put publish jobs on the queue; a lost enqueue is picked up by the sweeper."""
    return sum(1 for did in dispatch_ids if enqueue(config, publish_dispatch, did, delay))


# -- post status -------------------------------------------------------------------------
def _settle_post(session: Any, post: Post) -> None:
    """A post's status follows its dispatches; updated in the same transaction as the last one."""
    session.flush()
    statuses = session.scalars(select(Dispatch.status).where(
        Dispatch.post_id == post.id, Dispatch.revision_id == post.current_revision_id)).all()
    if not statuses or post.status not in ("publishing", "approved", "failed", "partially_published"):
        return
    if any(s not in DISPATCH_TERMINAL for s in statuses):
        if post.status in ("failed", "partially_published"):  # an admin retry is under way
            post.status = "publishing"
        return
    published = sum(1 for s in statuses if s == "published")
    new = "published" if published == len(statuses) else ("failed" if published == 0 else "partially_published")
    if new == post.status:
        return
    post.status = new
    audit.record(session, f"post.{new}", object_type="post", object_id=post.id, unit=post.unit,
                 summary={"published": "全部平台发布成功", "failed": "发布失败",
                          "partially_published": "部分平台发布成功"}[new],
                 details={"published": published, "total": len(statuses)})


def _next_day_shanghai() -> datetime:
    now = datetime.now(SHANGHAI)
    nxt = (now + timedelta(days=1)).replace(hour=0, minute=5, second=0, microsecond=0)
    return nxt.astimezone(UTC).replace(tzinfo=None)


def backoff_seconds(attempt: int) -> float:
    """5 s, 10 s, 20 s, … capped at 5 minutes."""
    return float(min(300, 5 * 2 ** max(0, attempt - 1)))


# -- the holder of a dispatch: lease renewal, rate limit, checkpoints ---------------------
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

    def checkpoint(self, stage: str, draft_ref: str | None = None, platform_ref: str | None = None) -> None:
        values: dict[str, Any] = {"stage": stage}
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
    return cls(account.api_base, creds, cache,
               before_call=holder.before_call if holder else None,
               checkpoint=holder.checkpoint if holder else None)


def platform_rate(app: Any, platform: str) -> int:
    try:
        default = get_adapter(platform).rate_per_second
    except UnknownPlatform:
        default = 10
    return platform_rates(app.config).get(platform, default)


# -- the publish job ---------------------------------------------------------------------
def publish_dispatch(dispatch_id: int) -> str:
    """RQ job: publish one dispatch (ids only)."""
    app = get_app()
    with app.app_context():
        token = audit.current_actor.set(audit.Actor.system("worker"))
        try:
            return _publish(app, dispatch_id)
        finally:
            audit.current_actor.reset(token)
            db.session.remove()


def attempts_since_retry(s: Any, d: Dispatch) -> int:
    """Publish runs since the last admin retry (the retry cap counts these)."""
    last_retry = s.scalar(select(func.max(DispatchAttempt.id)).where(
        DispatchAttempt.dispatch_id == d.id, DispatchAttempt.kind == "retry")) or 0
    return int(s.scalar(select(func.count()).select_from(DispatchAttempt).where(
        DispatchAttempt.dispatch_id == d.id, DispatchAttempt.kind == "publish",
        DispatchAttempt.id > last_retry)) or 0)


def new_attempt(s: Any, d: Dispatch, kind: str) -> DispatchAttempt:
    a = DispatchAttempt(dispatch_id=d.id, kind=kind, number=d.attempts, outcome="running",
                        worker=worker_label(), details={})
    s.add(a)
    s.flush()
    return a


def finish_attempt(s: Any, attempt_id: int | None, outcome: str, message: str = "", code: Any = "",
                   **details: Any) -> None:
    if attempt_id is None:
        return
    a = s.get(DispatchAttempt, attempt_id)
    if a is None:
        return
    a.outcome, a.message, a.code = outcome, message or "", str(code or "")[:40]
    a.finished_at = utcnow()
    if details:
        a.details = {**(a.details or {}), **{k: v for k, v in details.items() if v is not None}}


def _publish(app: Any, dispatch_id: int) -> str:
    now = utcnow()
    claim = uuid.uuid4().hex
    with db.transaction() as s:
        d = s.get(Dispatch, dispatch_id)
        if d is None:
            return "missing"
        if d.status != "pending":
            return f"skipped:{d.status}"
        if d.not_before and d.not_before > now:
            return "not-due"
        if publishing_paused(s, d.post.unit_id):  # held until the unit (or an ancestor) resumes (issue 3)
            return "paused"
        if d.account.status == "suspended":  # held until the account is resumed; closed still fails below
            return "account-suspended"
        # Per-account concurrency 1: lock the account row (PostgreSQL; SQLite's writer lock already
        # serialises) and refuse while another dispatch of the account is held by a live worker.
        s.execute(select(Account.id).where(Account.id == d.account_id).with_for_update())
        busy = s.scalar(select(func.count()).select_from(Dispatch).where(
            Dispatch.account_id == d.account_id, Dispatch.id != d.id, Dispatch.status == "sending",
            Dispatch.claim.is_not(None), Dispatch.lease_until > now))
        if busy:
            busy_now = True
        else:
            busy_now = False
            won = s.execute(update(Dispatch).where(Dispatch.id == d.id, Dispatch.status == "pending")
                            .values(status="sending", attempts=Dispatch.attempts + 1, updated_at=now,
                                    claim=claim, lease_until=now + timedelta(seconds=lease_seconds(app)),
                                    check_at=None)
                            .execution_options(synchronize_session=False)).rowcount  # type: ignore[attr-defined]
            if won != 1:
                return "lost-race"
            s.refresh(d)
    if busy_now:
        enqueue(app.config, publish_dispatch, dispatch_id, BUSY_ACCOUNT_DELAY)
        return "account-busy"
    with db.transaction() as s:
        d = s.get(Dispatch, dispatch_id)
        assert d is not None
        post, rev, account = d.post, d.revision, d.account
        attempt = new_attempt(s, d, "publish")
        attempt_id = attempt.id
        ok, reason = approval_set_valid(s, post, rev)
        if not ok or account.status != "active":
            reason = reason or f"账号「{account.name}」未处于启用状态"
            d.status, d.error, d.claim, d.lease_until = "failed", f"拒绝发布：{reason}", None, None
            d.absent_at = utcnow()
            finish_attempt(s, attempt_id, "refused", d.error, "refused")
            audit.record(s, "dispatch.refused", object_type="dispatch", object_id=d.id, unit=post.unit,
                         summary=f"拒绝发布到「{account.name}」：{reason}",
                         details={"post_id": post.id, "revision_hash": rev.hash, "reason": reason})
            _settle_post(s, post)
            return "refused"
        audit.record(s, "dispatch.attempt", object_type="dispatch", object_id=d.id, unit=post.unit,
                     summary=f"第 {d.attempts} 次发布到「{account.name}」",
                     details={"post_id": post.id, "revision_hash": rev.hash, "attempt": d.attempts,
                              "account_id": account.id, "resume_stage": d.stage or ""})
        pub = build_publication(s, d)
        platform = account.platform
        try:
            creds = decrypt_credentials(account, app.extensions["hub_vault"])
            creds_error = None
        except Exception as exc:  # locked vault, missing key, tampered row
            creds, creds_error = {}, getattr(exc, "message", None) or "无法解密账号凭据"
        try:
            holder = Holder(app, dispatch_id, claim, platform, platform_rate(app, platform))
            adapter: Adapter | None = make_adapter(app, account, creds, holder)
            adapter_error = None
        except UnknownPlatform as exc:
            adapter, adapter_error = None, str(exc)
    if creds_error:
        return settle(app, dispatch_id, claim, attempt_id,
                      error=PlatformError(f"凭据不可用：{creds_error}", code="vault"))
    if adapter is None:
        return settle(app, dispatch_id, claim, attempt_id,
                      error=PlatformError(adapter_error or "没有可用的适配器", code="no_adapter"))
    del creds
    try:
        result = adapter.publish(pub)
    except LostClaim:
        return settle(app, dispatch_id, claim, attempt_id, lost=True)
    except PlatformError as exc:
        return settle(app, dispatch_id, claim, attempt_id, error=exc)
    except Exception as exc:  # an adapter bug or a job timeout must not leave the dispatch in 'sending'
        log.exception("adapter crashed on dispatch %s", dispatch_id)
        return settle(app, dispatch_id, claim, attempt_id, error=PlatformError(
            f"适配器内部错误（{type(exc).__name__}），结果待核实", code="adapter_error", ambiguous=True))
    return settle(app, dispatch_id, claim, attempt_id, result=result)


def build_publication(s: Any, d: Dispatch) -> Publication:
    """What the adapter needs to publish (or recognise) dispatch ``d``: content, cover, marker."""
    post, rev, account = d.post, d.revision, d.account
    cover_id = rev.cover_id or account.default_cover_id
    cover = s.get(Media, cover_id) if cover_id else None
    variant = (rev.variants or {}).get(account.platform) or {}
    return Publication(
        dispatch_id=d.id, title=rev.title, content=rev.content, summary=rev.summary, author=rev.author,
        source_url=rev.source_url, cover=cover.data if cover else b"", cover_mime=cover.mime if cover else "",
        marker_url=marker_url(rev.source_url, post.id, d.id), variant=variant,
        resume={"stage": d.stage, "draft_ref": d.draft_ref, "platform_ref": d.platform_ref},
        link=rev.source_url or "",
    )


def mark_published(s: Any, d: Dispatch, result: PublishResult, how: str) -> None:
    """Settle ``d`` as published (inside the caller's transaction) with its audit entry."""
    post, account = d.post, d.account
    d.platform_ref = result.platform_ref or d.platform_ref
    d.draft_ref = result.draft_ref or d.draft_ref
    d.status, d.error = "published", None
    d.url = result.url or d.url
    d.article_id = result.article_id or d.article_id
    d.published_at = d.published_at or utcnow()
    d.stage, d.claim, d.lease_until, d.check_at = "published", None, None, None
    d.unconfirmed_since = None
    audit.record(s, "dispatch.published", object_type="dispatch", object_id=d.id, unit=post.unit,
                 summary=f"已发布到「{account.name}」" + ("（经核实）" if how == "reconciled" else ""),
                 details={"post_id": post.id, "url": d.url, "platform_ref": d.platform_ref,
                          "article_id": d.article_id, "revision_hash": d.revision.hash, "how": how})


def mark_unconfirmed(s: Any, d: Dispatch, reason: str, delay: float = RECONCILE_DELAY) -> None:
    now = utcnow()
    d.status, d.error = "unconfirmed", reason
    d.claim, d.lease_until = None, None
    d.unconfirmed_since = d.unconfirmed_since or now
    d.check_at = now + timedelta(seconds=delay)


def settle(app: Any, dispatch_id: int, claim: str, attempt_id: int | None, *,
           result: PublishResult | None = None, error: PlatformError | None = None,
           lost: bool = False) -> str:
    """Record the outcome of a publish run (dispatch, attempt row, audit, post) in one transaction."""
    from hub.dispatch.jobs.reconcile import reconcile_dispatch

    later: tuple[Any, float] | None = None
    with db.transaction() as s:
        d = s.get(Dispatch, dispatch_id)
        assert d is not None
        s.refresh(d)
        post, account = d.post, d.account
        owned = d.claim == claim and d.status == "sending"
        if not owned or lost:
            # Our lease ran out and the dispatch was taken over (reconciliation). A definitive
            # "published" is still the truth; anything else is left to the new holder.
            if result is not None and result.status == "published" and d.status not in DISPATCH_TERMINAL:
                mark_published(s, d, result, "late")
                finish_attempt(s, attempt_id, "published", "", "", url=d.url)
                _settle_post(s, post)
                return "published-late"
            finish_attempt(s, attempt_id, "lost", "处理超时，已由核实流程接管", "lease")
            return "lost"
        if result is not None:
            d.platform_ref = result.platform_ref or d.platform_ref
            d.draft_ref = result.draft_ref or d.draft_ref
            if result.status == "published":
                mark_published(s, d, result, "publish")
                finish_attempt(s, attempt_id, "published", "", "", url=d.url, platform_ref=d.platform_ref)
                outcome = "published"
            else:
                d.error = "平台正在处理发布，稍后确认结果"
                d.stage, d.claim, d.lease_until = "submitted", None, None
                d.check_at = utcnow() + timedelta(seconds=POLL_DELAY)
                later = (reconcile_dispatch, POLL_DELAY)
                finish_attempt(s, attempt_id, "submitted", d.error, "", platform_ref=d.platform_ref)
                audit.record(s, "dispatch.submitted", object_type="dispatch", object_id=d.id, unit=post.unit,
                             summary=f"已提交到「{account.name}」，等待平台处理",
                             details={"post_id": post.id, "platform_ref": d.platform_ref})
                outcome = "submitted"
        else:
            assert error is not None
            if error.draft_ref:
                d.draft_ref = error.draft_ref
            details = {"post_id": post.id, "code": str(error.code), "attempt": d.attempts}
            if error.ambiguous:
                mark_unconfirmed(s, d, error.message)
                later = (reconcile_dispatch, RECONCILE_DELAY)
                action, outcome = "dispatch.unconfirmed", "unconfirmed"
            elif (error.retryable or error.quota) and attempts_since_retry(s, d) < MAX_ATTEMPTS:
                d.status, d.error, d.claim, d.lease_until = "pending", error.message, None, None
                if error.quota:
                    d.not_before = _next_day_shanghai()
                else:
                    d.not_before = utcnow() + timedelta(seconds=backoff_seconds(d.attempts))
                details["not_before"] = d.not_before.isoformat() + "Z"
                later = (publish_dispatch, max(1.0, (d.not_before - utcnow()).total_seconds()))
                action, outcome = "dispatch.retry_scheduled", "retry"
            else:
                d.status, d.error, d.claim, d.lease_until = "failed", error.message, None, None
                # Reconciliation then confirms the platform holds nothing (needed before an admin retry).
                d.check_at = utcnow() + timedelta(seconds=RECONCILE_DELAY)
                later = (reconcile_dispatch, RECONCILE_DELAY)
                action, outcome = "dispatch.failed", "failed"
            finish_attempt(s, attempt_id, outcome, error.message, error.code)
            audit.record(s, action, object_type="dispatch", object_id=d.id, unit=post.unit,
                         summary=f"发布到「{account.name}」：{error.message}", details=details)
        _settle_post(s, post)
    if later:
        func_, delay = later
        enqueue(app.config, func_, dispatch_id, delay)
    return outcome


def poll_dispatch(dispatch_id: int) -> str:
    """Ask the platform how a submitted publication is doing (same machinery as reconciliation)."""
    from hub.dispatch.jobs.reconcile import reconcile_dispatch

    return reconcile_dispatch(dispatch_id)


# -- the sweeper -------------------------------------------------------------------------
def _chain_stragglers(app: Any) -> None:
    """Chain audit entries whose writer died between its commit and sealing (PostgreSQL queue)."""
    w = audit.queue_in_use(db.session())
    if w is None:
        return
    try:
        audit.settle(db.engine, w)
    except Exception:  # the next sweep, writer or reader chains them
        log.warning("could not chain queued audit entries", exc_info=True)


def sweep() -> int:
    """Re-enqueue what is due: pending dispatches (lost enqueues, scheduled posts, retries), and
    recover / reconcile the rest (see ``reconcile.recover``). Runs every few seconds in a worker."""
    from hub.dispatch.jobs.reconcile import recover

    app = get_app()
    with app.app_context():
        try:
            _chain_stragglers(app)
            now = utcnow()
            s = db.session()
            ids = s.scalars(select(Dispatch.id).where(
                Dispatch.status == "pending",
                (Dispatch.not_before.is_(None)) | (Dispatch.not_before <= now),
                Dispatch.updated_at <= now - timedelta(seconds=setting(app, "HUB_PENDING_GRACE", 20.0)),
            ).limit(500)).all()
            s.rollback()
            # Scheduled posts whose time has come move to publishing.
            with db.transaction() as s2:
                token = audit.current_actor.set(audit.Actor.system("scheduler"))
                try:
                    due = s2.scalars(select(Post).where(Post.status == "approved", Post.publish_at <= now)).all()
                    for post in due:
                        pending = s2.scalars(select(Dispatch.id).where(
                            Dispatch.post_id == post.id, Dispatch.revision_id == post.current_revision_id)).all()
                        if pending:
                            post.status = "publishing"
                            audit.record(s2, "post.publishing", object_type="post", object_id=post.id,
                                         unit=post.unit, summary="到达定时发布时间，开始发布")
                            ids = list(ids) + list(pending)
                finally:
                    audit.current_actor.reset(token)
            n = enqueue_dispatches(app.config, sorted(set(ids)))
            return n + recover(app)
        finally:
            db.session.remove()
