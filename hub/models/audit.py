"""The append-only audit trail (hash-chained; see hub.audit)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from hub.models.base import Base

# Entries the reveal limit counts (hub.accounts.service); the only query by actor_id.
REVEAL_ACTIONS = ("account.credential_reveal", "account.credential_reveal_denied")
_REVEALS = text("action IN ('account.credential_reveal', 'account.credential_reveal_denied')")


class AuditEntry(Base):
    """One entry of the hash chain; never updated or deleted (triggers from migration 0002)."""

    __tablename__ = "audit_entries"
    # Every index is paid for by every append, so each one serves a real query: BRIN on the time
    # (the trail is physically in time order, so date ranges need only a tiny index on PostgreSQL),
    # and the actor only for the reveal limit (a partial index that other entries never touch).
    __table_args__ = (Index("ix_audit_entries_object", "object_type", "object_id"),
                      Index("ix_audit_entries_nonce", "nonce", unique=True),
                      Index("ix_audit_entries_at", "at", postgresql_using="brin"),
                      Index("ix_audit_entries_reveals", "actor_id", "at", postgresql_where=_REVEALS,
                            sqlite_where=_REVEALS))

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                     autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_username: Mapped[str] = mapped_column(String(100))
    actor_name: Mapped[str] = mapped_column(String(100), default="")
    actor_unit: Mapped[str] = mapped_column(String(64), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(32), default="")
    object_id: Mapped[str] = mapped_column(String(64), default="")
    unit_code: Mapped[str] = mapped_column(String(64), default="", index=True)
    summary: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # The queue nonce of an entry sealed from audit_queue (not hashed): a replayed queue row cannot seal twice.
    nonce: Mapped[str | None] = mapped_column(String(32))


class AuditQueued(Base):
    """An entry written in its action's transaction, waiting to be chained (PostgreSQL; see hub.audit).

    ``mac`` is an HMAC (key derived from the instance's secret key, outside the
    database) over the nonce, the time and every field, so rows inserted by
    someone with database access only are never sealed into the chain.
    """

    __tablename__ = "audit_queue"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    nonce: Mapped[str] = mapped_column(String(32))  # unique among entries; the sealer drops repeats
    queued_at: Mapped[datetime] = mapped_column(DateTime)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_username: Mapped[str] = mapped_column(String(100))
    actor_name: Mapped[str] = mapped_column(String(100), default="")
    actor_unit: Mapped[str] = mapped_column(String(64), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32), default="")
    object_id: Mapped[str] = mapped_column(String(64), default="")
    unit_code: Mapped[str] = mapped_column(String(64), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[str] = mapped_column(Text, default="{}")
    mac: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """A single row holding the chain head; updating it serialises appends."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)
    hash: Mapped[str] = mapped_column(String(64))
