"""The dispatch state machine: every move of a dispatch, and the post status that follows them.

One dispatch is one revision of a post going to one account. Every status change of a
dispatch goes through :func:`move`, which checks it against ``hub.models.states.DISPATCH``
(docs/design.md §10.3) before anything is written; the post's status follows its
dispatches through :func:`settle_post` in the same transaction (§10.2). The jobs (publish,
reconcile, withdraw), the services (approval, scheduling, withdraw, retry, suspension) and
the WeChat callback all call these functions; none of them writes ``Dispatch.status`` itself.

Nothing here touches the queue directly: what a move makes due is queued after the commit
by hub/dispatch/queueing.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from adapters.base import PublishResult
from hub import audit
from hub.dispatch import queueing
from hub.dispatch.holder import worker_label
from hub.models import DISPATCH_TERMINAL, Dispatch, DispatchAttempt, Post, Revision, User, utcnow
from hub.models.states import DISPATCH, POST, DispatchStatus, PostStatus
from hub.notify import events as notify
from hub.times import iso

#: Publish runs after the last admin retry before a retryable error fails the dispatch.
MAX_ATTEMPTS = 6
#: How soon a platform still publishing is asked again.
POLL_DELAY = 5
#: How soon an ambiguous outcome is reconciled.
RECONCILE_DELAY = 1

#: Post statuses whose dispatches decide the post's status.
_FOLLOWS_DISPATCHES = (PostStatus.PUBLISHING, PostStatus.APPROVED, PostStatus.FAILED,
                       PostStatus.PARTIALLY_PUBLISHED)


def move(d: Dispatch, new: str) -> None:
    """Set ``d.status`` to ``new`` if the transition table allows it (raises IllegalTransition)."""
    d.status = DISPATCH.check(d.status, new)


def mark_awaiting_manual(s: Any, d: Dispatch) -> None:
    """A manual-publish account's dispatch passed the worker's checks: it waits for an editor to
    publish it by hand and record the URL (hub/dispatch/manual.py)."""
    move(d, DispatchStatus.AWAITING_MANUAL)
    d.error = "等待编辑手工发布：打开发布任务页面复制审核通过的内容，发布后回填链接"
    d.stage, d.claim, d.lease_until, d.check_at = "awaiting_manual", None, None, None
    audit.record(s, "dispatch.awaiting_manual", object_type="dispatch", object_id=d.id, unit=d.post.unit,
                 summary=f"等待编辑在「{d.account.platform_name or d.account.name}」手工发布并回填链接",
                 details={"post_id": d.post_id, "account_id": d.account_id, "revision_hash": d.revision.hash})


def move_post(post: Post, new: str) -> None:
    """Set ``post.status`` to ``new`` if the transition table allows it (raises IllegalTransition)."""
    post.status = POST.check(post.status, new)


# -- the post follows its dispatches --------------------------------------------------------
def settle_post(session: Session, post: Post) -> None:
    """A post's status follows its dispatches; updated in the same transaction as the last one."""
    session.flush()
    statuses = session.scalars(select(Dispatch.status).where(
        Dispatch.post_id == post.id, Dispatch.revision_id == post.current_revision_id)).all()
    if not statuses or post.status not in _FOLLOWS_DISPATCHES:
        return
    if any(s not in DISPATCH_TERMINAL for s in statuses):
        if post.status in (PostStatus.FAILED, PostStatus.PARTIALLY_PUBLISHED):  # an admin retry is under way
            move_post(post, PostStatus.PUBLISHING)
        return
    published = sum(1 for s in statuses if s == DispatchStatus.PUBLISHED)
    new = (PostStatus.PUBLISHED if published == len(statuses)
           else PostStatus.FAILED if published == 0 else PostStatus.PARTIALLY_PUBLISHED)
    if new == post.status:
        return
    move_post(post, new)
    audit.record(session, f"post.{new}", object_type="post", object_id=post.id, unit=post.unit,
                 summary={"published": "全部平台发布成功", "failed": "发布失败",
                          "partially_published": "部分平台发布成功"}[new],
                 details={"published": published, "total": len(statuses)})
    notify.post_outcome(session, post, new, lambda: set(session.scalars(
        select(Revision.created_by_id).where(Revision.post_id == post.id))) | {post.creator_id})


# -- creating and cancelling ----------------------------------------------------------------
def arm_dispatches(session: Session, post: Post, not_before: datetime | None, *, revive: bool) -> list[int]:
    """One pending dispatch per target account of the post's current revision (existing ones
    reused; with ``revive``, pending and cancelled ones get the new time). Returns their ids."""
    rev = post.current_revision
    assert rev is not None
    existing = {d.account_id: d for d in session.scalars(select(Dispatch).where(Dispatch.revision_id == rev.id))}
    ids = []
    for account_id in rev.account_ids:
        d = existing.get(account_id)
        if d is None:
            d = Dispatch(post_id=post.id, revision_id=rev.id, account_id=account_id,
                         status=DISPATCH.check(None, DispatchStatus.PENDING), not_before=not_before)
            session.add(d)
            session.flush()
            audit.record(session, "dispatch.create", object_type="dispatch", object_id=d.id, unit=post.unit,
                         summary="创建发布任务", details={"post_id": post.id, "account_id": account_id,
                                                       "revision_hash": rev.hash})
        elif revive and d.status in (DispatchStatus.PENDING, DispatchStatus.CANCELLED):
            if d.status != DispatchStatus.PENDING:
                move(d, DispatchStatus.PENDING)
            d.not_before, d.error = not_before, None
            d.updated_at = utcnow()
        ids.append(d.id)
    session.expire(post, ["dispatches"])
    return ids


def create_dispatches(session: Session, post: Post) -> list[int]:
    """The dispatches a post's final approval arms, for its publish time (if any)."""
    return arm_dispatches(session, post, post.publish_at, revive=False)


def cancel_pending(session: Session, post: Post, why: str) -> list[int]:
    """Cancel the post's pending dispatches (and those awaiting a manual publication); returns the ids actually cancelled (conditional
    update, so a worker that just claimed one keeps it). Their scheduled jobs are deleted after
    the commit."""
    waiting = (DispatchStatus.PENDING, DispatchStatus.AWAITING_MANUAL)  # neither reached a platform
    for old in waiting:
        DISPATCH.check(old, DispatchStatus.CANCELLED)
    ids = list(session.scalars(select(Dispatch.id).where(Dispatch.post_id == post.id,
                                                         Dispatch.status.in_(waiting))))
    done: list[int] = []
    for did in ids:
        n = session.execute(update(Dispatch).where(Dispatch.id == did, Dispatch.status.in_(waiting))
                            .values(status=DispatchStatus.CANCELLED, error=why, updated_at=utcnow())
                            .execution_options(synchronize_session=False)).rowcount  # type: ignore[attr-defined]
        if n == 1:
            done.append(did)
    if ids:
        session.expire(post, ["dispatches"])
    queueing.unschedule_after_commit(session, done)
    return done


def cancel(session: Session, d: Dispatch, why: str) -> None:
    """A pending dispatch of a withdrawn post is cancelled (withdraw job)."""
    move(d, DispatchStatus.CANCELLED)
    d.error = why


# -- claiming -------------------------------------------------------------------------------
def claim(session: Session, d: Dispatch, token: str, lease: float) -> bool:
    """pending -> sending for the caller holding ``token`` (conditional: one winner per race)."""
    now = utcnow()
    DISPATCH.check(DispatchStatus.PENDING, DispatchStatus.SENDING)
    won = session.execute(update(Dispatch).where(Dispatch.id == d.id, Dispatch.status == DispatchStatus.PENDING)
                          .values(status=DispatchStatus.SENDING, attempts=Dispatch.attempts + 1, updated_at=now,
                                  claim=token, lease_until=now + timedelta(seconds=lease), check_at=None)
                          .execution_options(synchronize_session=False)).rowcount  # type: ignore[attr-defined]
    return won == 1


# -- attempts -------------------------------------------------------------------------------
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


def finish_attempt(s: Any, attempt_id: int | None, outcome: str, message: str | None = "", code: Any = "",
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


# -- outcomes -------------------------------------------------------------------------------
def mark_published(s: Any, d: Dispatch, result: PublishResult, how: str) -> None:
    """Settle ``d`` as published (inside the caller's transaction) with its audit entry."""
    post, account = d.post, d.account
    d.platform_ref = result.platform_ref or d.platform_ref
    d.draft_ref = result.draft_ref or d.draft_ref
    move(d, DispatchStatus.PUBLISHED)
    d.error = None
    d.url = result.url or d.url
    d.article_id = result.article_id or d.article_id
    d.published_at = d.published_at or utcnow()
    d.stage, d.claim, d.lease_until, d.check_at = "published", None, None, None
    d.unconfirmed_since = None
    audit.record(s, "dispatch.published", object_type="dispatch", object_id=d.id, unit=post.unit,
                 summary=f"已发布到「{account.name}」" + {"reconciled": "（经核实）",
                                                          "manual": "（人工发布，已回填链接）"}.get(how, ""),
                 details={"post_id": post.id, "url": d.url, "platform_ref": d.platform_ref,
                          "article_id": d.article_id, "revision_hash": d.revision.hash, "how": how})


def mark_unconfirmed(s: Any, d: Dispatch, reason: str, delay: float = RECONCILE_DELAY) -> None:
    """The outcome is unknown: keep it for reconciliation, never resend blindly."""
    now = utcnow()
    move(d, DispatchStatus.UNCONFIRMED)
    d.error = reason
    d.claim, d.lease_until = None, None
    d.unconfirmed_since = d.unconfirmed_since or now
    d.check_at = now + timedelta(seconds=delay)


def mark_submitted(d: Dispatch, message: str) -> None:
    """The platform accepted the publication and is still processing it: poll it."""
    move(d, DispatchStatus.SENDING)
    d.error = message
    d.stage, d.claim, d.lease_until = "submitted", None, None
    d.check_at = utcnow() + timedelta(seconds=POLL_DELAY)


def mark_retry(d: Dispatch, message: str, not_before: datetime) -> None:
    """Known not to have happened and worth trying again at ``not_before``."""
    move(d, DispatchStatus.PENDING)
    d.error, d.claim, d.lease_until = message, None, None
    d.not_before = not_before


def mark_failed(d: Dispatch, message: str, *, verify: bool = True, absent: bool = False) -> None:
    """Failed. With ``verify``, reconciliation soon confirms the platform holds nothing (an admin
    may retry only then); ``absent`` records that this is already known."""
    move(d, DispatchStatus.FAILED)
    d.error, d.claim, d.lease_until = message, None, None
    d.check_at = utcnow() + timedelta(seconds=RECONCILE_DELAY) if verify else None
    if absent:
        d.absent_at = utcnow()


def requeue(d: Dispatch, message: str) -> None:
    """Back to pending now (reconciliation found nothing was sent, or an admin's retry)."""
    move(d, DispatchStatus.PENDING)
    d.error = message
    d.not_before, d.check_at, d.unconfirmed_since = None, None, None


def admin_retry(session: Session, user: User, d: Dispatch) -> None:
    """An admin's retry of a failed dispatch the platform is known not to hold: back to pending,
    with its attempt row and audit entry; the publish job is queued after the commit."""
    post, account = d.post, d.account
    requeue(d, "管理员已要求重试")
    d.alerted_at = None
    d.updated_at = utcnow()
    session.add(DispatchAttempt(dispatch_id=d.id, kind="retry", number=d.attempts, outcome="requeued",
                                message=f"{user.display_name()} 要求重试", worker="", details={},
                                finished_at=utcnow()))
    audit.record(session, "dispatch.retry", object_type="dispatch", object_id=d.id, unit=post.unit,
                 summary=f"管理员重试发布到「{account.name}」",
                 details={"post_id": post.id, "account_id": account.id,
                          "verified_absent_at": iso(d.absent_at)})
    settle_post(session, post)
    queueing.publish_after_commit(session, [d.id])


def mark_withdrawn(d: Dispatch, message: str | None) -> None:
    move(d, DispatchStatus.WITHDRAWN)
    d.error, d.updated_at = message, utcnow()
