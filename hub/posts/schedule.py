"""Publication time: schedule, reschedule and cancel. An approved post's dispatches are armed
for the new time through the dispatch engine (hub/dispatch/state.py) and queued after the commit
(hub/dispatch/queueing.py: due ones now, scheduled ones at their time).

A time without offset means Asia/Shanghai; times are stored as naive UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from hub import audit
from hub.dispatch import queueing, state
from hub.errors import BadRequest, Conflict, Forbidden, Unprocessable
from hub.models import Post, User, utcnow
from hub.models.states import PostStatus
from hub.permissions import is_admin_of, is_editor_of
from hub.posts.access import get_post

SHANGHAI = ZoneInfo("Asia/Shanghai")
SCHEDULABLE_STATUSES = ("draft", "rejected", "in_review", "approved")


def parse_time(value: Any) -> datetime | None:
    """ISO 8601 to naive UTC; a time without offset means Asia/Shanghai."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise BadRequest("publish_at 必须是 ISO 8601 时间字符串", code="invalid_publish_at")
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"无法识别的时间：{value[:64]}", code="invalid_publish_at") from None
    if not 2000 <= dt.year <= 2999:
        raise BadRequest(f"发布时间超出范围（2000 年至 2999 年）：{value[:64]}", code="invalid_publish_at")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=SHANGHAI)
    return dt.astimezone(UTC).replace(tzinfo=None)


def _may_schedule(session: Session, user: User, post: Post) -> None:
    if not (is_editor_of(user, post.unit_id) or is_admin_of(session, user, post.unit_id)):
        raise Forbidden("只有本单位编辑或管理员可以安排发布时间", code="not_editor")


def schedule_post(session: Session, user: User, post_id: int, body: Any) -> Post:
    """Set or change the publish time (no new revision, no re-approval; audited).

    Before approval it is the time to publish at once approved. On an approved post it
    arms its dispatches for that time; ``publish_at: null`` then means "publish now". Its
    dispatches are queued after the commit (now, or at the time).
    """
    post = get_post(session, user, post_id, lock=True)
    _may_schedule(session, user, post)
    if post.status not in SCHEDULABLE_STATUSES:
        raise Conflict(f"稿件当前状态（{post.status}）不能调整发布时间", code="not_schedulable", status=post.status)
    if not isinstance(body, dict):
        raise BadRequest("请求体必须是 JSON 对象", code="invalid_body")
    if "publish_at" not in body:
        raise BadRequest("缺少 publish_at（ISO 8601 时间；null 表示审核通过后立即发布）", code="missing_publish_at")
    unknown = set(body) - {"publish_at"}
    if unknown:
        raise BadRequest(f"未知字段：{', '.join(sorted(unknown))}", code="unknown_field")
    new_at = parse_time(body["publish_at"])
    now = utcnow()
    if new_at is not None and new_at <= now:
        raise Unprocessable(f"发布时间 {fmt_local(new_at)} 已过，请选择将来的时间", code="publish_at_past")
    old_at = post.publish_at
    post.publish_at = new_at
    post.updated_at = now
    ids: list[int] = []
    if post.status == "approved":
        ids = state.arm_dispatches(session, post, new_at, revive=True)
        if new_at is None:
            state.move_post(post, PostStatus.PUBLISHING)
        queueing.publish_post_after_commit(session, post.id)
    if new_at is None and post.status == "publishing":
        summary = "立即发布"
    elif new_at is None:
        summary = "取消定时，审核通过后立即发布"
    else:
        summary = f"发布时间调整为 {fmt_local(new_at)}"
    audit.record(session, "post.reschedule", object_type="post", object_id=post.id, unit=post.unit,
                 summary=summary, details={"from": iso_utc(old_at), "to": iso_utc(new_at), "status": post.status,
                                           "dispatches": ids})
    return post


def cancel_schedule(session: Session, user: User, post_id: int) -> Post:
    """Cancel the scheduled publication of an approved post; it waits for a new time (no re-approval)."""
    post = get_post(session, user, post_id, lock=True)
    _may_schedule(session, user, post)
    if post.status != "approved" or post.publish_at is None:
        raise Conflict(f"只有已审核通过、等待定时发布的稿件可以取消发布（当前状态：{post.status}"
                       + ("，未安排发布时间" if post.status == "approved" else "") + "）",
                       code="not_scheduled", status=post.status)
    rev = post.current_revision
    assert rev is not None
    cancelled = state.cancel_pending(session, post, "已取消定时发布")
    old_at = post.publish_at
    post.publish_at = None
    post.updated_at = utcnow()
    audit.record(session, "post.schedule_cancel", object_type="post", object_id=post.id, unit=post.unit,
                 summary="取消定时发布，等待重新选择发布时间",
                 details={"publish_at": iso_utc(old_at), "cancelled_dispatches": cancelled})
    return post


def iso_utc(dt: datetime | None) -> str | None:
    return dt.replace(tzinfo=UTC).isoformat() if dt else None


def fmt_local(dt: datetime | None) -> str:
    if dt is None:
        return ""
    return dt.replace(tzinfo=UTC).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
