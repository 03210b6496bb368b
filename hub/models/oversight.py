"""Supervision (issue 15): silence alerts of the monitor and rectifications (整改) opened by a 通报.

Migration 0011_oversight."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.models.account import Account
from hub.models.base import Base, utcnow
from hub.models.org import Unit

MONITOR_LEVELS = ("warn", "veto")
RECTIFICATION_STATUSES = ("open", "reported", "accepted", "returned")


class MonitorAlert(Base):
    """A silence alert of one account (``kind`` "silence"), or the escalation of an overdue message
    of the public (``kind`` "message_overdue", ``message_id``; account_id its account if any). Silence: raised by ``hub monitor run`` (or the daily job) at 7, 10 and
    13 days without a publication (``warn``) and at 14 days (``veto``); closed by the run that sees
    a publication after ``last_published_at``. ``since`` is the first day of the current level."""

    __tablename__ = "monitor_alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="silence")
    # kind "message_overdue" (issue 16): a message of the public not answered within 5 working days
    message_id: Mapped[int | None] = mapped_column(Integer, index=True)
    level: Mapped[str] = mapped_column(String(8))
    days: Mapped[int] = mapped_column(Integer)  # the threshold reached: 7, 10, 13 or 14
    since: Mapped[date] = mapped_column(Date)
    last_published_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)

    account: Mapped[Account | None] = relationship(lazy="joined")
    unit: Mapped[Unit] = relationship(lazy="joined")


class Rectification(Base):
    """One rectification (整改) of a unit, opened by a 通报 a supervisor recorded; due 10 working
    days after the 通报 was received (hub.oversight.workdays). The unit reports (整改 text and the
    问责 record); the supervisor accepts or returns it. ``escalated_at``: overdue, alerted above."""

    __tablename__ = "rectifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    source: Mapped[str] = mapped_column(String(20), default="notice")  # notice | inspection
    text: Mapped[str] = mapped_column(Text)
    received_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)
    report_text: Mapped[str | None] = mapped_column(Text)
    accountability_people: Mapped[int | None] = mapped_column(Integer)
    accountability_measures: Mapped[str | None] = mapped_column(Text)
    reported_at: Mapped[datetime | None] = mapped_column(DateTime)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    return_reason: Mapped[str | None] = mapped_column(Text)
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    unit: Mapped[Unit] = relationship(lazy="joined")


class AnnualReport(Base):
    """The 年度报表 of one unit for one year: reminded on 1 January, alerted overdue from 1 February
    while not published, and the record that it was published (with its URL)."""

    __tablename__ = "annual_reports"
    __table_args__ = (UniqueConstraint("unit_id", "year", name="uq_annual_reports_unit_year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime)
    overdue_at: Mapped[datetime | None] = mapped_column(DateTime)
    url: Mapped[str | None] = mapped_column(String(500))
    published_at: Mapped[datetime | None] = mapped_column(DateTime)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    unit: Mapped[Unit] = relationship(lazy="joined")


class QuarterlyInspection(Base):
    """A quarterly inspection (巡检) of a unit's subtree against the 19号 indicators as of a date;
    a re-inspection of the same period is its own record. ``items``: one per account, with its
    veto flag, score, result and problems (see hub.oversight.inspections). Published: readable at
    ``/public/inspections/<public_key>`` without logging in."""

    __tablename__ = "quarterly_inspections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    period: Mapped[str] = mapped_column(String(8))  # 2026Q4
    as_of: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="done")  # done | published
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    public_key: Mapped[str] = mapped_column(String(40), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(DateTime)

    unit: Mapped[Unit] = relationship(lazy="joined")
