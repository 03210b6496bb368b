"""Vault bookkeeping: master-key versions (check values, retirement), archived
credential versions kept for rollback, and credential rotation tasks.

No key material and no plaintext is stored here: a key check is an AES-GCM
encryption of a fixed label under the key, which proves a loaded key is the
one that was used before without revealing it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.models.account import Account
from hub.models.base import Base, utcnow
from hub.models.org import User


class VaultKey(Base):
    """A master-key version the instance has used: its check value and whether it is retired."""

    __tablename__ = "vault_keys"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    check_value: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(DateTime)


class CredentialArchive(Base):
    """The previous version of a rotated credential, still encrypted, until its grace period ends."""

    __tablename__ = "credential_archive"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    field: Mapped[str] = mapped_column(String(50))
    version: Mapped[int] = mapped_column(Integer)
    key_version: Mapped[int] = mapped_column(Integer, index=True)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    replaced_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    destroy_after: Mapped[datetime] = mapped_column(DateTime, index=True)


class RotationTask(Base):
    """A credential that must be rotated (e.g. someone who could reveal it was disabled)."""

    __tablename__ = "rotation_tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    field: Mapped[str] = mapped_column(String(50))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="open", index=True)  # open | done
    opened_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    trigger_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    account: Mapped[Account] = relationship(lazy="joined")
    trigger_user: Mapped[User | None] = relationship(lazy="joined")
