"""Posts, their immutable revisions, approvals, dispatches and comments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.models import states
from hub.models.account import Account
from hub.models.base import Base, utcnow
from hub.models.org import Unit, User

# The statuses and their allowed moves are named in hub/models/states.py (docs/design.md §10).
POST_STATUSES = tuple(str(s) for s in states.PostStatus)
DISPATCH_STATUSES = tuple(str(s) for s in states.DispatchStatus)
DISPATCH_TERMINAL = tuple(str(s) for s in states.DISPATCH_TERMINAL)


class Post(Base):
    __tablename__ = "posts"
    # The lists' filter and order (hub/posts/listing.py; migration 0020).
    __table_args__ = (Index("ix_posts_unit_updated", "unit_id", "updated_at", "id"),
                      Index("ix_posts_updated", "updated_at", "id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    creator_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(24), default="draft", index=True)
    current_revision_id: Mapped[int | None] = mapped_column(
        ForeignKey("revisions.id", use_alter=True, name="fk_posts_current_revision")
    )
    # Index of the review step the post is waiting on (0-based) while in_review.
    step: Mapped[int] = mapped_column(Integer, default=0)
    chain: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    publish_at: Mapped[datetime | None] = mapped_column(DateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    unit: Mapped[Unit] = relationship(lazy="joined")
    creator: Mapped[User] = relationship(lazy="joined")
    current_revision: Mapped[Revision | None] = relationship(
        foreign_keys=[current_revision_id], post_update=True, lazy="joined"
    )
    approvals: Mapped[list[Approval]] = relationship(
        back_populates="post", order_by="Approval.id", lazy="selectin"
    )
    dispatches: Mapped[list[Dispatch]] = relationship(
        back_populates="post", order_by="Dispatch.id", lazy="selectin"
    )


class PostSearch(Base):
    """The searchable text of a post's current revision: its title and the text of its body (hub/posts/search.py).

    Written whenever a revision becomes current. PostgreSQL searches it through the ``pg_trgm`` GIN
    indexes below; SQLite through the FTS5 table ``post_search_fts`` (trigram tokenizer), an external
    content index of this table kept in step by triggers (both made by migration 0021).
    """

    __tablename__ = "post_search"
    __table_args__ = (
        Index("ix_post_search_title_trgm", "title", postgresql_using="gin",
              postgresql_ops={"title": "gin_trgm_ops"}).ddl_if(dialect="postgresql"),
        Index("ix_post_search_body_trgm", "body", postgresql_using="gin",
              postgresql_ops={"body": "gin_trgm_ops"}).ddl_if(dialect="postgresql"),
    )

    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), primary_key=True, autoincrement=False)
    title: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")


class Revision(Base):
    """An immutable snapshot of a post's content; approvals bind to its hash."""

    __tablename__ = "revisions"
    __table_args__ = (UniqueConstraint("post_id", "number", name="uq_revisions_post_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str] = mapped_column(String(64), default="")
    category: Mapped[str] = mapped_column(String(64), default="")
    is_original: Mapped[bool] = mapped_column(Boolean, default=False)
    source_url: Mapped[str] = mapped_column(String(500), default="")
    cover_id: Mapped[int | None] = mapped_column(ForeignKey("media.id"))
    cover_sha256: Mapped[str] = mapped_column(String(64), default="")
    variants: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: {account id: Rendering.to_json()}: what each target account will be sent (hub/posts/rendering.py).
    renderings: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    #: The articles after the main one (WeChat 次条), each {title, content, summary, author, source_url,
    #: cover_id, cover_sha256}: reviewed, approved and sent with the main article as one revision.
    articles: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    account_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    #: The post's video (a Media of kind "video") and its SHA-256, covered by the hash (migration 0015).
    video_id: Mapped[int | None] = mapped_column(ForeignKey("media.id"))
    video_sha256: Mapped[str] = mapped_column(String(64), default="", server_default="")
    #: The library fields (issue 17, migration 0022): {"metadata": {index_no, issuer, written_on, doc_no,
    #: subject}, "policies": [{id, title}] (a 解读's policies), "needs_interpretation": bool, "validity":
    #: {status, effective_on, expires_on, replaced_by: {id, title} | None, auto?}}; covered by the hash.
    library: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    created_by: Mapped[User] = relationship(lazy="joined")


class PolicyLink(Base):
    """A 解读 (interpretation) and a policy it explains, as the 解读's current revision names them
    (kept in step with ``Revision.library["policies"]`` by hub/posts/library.py; migration 0022)."""

    __tablename__ = "policy_links"

    interpretation_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), primary_key=True, index=True)


class Approval(Base):
    """One reviewer's decision on one step, bound to the exact revision hash."""

    __tablename__ = "approvals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("revisions.id"))
    revision_hash: Mapped[str] = mapped_column(String(64))
    step: Mapped[int] = mapped_column(Integer)
    step_name: Mapped[str] = mapped_column(String(50))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decision: Mapped[str] = mapped_column(String(10))
    checks: Mapped[dict[str, bool]] = mapped_column(JSON, default=dict)
    comment: Mapped[str] = mapped_column(Text, default="")
    voided: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    post: Mapped[Post] = relationship(back_populates="approvals")
    reviewer: Mapped[User] = relationship(lazy="joined")


class Dispatch(Base):
    """Sending one revision to one account. Exactly one per (revision, account)."""

    __tablename__ = "dispatches"
    __table_args__ = (UniqueConstraint("revision_id", "account_id", name="uq_dispatches_revision_account"),
                      Index("ix_dispatches_updated", "updated_at"),
                      Index("ix_dispatches_account_published", "account_id", "published_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("revisions.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    platform_ref: Mapped[str | None] = mapped_column(String(200))
    article_id: Mapped[str | None] = mapped_column(String(200))
    draft_ref: Mapped[str | None] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(String(500))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    not_before: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Dispatch engine bookkeeping (migration 0004; see hub/dispatch/jobs/publish.py and reconcile.py).
    stage: Mapped[str | None] = mapped_column(String(20))  # how far the platform calls got
    claim: Mapped[str | None] = mapped_column(String(40))  # token of the worker holding the dispatch
    lease_until: Mapped[datetime | None] = mapped_column(DateTime)  # the holder's lease
    check_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)  # next reconciliation / status poll
    unconfirmed_since: Mapped[datetime | None] = mapped_column(DateTime)
    alerted_at: Mapped[datetime | None] = mapped_column(DateTime)
    absent_at: Mapped[datetime | None] = mapped_column(DateTime)  # reconciliation: not on the platform
    # Manual publication (migration 0015; hub/dispatch/manual.py): who recorded it, what the hub found
    # at its URL ({status, title, error, at}) and an optional screenshot.
    manual_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    manual_check: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    screenshot_id: Mapped[int | None] = mapped_column(ForeignKey("media.id"))
    #: The platform's reference for its statistics (WeChat ``msg_data_id``; migration 0019, hub/metrics).
    stats_ref: Mapped[str | None] = mapped_column(String(200))

    post: Mapped[Post] = relationship(back_populates="dispatches")
    account: Mapped[Account] = relationship(lazy="joined")
    revision: Mapped[Revision] = relationship(lazy="joined")
    manual_by: Mapped[User | None] = relationship(foreign_keys=[manual_by_id], lazy="joined")


class Comment(Base):
    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    revision_number: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    user: Mapped[User] = relationship(lazy="joined")
