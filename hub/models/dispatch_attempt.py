"""Every try at a dispatch — publish runs, reconciliations, polls, recoveries, admin retries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.models.base import Base, utcnow

ATTEMPT_KINDS = ("publish", "reconcile", "poll", "recover", "retry", "callback")


class DispatchAttempt(Base):
    """One attempt at a dispatch and its outcome (shown live on the post page)."""

    __tablename__ = "dispatch_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dispatch_id: Mapped[int] = mapped_column(ForeignKey("dispatches.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    #: The dispatch's publish-attempt number this belongs to (Dispatch.attempts at the time).
    number: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    #: running | published | submitted | retry | failed | unconfirmed | requeued | waiting | lost | ...
    outcome: Mapped[str] = mapped_column(String(20), default="running")
    code: Mapped[str] = mapped_column(String(40), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    worker: Mapped[str] = mapped_column(String(100), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
