"""备案 (filing) requests for accounts and the decisions taken on them, level by level.

A filing asks the supervisors of the unit tree to approve opening, changing
or closing an account. Its ``path`` is frozen when it is submitted: the
account's unit and its ancestors, lowest first. Which level is due is
computed from the decisions so far (see ``hub.accounts.filing``): the lowest
level above the last approval that has a supervisor; levels without one are
skipped.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.models import states
from hub.models.base import Base, utcnow
from hub.models.org import Unit, User

FILING_KINDS = ("open", "change", "close")
FILING_STATUSES = tuple(str(s) for s in states.FilingStatus)  # hub/models/states.py


class Filing(Base):
    """One filing request: what is asked (``snapshot``) and where it stands."""

    __tablename__ = "filings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20), default="in_review", index=True)
    # The filed data supervisors approve (for ``change`` the new values; for ``close`` the notice).
    snapshot: Mapped[dict] = mapped_column(JSON, default=dict)
    # Unit ids from the account's unit up to the root, lowest first (frozen at submission).
    path: Mapped[list] = mapped_column(JSON, default=list)
    # Bumped by every decision with a conditional update: two racing supervisors cannot both act.
    progress: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str | None] = mapped_column(Text)  # why it was rejected / superseded
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)

    submitted_by: Mapped[User | None] = relationship(lazy="joined")
    decisions: Mapped[list[FilingDecision]] = relationship(
        back_populates="filing", lazy="selectin", cascade="all, delete-orphan",
        order_by="FilingDecision.level_index",
    )


class FilingDecision(Base):
    """A supervisor's approval or rejection at one level of a filing's path."""

    __tablename__ = "filing_decisions"
    __table_args__ = (UniqueConstraint("filing_id", "level_index", name="uq_filing_decisions_filing_level"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    filing_id: Mapped[int] = mapped_column(ForeignKey("filings.id", ondelete="CASCADE"), index=True)
    level_index: Mapped[int] = mapped_column(Integer)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    supervisor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decision: Mapped[str] = mapped_column(String(10))  # approved | rejected
    comment: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    filing: Mapped[Filing] = relationship(back_populates="decisions")
    unit: Mapped[Unit] = relationship(lazy="joined")
    supervisor: Mapped[User] = relationship(lazy="joined")
