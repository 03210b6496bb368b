"""What each account's platform holds of the hub's uploads (hub/dispatch/media.py keeps it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.models.base import Base, utcnow

PLATFORM_MEDIA_KINDS = ("cover", "image")


class PlatformMedia(Base):
    """One upload to one account's platform: a cover material (WeChat ``thumb``: counted against the
    account's permanent-material library, deleted once no dispatch uses it) or a body image URL
    (``media/uploadimg``: free to keep, reused for ever). One per (account, kind, bytes as sent)."""

    __tablename__ = "platform_media"
    __table_args__ = (UniqueConstraint("account_id", "kind", "sha256", name="uq_platform_media_account_kind_sha"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    kind: Mapped[str] = mapped_column(String(10))  # cover | image
    sha256: Mapped[str] = mapped_column(String(64))  # of the bytes as sent (the thumb, the body image)
    source_sha256: Mapped[str] = mapped_column(String(64), default="")  # of the hub's image (Media.sha256)
    media_id: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
