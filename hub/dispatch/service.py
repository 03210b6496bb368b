"""Dispatches seen by people: visibility, attempt history, and the admin's retry.

A failed dispatch may be retried by an admin of the account's unit only after reconciliation
has confirmed the platform holds no publication of it (``Dispatch.absent_at``): a retry must
never make a second publication. Until then the retry is refused (409) and a reconciliation
is requested.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.dispatch import queueing, state
from hub.errors import Conflict, Forbidden, NotFound
from hub.models import Dispatch, DispatchAttempt, User
from hub.permissions import can_see_post, is_admin_of
from hub.times import iso


def get_dispatch(session: Session, user: User, dispatch_id: int) -> Dispatch:
    """The dispatch if the user may see its post; otherwise 404."""
    d = session.get(Dispatch, dispatch_id)
    if d is None or not can_see_post(session, user, d.post):
        raise NotFound("发布任务不存在或无权查看", code="dispatch_not_found")
    return d


def attempts_of(session: Session, d: Dispatch, limit: int = 50) -> list[DispatchAttempt]:
    rows = session.scalars(select(DispatchAttempt).where(DispatchAttempt.dispatch_id == d.id)
                           .order_by(DispatchAttempt.id.desc()).limit(limit)).all()
    return list(reversed(rows))


def attempt_json(a: DispatchAttempt) -> dict[str, Any]:
    return {"id": a.id, "kind": a.kind, "number": a.number, "outcome": a.outcome, "code": a.code,
            "message": a.message, "worker": a.worker, "started_at": iso(a.started_at),
            "finished_at": iso(a.finished_at)}


def live_extra(session: Session, d: Dispatch) -> dict[str, Any]:
    """What the post page's live table adds per dispatch: the last attempts and the detail link."""
    from flask import url_for

    return {"detail_url": url_for("web.dispatch.dispatch_page", dispatch_id=d.id),
            "attempts_log": [attempt_json(a) for a in attempts_of(session, d, limit=8)]}


def retry_allowed(d: Dispatch) -> bool:
    """Whether reconciliation has confirmed that the failed dispatch did not happen."""
    return d.status == "failed" and d.absent_at is not None


def dispatch_json(session: Session, d: Dispatch, with_attempts: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": d.id, "post_id": d.post_id, "account_id": d.account_id, "account": d.account.name,
        "platform": d.account.platform, "revision": d.revision.number, "status": d.status, "stage": d.stage,
        "platform_ref": d.platform_ref, "article_id": d.article_id, "url": d.url, "attempts": d.attempts,
        "error": d.error, "published_at": iso(d.published_at), "unconfirmed_since": iso(d.unconfirmed_since),
        "alerted_at": iso(d.alerted_at), "verified_absent_at": iso(d.absent_at),
        "retry_allowed": retry_allowed(d), "updated_at": iso(d.updated_at),
        "manual_by": d.manual_by.to_ref() if d.manual_by is not None else None,
        "manual_check": d.manual_check or None,
    }
    if with_attempts:
        out["attempts_log"] = [attempt_json(a) for a in attempts_of(session, d)]
    return out


def retry_dispatch(session: Session, user: User, dispatch_id: int) -> Dispatch:
    """An admin's retry of a failed dispatch (back to pending; published after the commit). Raises
    404 / 403 / 409 in docs/design.md §8's order; 409 ``not_reconciled`` while reconciliation has not
    confirmed the platform holds nothing (and asks for that reconciliation)."""
    d = get_dispatch(session, user, dispatch_id)
    post, account = d.post, d.account
    if not is_admin_of(session, user, account.unit_id):
        raise Forbidden("只有该账号所属单位的管理员可以重试发布", code="not_admin")
    if d.status != "failed":
        raise Conflict(f"只有发布失败的任务可以重试（当前状态：{d.status}）", code="not_failed", status=d.status)
    if post.current_revision_id != d.revision_id or post.status == "withdrawn":
        raise Conflict("稿件已修改或已撤稿，不能重试旧版本的发布", code="stale_revision")
    if d.absent_at is None:
        queueing.reconcile_now(d.id)  # the check the retry waits for starts now, even as this rolls back
        raise Conflict("尚未与平台核实该发布是否已存在，已发起核实，请稍后再试", code="not_reconciled")
    state.admin_retry(session, user, d)
    return d
