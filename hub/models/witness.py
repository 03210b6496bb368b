"""Checkpoints received from other hubs that named this hub as their witness (append-only)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.models.base import Base, utcnow


class WitnessedCheckpoint(Base):
    """One signed checkpoint of another hub's audit head, as that hub sent it.

    Keyed by the sender's key fingerprint; one row per (key, seq): a second checkpoint for the same
    seq with another hash is refused (409), never stored over the first. Rows are never updated.
    """

    __tablename__ = "witnessed_checkpoints"
    __table_args__ = (UniqueConstraint("key_id", "seq", name="uq_witnessed_checkpoints_key_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(16), index=True)
    public_key: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    sig: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    received_by: Mapped[int | None] = mapped_column(Integer)
