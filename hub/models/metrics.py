"""Read counts (issue 18): the figures platforms give back for what the hub published.

Migration 0019_metrics. One row per dispatch and day (the platform's running totals at the end of
that Beijing day) and one per account and day (followers, or why the pull failed)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Integer, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.models.base import Base, utcnow


class PublicationMetrics(Base):
    """A publication's totals as the platform counted them at the end of ``day`` (None: the platform
    gives no such figure, e.g. Weibo has no read count)."""

    __tablename__ = "publication_metrics"
    __table_args__ = (UniqueConstraint("dispatch_id", "day", name="uq_publication_metrics_dispatch_day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dispatch_id: Mapped[int] = mapped_column(ForeignKey("dispatches.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    reads: Mapped[int | None] = mapped_column(Integer)
    shares: Mapped[int | None] = mapped_column(Integer)
    comments: Mapped[int | None] = mapped_column(Integer)
    likes: Mapped[int | None] = mapped_column(Integer)
    pulled_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class AccountMetrics(Base):
    """An account's followers at the end of ``day``, and ``error`` (zh-CN) when that day's pull failed."""

    __tablename__ = "account_metrics"
    __table_args__ = (UniqueConstraint("account_id", "day", name="uq_account_metrics_account_day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    followers: Mapped[int | None] = mapped_column(Integer)
    publications: Mapped[int] = mapped_column(Integer, default=0)  # publications whose figures came back
    error: Mapped[str | None] = mapped_column(Text)
    pulled_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
