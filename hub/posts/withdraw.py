"""Withdraw (撤稿): take a post down everywhere, with a reason, by an admin or its final reviewers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub import audit
from hub.approval.chains import person, post_chain, unit_path
from hub.dispatch import queueing, state
from hub.errors import BadRequest, Conflict, Forbidden
from hub.models import Dispatch, Post, User, utcnow
from hub.models.states import PostStatus
from hub.permissions import is_admin_of
from hub.posts.access import get_post
from hub.posts.comments import MAX_COMMENT
from review import policy

WITHDRAWABLE_STATUSES = ("approved", "publishing", "published", "partially_published")


def may_withdraw(session: Session, user: User, post: Post) -> bool:
    """Admins of the post's unit and the people its final review step names."""
    if is_admin_of(session, user, post.unit_id):
        return True
    return policy.names_final_step(post_chain(session, post), person(user), unit_path(post))


def withdraw_post(session: Session, user: User, post_id: int, body: Any) -> Post:
    """Take a post down everywhere. Pending dispatches are cancelled; those that reached (or may
    have reached) a platform get a withdraw job each after the commit."""
    post = get_post(session, user, post_id, lock=True)
    if not may_withdraw(session, user, post):
        raise Forbidden("只有管理员或终审人员可以撤稿", code="not_allowed_to_withdraw")
    if post.status not in WITHDRAWABLE_STATUSES:
        raise Conflict(f"稿件当前状态（{post.status}）不能撤稿", code="not_withdrawable", status=post.status)
    if not isinstance(body, dict):
        raise BadRequest("请求体必须是 JSON 对象", code="invalid_body")
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise BadRequest("撤稿必须填写原因", code="missing_reason")
    if len(reason) > MAX_COMMENT:
        raise BadRequest(f"撤稿原因不得超过 {MAX_COMMENT} 个字符", code="invalid_reason")
    reason = reason.strip()
    previous = post.status
    cancelled = state.cancel_pending(session, post, f"已撤稿，取消发布：{reason[:100]}")
    to_withdraw = list(session.scalars(select(Dispatch.id).where(
        Dispatch.post_id == post.id, Dispatch.status.in_(("published", "sending", "unconfirmed")))))
    state.move_post(post, PostStatus.WITHDRAWN)
    post.updated_at = utcnow()
    audit.record(session, "post.withdraw", object_type="post", object_id=post.id, unit=post.unit,
                 summary=f"撤稿：{reason[:100]}",
                 details={"reason": reason, "previous_status": previous, "cancelled_dispatches": cancelled,
                          "withdraw_dispatches": to_withdraw})
    queueing.withdraw_after_commit(session, to_withdraw)
    return post
