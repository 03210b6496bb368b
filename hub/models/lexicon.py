"""Database-held lexicon changes (issue 6): per-unit additions, disabled shared rules, and the
version history every change adds to.

The shared lexicon lives in ``review/checks/lexicons/*.tsv`` (reviewed like code). Units add
their own words here; an addition applies to its unit and every unit below it. Rows are never
deleted: disabling keeps the row (with who and when), so any past lexicon version can be
explained. Every change appends a :class:`LexiconVersion`; findings record the version label
``<files version>+<number>``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.models.base import Base, utcnow
from hub.models.org import Unit, User


class LexiconEntry(Base):
    """A unit's addition to the lexicon (a word-list entry, an approved source or an allowed domain)."""

    __tablename__ = "lexicon_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    category: Mapped[str] = mapped_column(String(16))
    wrong: Mapped[str] = mapped_column(String(100))  # the word, source name or domain
    right: Mapped[str] = mapped_column(String(100), default="")
    severity: Mapped[str] = mapped_column(String(8), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    exceptions: Mapped[str] = mapped_column(Text, default="")  # "|"-separated
    tag: Mapped[str] = mapped_column(String(8), default="")
    since: Mapped[str] = mapped_column(String(20), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version_added: Mapped[int] = mapped_column(Integer)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    version_disabled: Mapped[int | None] = mapped_column(Integer)
    disabled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime)
    disabled_reason: Mapped[str] = mapped_column(Text, default="")

    unit: Mapped[Unit] = relationship(lazy="joined")
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id], lazy="joined")
    disabled_by: Mapped[User | None] = relationship(foreign_keys=[disabled_by_id], lazy="joined")


class LexiconDisable(Base):
    """A shared-lexicon rule switched off for a unit and the units below it."""

    __tablename__ = "lexicon_disables"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    rule: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version_added: Mapped[int] = mapped_column(Integer)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    version_lifted: Mapped[int | None] = mapped_column(Integer)
    lifted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    lifted_at: Mapped[datetime | None] = mapped_column(DateTime)

    unit: Mapped[Unit] = relationship(lazy="joined")
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id], lazy="joined")
    lifted_by: Mapped[User | None] = relationship(foreign_keys=[lifted_by_id], lazy="joined")


class LexiconVersion(Base):
    """One change of the database-held lexicon. ``number`` is unique: two admins changing the
    lexicon at once cannot both take the same number (the later one retries).

    ``digest`` is a SHA-256 over the whole database-held state after the change; processes
    compile the shared automaton once per digest.
    """

    __tablename__ = "lexicon_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    digest: Mapped[str] = mapped_column(String(64))
    files_version: Mapped[str] = mapped_column(String(32))
    summary: Mapped[str] = mapped_column(String(500), default="")
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    unit: Mapped[Unit | None] = relationship(lazy="joined")
    actor: Mapped[User | None] = relationship(lazy="joined")
