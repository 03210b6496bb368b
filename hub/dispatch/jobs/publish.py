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
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from adapters.base import Adapter, LostClaim, PlatformError, PublishResult
from adapters.registry import UnknownPlatform
from hub import audit
from hub.accounts.service import decrypt_credentials
from hub.approval.decisions import approval_set_valid
from hub.db import db
from hub.dispatch import mass_quota, media, queueing, state
from hub.dispatch.holder import Holder, lease_seconds, make_adapter, platform_rate
from hub.dispatch.pauses import publishing_paused
from hub.dispatch.publication import build_publication
from hub.models import DISPATCH_TERMINAL, Account, Dispatch, Media, utcnow
from hub.models.states import DispatchStatus
from hub.posts import rendering
from hub.posts.service import revision_fields
from hub.posts.video import file_sha256, video_file
from hub.runtime import get_app

log = logging.getLogger(__name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")
BUSY_ACCOUNT_DELAY = 2
#: The platform of manual-publish accounts (adapters/manual.py).
MANUAL = "manual"


def _next_day_shanghai() -> datetime:
    now = datetime.now(SHANGHAI)
    nxt = (now + timedelta(days=1)).replace(hour=0, minute=5, second=0, microsecond=0)
    return nxt.astimezone(UTC).replace(tzinfo=None)


def retry_at(error: PlatformError, attempt: int) -> datetime:
    """When a retryable or quota error may be tried again: the time the platform named
    (``retry_after``, e.g. Weibo's hourly window), the next day for a daily quota, else backoff."""
    if error.retry_after is not None:
        return utcnow() + timedelta(seconds=max(1.0, float(error.retry_after)))
    if error.quota:
        return _next_day_shanghai()
    return utcnow() + timedelta(seconds=backoff_seconds(attempt))


def backoff_seconds(attempt: int) -> float:
    """5 s, 10 s, 20 s, … capped at 5 minutes."""
    return float(min(300, 5 * 2 ** max(0, attempt - 1)))


def rendering_unchanged(app: Any, s: Any, d: Dispatch) -> tuple[bool, str]:
    """What the account would be sent now must be what the reviewers approved (docs/design.md §4.1):
    an account setting or a platform rule that changed since approval refuses the send."""
    rev, account = d.revision, d.account
    approved = (rev.renderings or {}).get(str(account.id))
    if not rev.renderings:
        return True, ""  # a revision from before renderings were stored: its hash covers the fields
    cid = rev.cover_id or account.default_cover_id
    try:
        now = rendering.render(revision_fields(rev), account, s.get(Media, cid) if cid else None,
                               app.extensions.get("hub_vault"))
    except Exception as exc:  # an unknown platform, a broken adapter: never send unchecked content
        return False, f"无法生成发往「{account.name}」的内容（{type(exc).__name__}）"
    if not rendering.same_fields(approved, now):
        return False, f"发往「{account.name}」的内容与审核通过的不一致（账号设置或平台规则已变化），请重新提交审核"
    return True, ""


def _video_unchanged(s: Any, d: Dispatch) -> tuple[bool, str]:
    """The video file must still be the bytes the reviewers watched: its stored hash and the hash of
    the file on disk, read again now, equal the approved revision's ``video_sha256``."""
    rev = d.revision
    if not rev.video_sha256:
        return True, ""
    m = s.get(Media, rev.video_id) if rev.video_id else None
    if m is None or m.sha256 != rev.video_sha256:
        return False, "视频与审核通过的不一致，请重新上传并提交审核"
    try:
        actual = file_sha256(video_file(m))
    except OSError:
        return False, "视频文件缺失，无法核对，请重新上传并提交审核"
    if actual != rev.video_sha256:
        return False, "视频文件的校验值与审核通过的不一致（文件已被改动），请重新上传并提交审核"
    return True, ""


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


def _publish(app: Any, dispatch_id: int) -> str:
    """Claim, check, call the adapter, settle."""
    now = utcnow()
    claim = uuid.uuid4().hex
    with db.transaction() as s:
        d = s.get(Dispatch, dispatch_id)
        if d is None:
            return "missing"
        if d.status != DispatchStatus.PENDING:
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
            Dispatch.account_id == d.account_id, Dispatch.id != d.id, Dispatch.status == DispatchStatus.SENDING,
            Dispatch.claim.is_not(None), Dispatch.lease_until > now))
        if busy:
            busy_now = True
        else:
            busy_now = False
            if not state.claim(s, d, claim, lease_seconds(app)):
                return "lost-race"
            s.refresh(d)
    if busy_now:
        queueing.enqueue(app.config, queueing.PUBLISH, dispatch_id, BUSY_ACCOUNT_DELAY)
        return "account-busy"
    with db.transaction() as s:
        d = s.get(Dispatch, dispatch_id)
        assert d is not None
        post, rev, account = d.post, d.revision, d.account
        attempt = state.new_attempt(s, d, "publish")
        attempt_id = attempt.id
        ok, reason = approval_set_valid(s, post, rev)
        if ok:
            ok, reason = rendering_unchanged(app, s, d)
        if ok:
            ok, reason = _video_unchanged(s, d)
        if not ok or account.status != "active":
            reason = reason or f"账号「{account.name}」未处于启用状态"
            state.mark_failed(d, f"拒绝发布：{reason}", verify=False, absent=True)
            state.finish_attempt(s, attempt_id, "refused", d.error, "refused")
            audit.record(s, "dispatch.refused", object_type="dispatch", object_id=d.id, unit=post.unit,
                         summary=f"拒绝发布到「{account.name}」：{reason}",
                         details={"post_id": post.id, "revision_hash": rev.hash, "reason": reason})
            state.settle_post(s, post)
            return "refused"
        if account.platform == MANUAL:  # nothing is sent by machine: an editor publishes it by hand
            state.mark_awaiting_manual(s, d)
            state.finish_attempt(s, attempt_id, "awaiting_manual", "等待手工发布", "manual")
            state.settle_post(s, post)
            return "awaiting-manual"
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
        quota_error = mass_quota.refusal(s, d, pub.variant, creds)  # 群发 quota, before any call
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
    if quota_error is not None:
        return settle(app, dispatch_id, claim, attempt_id, error=quota_error)
    del creds
    adapter.images = pub.images
    try:
        result = media.publish(adapter, pub)
    except LostClaim:
        return settle(app, dispatch_id, claim, attempt_id, lost=True)
    except PlatformError as exc:
        outcome = settle(app, dispatch_id, claim, attempt_id, error=exc)
    except Exception as exc:  # an adapter bug or a job timeout must not leave the dispatch in 'sending'
        log.exception("adapter crashed on dispatch %s", dispatch_id)
        return settle(app, dispatch_id, claim, attempt_id, error=PlatformError(
            f"适配器内部错误（{type(exc).__name__}），结果待核实", code="adapter_error", ambiguous=True))
    else:
        outcome = settle(app, dispatch_id, claim, attempt_id, result=result)
    if outcome in ("published", "published-late", "failed"):  # a cover may have become unused
        media.release_unused(adapter, holder.rate_wait)
    return outcome


def settle(app: Any, dispatch_id: int, claim: str, attempt_id: int | None, *,
           result: PublishResult | None = None, error: PlatformError | None = None,
           lost: bool = False) -> str:
    """Record the outcome of a publish run (dispatch, attempt row, audit, post) in one transaction."""
    later: tuple[str, float] | None = None
    with db.transaction() as s:
        d = s.get(Dispatch, dispatch_id)
        assert d is not None
        s.refresh(d)
        post, account = d.post, d.account
        owned = d.claim == claim and d.status == DispatchStatus.SENDING
        if not owned or lost:
            # Our lease ran out and the dispatch was taken over (reconciliation). A definitive
            # "published" is still the truth; anything else is left to the new holder.
            if result is not None and result.status == "published" and d.status not in DISPATCH_TERMINAL:
                state.mark_published(s, d, result, "late")
                state.finish_attempt(s, attempt_id, "published", "", "", url=d.url)
                state.settle_post(s, post)
                return "published-late"
            state.finish_attempt(s, attempt_id, "lost", "处理超时，已由核实流程接管", "lease")
            return "lost"
        if result is not None:
            d.platform_ref = result.platform_ref or d.platform_ref
            d.draft_ref = result.draft_ref or d.draft_ref
            if result.status == "published":
                state.mark_published(s, d, result, "publish")
                state.finish_attempt(s, attempt_id, "published", "", "", url=d.url, platform_ref=d.platform_ref)
                outcome = "published"
            else:
                state.mark_submitted(d, result.note or "平台正在处理发布，稍后确认结果")
                later = (queueing.RECONCILE, state.POLL_DELAY)
                state.finish_attempt(s, attempt_id, "submitted", d.error, "", platform_ref=d.platform_ref)
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
                state.mark_unconfirmed(s, d, error.message)
                later = (queueing.RECONCILE, state.RECONCILE_DELAY)
                action, outcome = "dispatch.unconfirmed", "unconfirmed"
            elif (error.retryable or error.quota) and state.attempts_since_retry(s, d) < state.MAX_ATTEMPTS:
                at = retry_at(error, d.attempts)
                state.mark_retry(d, error.message, at)
                details["not_before"] = at.isoformat() + "Z"
                later = (queueing.PUBLISH, max(1.0, (at - utcnow()).total_seconds()))
                action, outcome = "dispatch.retry_scheduled", "retry"
            else:
                # Reconciliation then confirms the platform holds nothing (needed before an admin retry).
                state.mark_failed(d, error.message)
                later = (queueing.RECONCILE, state.RECONCILE_DELAY)
                action, outcome = "dispatch.failed", "failed"
            state.finish_attempt(s, attempt_id, outcome, error.message, error.code)
            audit.record(s, action, object_type="dispatch", object_id=d.id, unit=post.unit,
                         summary=f"发布到「{account.name}」：{error.message}", details=details)
        state.settle_post(s, post)
    if later:
        job, delay = later
        queueing.enqueue(app.config, job, dispatch_id, delay)
    return outcome


def poll_dispatch(dispatch_id: int) -> str:
    """Ask the platform how a submitted publication is doing (same machinery as reconciliation)."""
    from hub.dispatch.jobs.reconcile import reconcile_dispatch

    return reconcile_dispatch(dispatch_id)
