"""Content-check results kept in the database (issue 6): reviewers' overrides of blocking
findings, the daily inspection (巡检) runs with their findings, and the alerts they raise for
the admins of the accounts' units.

The classes were named ``ScanRun``, ``ScanFinding`` and ``CheckAlert`` before; their tables keep
the old names (``scan_runs``, ``scan_findings``, ``check_alerts``: no migration), as do the
audit entries they are recorded under (``object_type`` ``scan_run`` and ``check_alert``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.models.account import Account
from hub.models.base import Base, utcnow
from hub.models.org import Unit, User
from hub.models.post import Post

INSPECTION_STATUSES = ("queued", "running", "done", "failed")


class FindingOverride(Base):
    """A reviewer accepted one blocking finding of one revision, with a reason.

    Bound to the revision: an edit makes a new revision, and its findings need new overrides.
    """

    __tablename__ = "finding_overrides"
    __table_args__ = (UniqueConstraint("revision_id", "finding_id", name="uq_finding_overrides_revision_finding"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("revisions.id"))
    finding_id: Mapped[str] = mapped_column(String(32))
    field: Mapped[str] = mapped_column(String(64))  # "content", "variants.weibo.text", "rendering.wechat.digest" …
    rule: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(8))
    start_offset: Mapped[int] = mapped_column(Integer)
    end_offset: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    lexicon_version: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    user: Mapped[User] = relationship(lazy="joined")


class InspectionRun(Base):
    """One inspection of published content. ``run_key`` is ``daily-YYYY-MM-DD`` for the daily run
    (unique: one per day however many workers race) or ``manual-<n>`` for one an admin started."""

    __tablename__ = "scan_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_key: Mapped[str] = mapped_column(String(64), unique=True)
    trigger: Mapped[str] = mapped_column(String(10))  # daily | manual
    day: Mapped[str] = mapped_column(String(10), index=True)  # Asia/Shanghai date, YYYY-MM-DD
    status: Mapped[str] = mapped_column(String(16), default="queued")
    window_days: Mapped[int] = mapped_column(Integer)
    lexicon_version: Mapped[str] = mapped_column(String(40), default="")
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    posts_checked: Mapped[int] = mapped_column(Integer, default=0)
    links_checked: Mapped[int] = mapped_column(Integer, default=0)
    findings_count: Mapped[int] = mapped_column(Integer, default=0)
    new_findings: Mapped[int] = mapped_column(Integer, default=0)
    alerts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")

    requested_by: Mapped[User | None] = relationship(lazy="joined")


class InspectionFinding(Base):
    """A finding of an inspection on a published revision (content check or link check)."""

    __tablename__ = "scan_findings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("scan_runs.id"), index=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("revisions.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    field: Mapped[str] = mapped_column(String(64))  # "content", "variants.weibo.text", "rendering.wechat.digest" …
    rule: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(8))
    start_offset: Mapped[int] = mapped_column(Integer)
    end_offset: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    suggestion: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(String(1000), default="")
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    is_new: Mapped[bool] = mapped_column(Boolean, default=False)
    lexicon_version: Mapped[str] = mapped_column(String(40))

    post: Mapped[Post] = relationship(lazy="joined")
    unit: Mapped[Unit] = relationship(lazy="joined")


class InspectionAlert(Base):
    """New inspection findings on a post, for the admins of one publishing account's unit."""

    __tablename__ = "check_alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("scan_runs.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    findings: Mapped[int] = mapped_column(Integer, default=0)
    summary: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    unit: Mapped[Unit] = relationship(lazy="joined")
    post: Mapped[Post] = relationship(lazy="joined")
    account: Mapped[Account | None] = relationship(lazy="joined")
    acknowledged_by: Mapped[User | None] = relationship(lazy="joined")
