"""Reconciliation: ask the platform what really happened, then settle the dispatch.

A dispatch is reconciled when

* a publish call's outcome is unknown (``unconfirmed``: timeout or connection dropped after
  the request was sent, a crashed adapter, a worker that died holding it — see ``recover``);
* it was submitted and the platform is still publishing (``sending`` at stage ``submitted``:
  a status poll);
* it failed: reconciliation confirms the platform holds nothing before an admin may retry it.

The adapter's ``find`` looks for the dispatch among the account's publications and drafts, by the
references recorded at its checkpoints (``draft_ref``, ``platform_ref``) and by its content (WeChat:
its articles' titles and authors; Weibo: its text; the website: its key). Outcomes:

* the platform holds the publication → ``published``;
* a draft of this dispatch exists (a lost ``draft/add`` answer, or the submit never went out)
  → back to ``pending`` *resuming from that draft*, so the retry never makes a second one;
  extra drafts of the same dispatch are deleted;
* nothing at all, and no submit can have gone out → ``pending`` (requeued automatically);
* nothing, but a submit may have gone out (stage ``submitting``) → still ``unconfirmed``,
  asked again shortly: the platform lists a publication only once it is done;
* the platform cannot be asked → still ``unconfirmed`` with the reason, asked again with
  backoff; after ``HUB_UNCONFIRMED_ALERT`` (default 120 s) the unit's admins are alerted (once).
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, timedelta
from typing import Any

from sqlalchemy import or_, select, update

from adapters.base import Adapter, Lookup, LostClaim, PlatformError
from adapters.registry import UnknownPlatform
from hub import audit
from hub.accounts.service import decrypt_credentials
from hub.config import get_settings
from hub.db import db
from hub.dispatch import queueing, state
from hub.dispatch.holder import Holder, lease_seconds, make_adapter, platform_rate
from hub.dispatch.publication import build_publication
from hub.dispatch.state import MAX_ATTEMPTS, POLL_DELAY, attempts_since_retry, finish_attempt, new_attempt
from hub.models import Dispatch, DispatchAttempt, RoleGrant, User, utcnow
from hub.models.states import DispatchStatus
from hub.notify import events as notify
from hub.runtime import get_app

log = logging.getLogger(__name__)

#: Stages after which "nothing found" does not prove absence (a submit may be in flight).
UNSAFE_STAGES = ("submitting",)
#: Stop asking on a schedule after this long (the admins were alerted; the page shows the reason).
GIVE_UP_AFTER = 24 * 3600.0


def alert_after(app: Any) -> float:
    """An unconfirmed dispatch older than this alerts the unit's admins (once)."""
    return get_settings(app.config).unconfirmed_alert


def _recheck_delay(d: Dispatch) -> float:
    """How soon to ask again: quickly at first, then less often."""
    age = (utcnow() - (d.unconfirmed_since or utcnow())).total_seconds()
    if age < 30:
        return 2.0
    if age < 300:
        return 10.0
    return 60.0


def _poll_delay(d: Dispatch) -> float:
    """A platform still publishing is asked every 5 s at first, then less often (reviews can take hours)."""
    age = (utcnow() - (d.created_at or utcnow())).total_seconds()
    if age < 120:
        return float(POLL_DELAY)
    if age < 1800:
        return 30.0
    return 300.0


def reconcile_dispatch(dispatch_id: int) -> str:
    """RQ job (ids only): reconcile one dispatch with its platform."""
    app = get_app()
    with app.app_context():
        token = audit.current_actor.set(audit.Actor.system("reconciler"))
        try:
            return _reconcile(app, dispatch_id)
        finally:
            audit.current_actor.reset(token)
            db.session.remove()


def _reconcilable(d: Dispatch) -> str | None:
    """Which kind of reconciliation ``d`` needs now, or None."""
    if d.status == "unconfirmed":
        return "reconcile"
    if d.status == "sending" and d.stage == "submitted" and d.platform_ref:
        return "poll"
    if d.status == "failed" and d.absent_at is None:
        return "verify"
    return None


def _reconcile(app: Any, dispatch_id: int) -> str:
    now = utcnow()
    claim = uuid.uuid4().hex
    with db.transaction() as s:
        d = s.get(Dispatch, dispatch_id)
        if d is None:
            return "missing"
        kind = _reconcilable(d)
        if kind is None:
            return f"skipped:{d.status}"
        held = d.claim is not None and d.lease_until is not None and d.lease_until > now
        if held:
            return "held"
        won = s.execute(update(Dispatch).where(
            Dispatch.id == d.id, Dispatch.status == d.status,
            or_(Dispatch.claim.is_(None), Dispatch.lease_until <= now))
            .values(claim=claim, lease_until=now + timedelta(seconds=lease_seconds(app)), updated_at=now)
            .execution_options(synchronize_session=False)).rowcount  # type: ignore[attr-defined]
        if won != 1:
            return "lost-race"
        s.refresh(d)
        attempt = new_attempt(s, d, "poll" if kind == "poll" else "reconcile")
        attempt_id = attempt.id
        account = d.account
        pub = build_publication(s, d)
        since = d.created_at.replace(tzinfo=UTC).timestamp() - 600 if d.created_at else 0.0
        refs = {"draft_ref": d.draft_ref, "platform_ref": d.platform_ref}
        platform = account.platform
        adapter: Adapter | None = None
        problem = None
        try:
            creds = decrypt_credentials(account, app.extensions["hub_vault"])
            holder = Holder(app, dispatch_id, claim, platform, platform_rate(app, platform))
            adapter = make_adapter(app, account, creds, holder)
            del creds
        except UnknownPlatform as exc:
            problem = str(exc)
        except Exception as exc:  # vault locked / tampered
            problem = "凭据不可用：" + (getattr(exc, "message", None) or "无法解密账号凭据")
    if adapter is None or not adapter.can_find and kind != "poll":
        return _cannot_ask(app, dispatch_id, claim, attempt_id, kind,
                           problem or "该平台不支持查询已发布内容")
    try:
        lookup = adapter.find(pub, since=since, draft_ref=refs["draft_ref"], platform_ref=refs["platform_ref"])
    except LostClaim:
        with db.transaction() as s:
            finish_attempt(s, attempt_id, "lost", "已由其他进程接管", "lease")
        return "lost"
    except PlatformError as exc:
        return _cannot_ask(app, dispatch_id, claim, attempt_id, kind, exc.message, exc.code)
    except Exception as exc:
        log.exception("reconciliation crashed on dispatch %s", dispatch_id)
        return _cannot_ask(app, dispatch_id, claim, attempt_id, kind, f"核实时出现内部错误（{type(exc).__name__}）")
    extra = lookup.drafts[1:]
    if extra and hasattr(adapter, "delete_draft"):
        for media_id in extra:  # orphan drafts of the same dispatch: tidy up, keep the newest
            try:
                adapter.delete_draft(media_id)
            except (PlatformError, LostClaim):
                pass
    return _apply(app, dispatch_id, claim, attempt_id, kind, lookup)


def _apply(app: Any, dispatch_id: int, claim: str, attempt_id: int, kind: str, lookup: Lookup) -> str:
    later: tuple[str, float] | None = None
    with db.transaction() as s:
        d = s.get(Dispatch, dispatch_id)
        assert d is not None
        s.refresh(d)
        if d.claim != claim:
            finish_attempt(s, attempt_id, "lost", "已由其他进程接管", "lease")
            return "lost"
        post, account = d.post, d.account
        now = utcnow()
        d.claim, d.lease_until = None, None
        summary_detail = {"post_id": post.id, "kind": kind, "drafts": len(lookup.drafts),
                          "in_progress": lookup.in_progress}
        if lookup.published is not None:
            was = d.status
            state.mark_published(s, d, lookup.published, "reconciled")
            finish_attempt(s, attempt_id, "published", "平台上已有该发布", "", url=d.url)
            outcome = "published" if was != "failed" else "published-after-failure"
        elif lookup.failed is not None:
            reason = lookup.failed
            if d.status != DispatchStatus.FAILED:
                state.move(d, DispatchStatus.FAILED)
                d.error = reason
                audit.record(s, "dispatch.failed", object_type="dispatch", object_id=d.id, unit=post.unit,
                             summary=f"发布到「{account.name}」：{reason}", details={**summary_detail,
                                                                                "code": "platform_failed"})
            d.absent_at, d.check_at, d.stage = now, None, None
            finish_attempt(s, attempt_id, "failed", reason, "platform_failed")
            outcome = "failed"
        elif lookup.in_progress:
            if d.status == DispatchStatus.UNCONFIRMED and d.platform_ref:
                # We know its publish id: it is simply still publishing.
                state.move(d, DispatchStatus.SENDING)
                d.stage, d.unconfirmed_since = "submitted", None
            d.error = lookup.note or "平台正在处理发布，稍后确认结果"
            delay = _poll_delay(d)
            d.check_at = now + timedelta(seconds=delay)
            later = (queueing.RECONCILE, delay)
            finish_attempt(s, attempt_id, "waiting", d.error, "in_progress")
            outcome = "waiting"
        elif kind == "verify":
            d.absent_at, d.check_at = now, None
            if lookup.drafts:
                d.draft_ref, d.stage = lookup.drafts[0], "draft_added"
            finish_attempt(s, attempt_id, "absent", "已核实：平台上没有该发布，可以重试", "absent")
            audit.record(s, "dispatch.verified_absent", object_type="dispatch", object_id=d.id, unit=post.unit,
                         summary=f"已核实「{account.name}」上没有该发布", details=summary_detail)
            return "absent"
        elif lookup.drafts or d.stage not in UNSAFE_STAGES:
            # Known not to have been published: requeue, resuming from our draft if there is one.
            if lookup.drafts:
                d.draft_ref, d.stage = lookup.drafts[0], "draft_added"
            else:
                d.draft_ref, d.stage = None, None
            d.platform_ref = None
            d.absent_at = now
            if attempts_since_retry(s, d) >= MAX_ATTEMPTS:
                state.mark_failed(d, f"已尝试 {d.attempts} 次仍未成功：{d.error or ''}".rstrip("："), verify=False)
                finish_attempt(s, attempt_id, "failed", d.error, "max_attempts")
                audit.record(s, "dispatch.failed", object_type="dispatch", object_id=d.id, unit=post.unit,
                             summary=f"发布到「{account.name}」：{d.error}",
                             details={**summary_detail, "code": "max_attempts"})
                state.settle_post(s, post)
                return "failed"
            state.requeue(d, "已核实平台上没有该发布，自动重新发送" + ("（沿用已有草稿）" if lookup.drafts else ""))
            later = (queueing.PUBLISH, 0)
            finish_attempt(s, attempt_id, "requeued", d.error, "absent", draft_ref=d.draft_ref)
            audit.record(s, "dispatch.requeued", object_type="dispatch", object_id=d.id, unit=post.unit,
                         summary=f"核实后重新发送到「{account.name}」", details=summary_detail)
            outcome = "requeued"
        else:
            # A submit may have gone out and the platform does not list it yet: ask again soon.
            d.error = "已提交到平台但尚未查到发布结果，正在核实"
            outcome = _wait_or_alert(app, s, d, attempt_id, d.error, "not_listed_yet")
            later = (queueing.RECONCILE, (d.check_at - now).total_seconds()) if d.check_at else None
        if outcome in ("published", "published-after-failure", "requeued", "failed"):
            audit.record(s, "dispatch.reconciled", object_type="dispatch", object_id=d.id, unit=post.unit,
                         summary=f"与「{account.name}」核实：" + {
                             "published": "平台上已有该发布", "published-after-failure": "平台上已有该发布",
                             "requeued": "平台上没有该发布", "failed": "平台发布失败"}[outcome],
                         details={**summary_detail, "outcome": outcome})
        state.settle_post(s, post)
    if later:
        queueing.enqueue(app.config, later[0], dispatch_id, later[1])
    return outcome


def _wait_or_alert(app: Any, s: Any, d: Dispatch, attempt_id: int, reason: str, code: str) -> str:
    """Keep ``d`` unconfirmed with ``reason``; schedule the next check; alert the admins once."""
    now = utcnow()
    d.unconfirmed_since = d.unconfirmed_since or now
    age = (now - d.unconfirmed_since).total_seconds()
    d.check_at = now + timedelta(seconds=_recheck_delay(d)) if age < GIVE_UP_AFTER else None
    finish_attempt(s, attempt_id, "unconfirmed", reason, code)
    if age >= alert_after(app) and d.alerted_at is None and d.status == "unconfirmed":
        alert_admins(s, d, reason)
    return "unconfirmed"


def alert_admins(s: Any, d: Dispatch, reason: str) -> None:
    """Tell the unit's admins that a dispatch cannot be confirmed (audit entry + attention list)."""
    post, account = d.post, d.account
    admins = s.scalars(select(User.username).join(RoleGrant, RoleGrant.user_id == User.id).where(
        RoleGrant.role == "admin", RoleGrant.unit_id == account.unit_id)).all()
    d.alerted_at = utcnow()
    audit.record(s, "dispatch.alert", object_type="dispatch", object_id=d.id, unit=post.unit,
                 summary=f"发布到「{account.name}」的结果无法核实，请管理员处理：{reason}",
                 details={"post_id": post.id, "reason": reason, "admins": sorted(admins)})
    notify.dispatch_unconfirmed(s, d.id, post, account.name, account.unit_id)
    log.warning("dispatch %s unconfirmed: admins %s alerted", d.id, ", ".join(sorted(admins)) or "(none)")


def _cannot_ask(app: Any, dispatch_id: int, claim: str, attempt_id: int, kind: str, message: str,
                code: Any = "cannot_ask") -> str:
    later: float | None = None
    with db.transaction() as s:
        d = s.get(Dispatch, dispatch_id)
        assert d is not None
        s.refresh(d)
        if d.claim != claim:
            finish_attempt(s, attempt_id, "lost", "已由其他进程接管", "lease")
            return "lost"
        d.claim, d.lease_until = None, None
        reason = f"无法向平台核实：{message}"
        if kind == "verify":
            d.check_at = utcnow() + timedelta(seconds=60)
            finish_attempt(s, attempt_id, "error", reason, code)
            later = 60.0
            outcome = "error"
        elif kind == "poll":
            d.check_at = utcnow() + timedelta(seconds=POLL_DELAY * 2)
            finish_attempt(s, attempt_id, "error", reason, code)
            later = POLL_DELAY * 2
            outcome = "error"
        else:
            d.error = reason
            outcome = _wait_or_alert(app, s, d, attempt_id, reason, str(code))
            later = (d.check_at - utcnow()).total_seconds() if d.check_at else None
    if later is not None:
        queueing.enqueue(app.config, queueing.RECONCILE, dispatch_id, max(0.5, later))
    return outcome


# -- recovery (run by the sweeper) --------------------------------------------------------
def recover(app: Any) -> int:
    """Find what the queue may have lost and act on it; returns how many jobs were enqueued.

    * ``sending`` held by a worker whose lease ran out (the worker died): → ``unconfirmed``,
      then reconciled — never resent blindly;
    * ``unconfirmed``, submitted-and-polling and failed-but-unverified dispatches whose check is
      due: reconcile (the job that should have done it may have been lost with Redis).
    """
    now = utcnow()
    enqueued = 0
    s = db.session()
    stale = s.execute(select(Dispatch.id, Dispatch.claim).where(
        Dispatch.status == "sending", Dispatch.claim.is_not(None), Dispatch.lease_until < now).limit(200)).all()
    s.rollback()
    for did, old_claim in stale:
        with db.transaction() as s2:
            d = s2.get(Dispatch, did)
            if d is None or d.status != "sending" or d.claim != old_claim or not d.lease_until \
                    or d.lease_until >= utcnow():
                continue
            attempt = new_attempt(s2, d, "recover")
            for running in s2.scalars(select(DispatchAttempt).where(
                    DispatchAttempt.dispatch_id == d.id, DispatchAttempt.outcome == "running",
                    DispatchAttempt.id != attempt.id)):
                finish_attempt(s2, running.id, "lost", "处理该任务的工作进程已中断", "worker_lost")
            reason = "处理该任务的工作进程已中断，正在向平台核实结果"
            state.mark_unconfirmed(s2, d, reason, delay=0)
            finish_attempt(s2, attempt.id, "unconfirmed", reason, "worker_lost")
            audit.record(s2, "dispatch.recovered", object_type="dispatch", object_id=d.id, unit=d.post.unit,
                         summary=f"发布到「{d.account.name}」的工作进程中断，转入核实",
                         details={"post_id": d.post_id, "stage": d.stage or "", "attempt": d.attempts})
        if queueing.enqueue(app.config, queueing.RECONCILE, did):
            enqueued += 1
    due = s.scalars(select(Dispatch.id).where(
        Dispatch.check_at.is_not(None), Dispatch.check_at <= now,
        Dispatch.status.in_(("unconfirmed", "sending", "failed")),
        or_(Dispatch.claim.is_(None), Dispatch.lease_until < now)).limit(500)).all()
    s.rollback()
    if due:
        # Push the safety net forward so a slow queue is not flooded with the same job.
        with db.transaction() as s3:
            s3.execute(update(Dispatch).where(Dispatch.id.in_(due))
                       .values(check_at=now + timedelta(seconds=30))
                       .execution_options(synchronize_session=False))
    for did in due:
        if queueing.enqueue(app.config, queueing.RECONCILE, did):
            enqueued += 1
    return enqueued
