"""Review configuration: versioned review chains per unit (and content category),
per-unit publishing pauses, and which revision of a post each reviewer has seen."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.models.base import Base, utcnow
from hub.models.org import Unit, User


class ReviewChain(Base):
    """One version of a unit's review chain, for all categories ("") or one content category.

    Rows are never changed: saving a chain adds the next version. The newest version of a
    (unit, category) pair is the one in force; a version whose ``steps`` is null means the
    unit stopped defining its own chain and inherits again.
    """

    __tablename__ = "review_chains"
    __table_args__ = (
        UniqueConstraint("unit_id", "category", "version", name="uq_review_chains_unit_category_version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    category: Mapped[str] = mapped_column(String(64), default="")
    version: Mapped[int] = mapped_column(Integer)
    steps: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    unit: Mapped[Unit] = relationship(lazy="joined")
    created_by: Mapped[User | None] = relationship(lazy="joined")


class UnitPause(Base):
    """"Pause all publishing" for a unit and its whole subtree, until resumed."""

    __tablename__ = "unit_pauses"
    __table_args__ = (
        # At most one active pause per unit, even when two people press the switch at once.
        Index("uq_unit_pauses_active_unit", "unit_id", unique=True,
              sqlite_where=text("resumed_at IS NULL"), postgresql_where=text("resumed_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    paused_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    paused_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    resumed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resumed_at: Mapped[datetime | None] = mapped_column(DateTime)

    unit: Mapped[Unit] = relationship(lazy="joined")
    paused_by: Mapped[User | None] = relationship(foreign_keys=[paused_by_id], lazy="joined")
    resumed_by: Mapped[User | None] = relationship(foreign_keys=[resumed_by_id], lazy="joined")


class RevisionView(Base):
    """A reviewer opened the review screen of a revision (for "changes since you last looked")."""

    __tablename__ = "revision_views"
    __table_args__ = (
        UniqueConstraint("post_id", "user_id", "revision_number", name="uq_revision_views_post_user_number"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    revision_number: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
