"""Who may see a post: the visibility rule the pages, the API, the checks and the review queue share.

A post is visible to its own unit and the units overseeing it, to the people its review chain
names (e.g. the reviewers of an ancestor unit taking a 终审) and to anyone who once decided on
it; to everyone else it does not exist (404, never 403).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.approval.chains import Chain, may_act_anywhere
from hub.errors import NotFound
from hub.models import Approval, Post, Revision, User
from hub.permissions import can_see_post


def get_post(session: Session, user: User, post_id: int, *, lock: bool = False) -> Post:
    """The post if the user may see it; otherwise 404 (never reveal another unit's post).

    Besides the post's own unit and overseers, the people its review chain names (e.g. the
    reviewers of an ancestor unit taking a 终审) and anyone who once decided on it may see it.
    ``lock`` re-reads the row and locks it for the rest of the transaction.
    """
    stmt = select(Post).where(Post.id == post_id)
    if lock:
        stmt = stmt.execution_options(populate_existing=True)
        if not (session.bind and session.bind.dialect.name == "sqlite"):
            stmt = stmt.with_for_update(of=Post)
    post = session.scalars(stmt).unique().first()
    if post is None or not (can_see_post(session, user, post) or reviews_post(session, user, post)):
        raise NotFound("稿件不存在或无权查看", code="post_not_found")
    return post


def reviews_post(session: Session, user: User, post: Post) -> bool:
    """Whether ``user`` is named by the post's review chain or has decided on the post before."""
    if post.chain and may_act_anywhere(user, post, Chain.from_json(post.chain)):
        return True
    return session.scalar(select(Approval.id).where(Approval.post_id == post.id,
                                                    Approval.reviewer_id == user.id).limit(1)) is not None


def contributors(session: Session, post: Post) -> set[int]:
    """Everyone who created or edited any revision of the post."""
    return set(session.scalars(select(Revision.created_by_id).where(Revision.post_id == post.id)).all()) | {
        post.creator_id}


def editor_unit(user: User) -> int:
    """The unit a new post (and the images uploaded for it) belongs to: the user's own unit when
    they edit there, else the first unit they are an editor of."""
    if user.has_role("editor", user.unit_id):
        return user.unit_id
    return next(g.unit_id for g in user.roles if g.role == "editor")
