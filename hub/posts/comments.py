"""A post's comment thread: anyone who may see the post may add to it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub import audit
from hub.errors import BadRequest
from hub.models import Comment, Post, User
from hub.posts.access import get_post
from hub.posts.schedule import iso_utc

# The longest free text a user may attach: a comment, a reviewer's note, a reason to reject or withdraw.
MAX_COMMENT = 2000


def add_comment(session: Session, user: User, post_id: int, body: Any) -> Comment:
    """Add to the post's comment thread (anyone who may see the post)."""
    post = get_post(session, user, post_id)
    if not isinstance(body, dict):
        raise BadRequest("请求体必须是 JSON 对象", code="invalid_body")
    text = body.get("body")
    if not isinstance(text, str) or not text.strip():
        raise BadRequest("评论内容不能为空", code="missing_comment")
    if len(text) > MAX_COMMENT:
        raise BadRequest(f"评论不得超过 {MAX_COMMENT} 个字符", code="comment_too_long")
    rev = post.current_revision
    c = Comment(post_id=post.id, user_id=user.id, revision_number=rev.number if rev else None, body=text.strip())
    session.add(c)
    session.flush()
    audit.record(session, "post.comment", object_type="post", object_id=post.id, unit=post.unit,
                 summary=f"评论：{text.strip()[:80]}", details={"comment_id": c.id,
                                                              "revision": c.revision_number})
    return c


def list_comments(session: Session, post: Post) -> list[Comment]:
    return list(session.scalars(select(Comment).where(Comment.post_id == post.id).order_by(Comment.id)).unique())


def comment_json(c: Comment) -> dict[str, Any]:
    return {"id": c.id, "user": c.user.to_ref(), "revision": c.revision_number, "body": c.body, "at": iso_utc(c.at)}
