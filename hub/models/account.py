"""Platform accounts, their encrypted credentials, and uploaded media."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.models import states
from hub.models.base import Base, utcnow
from hub.models.org import Unit

ACCOUNT_STATUSES = tuple(str(s) for s in states.AccountStatus)  # hub/models/states.py


class Media(Base):
    """An uploaded image (post cover, account default cover, body image) or video. Addressed by id.

    An image keeps its bytes in ``data``. A video's bytes are a file under the instance dir
    (``path``, relative to it; ``data`` stays empty): hub/posts/video.py streams it there."""

    __tablename__ = "media"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    mime: Mapped[str] = mapped_column(String(50))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    #: "image" or "video" (migration 0015).
    kind: Mapped[str] = mapped_column(String(10), default="image", server_default="image")
    #: Size in bytes (videos; images: len(data)).
    size: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    #: A video's duration in seconds (read with mutagen).
    duration: Mapped[float | None] = mapped_column(Float)
    #: A video's file, relative to the instance dir.
    path: Mapped[str | None] = mapped_column(String(300))


#: One main account per unit and platform (a manual platform: per platform name) among the accounts not closed (the rule of
#: hub.accounts.service._check_main, held by the database too: two requests racing both pass the check).
ONE_MAIN_INDEX = "uq_accounts_one_main"
ONE_MAIN_WHERE = "is_main AND status <> 'closed'"


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (Index(ONE_MAIN_INDEX, "unit_id", "platform", "platform_name", unique=True,
                            sqlite_where=text(ONE_MAIN_WHERE), postgresql_where=text(ONE_MAIN_WHERE)),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    platform: Mapped[str] = mapped_column(String(20))
    #: A manual-publish account's platform as the admin names it (视频号, 头条号, 人民号 …); "" otherwise.
    platform_name: Mapped[str] = mapped_column(String(50), default="", server_default="")
    name: Mapped[str] = mapped_column(String(200))
    api_base: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), default="active")
    is_main: Mapped[bool] = mapped_column(Boolean, default=True)
    justification: Mapped[str | None] = mapped_column(Text)
    default_cover_id: Mapped[int | None] = mapped_column(ForeignKey("media.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Filing (备案) data: what a supervisor files upward (see hub.accounts.filing).
    host_unit: Mapped[str | None] = mapped_column(String(200))  # 主办单位
    operating_unit: Mapped[str | None] = mapped_column(String(200))  # 承办单位
    responsible_person: Mapped[str | None] = mapped_column(String(100))
    responsible_phone: Mapped[str | None] = mapped_column(String(50))
    certification_name: Mapped[str | None] = mapped_column(String(200))  # 认证主体名称
    launch_date: Mapped[date | None] = mapped_column(Date)
    ipv6: Mapped[bool | None] = mapped_column(Boolean)  # IPv6 support (mobile apps)
    activated_at: Mapped[datetime | None] = mapped_column(DateTime)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    closure_notice_text: Mapped[str | None] = mapped_column(Text)  # 停更公告
    closure_notice_date: Mapped[date | None] = mapped_column(Date)
    # Result of the last explicit credential verification (a real platform call).
    verified_at: Mapped[datetime | None] = mapped_column(DateTime)
    verify_ok: Mapped[bool | None] = mapped_column(Boolean)
    verify_message: Mapped[str | None] = mapped_column(Text)

    unit: Mapped[Unit] = relationship(lazy="joined")
    credentials: Mapped[list[Credential]] = relationship(
        back_populates="account", lazy="selectin", cascade="all, delete-orphan"
    )


class Credential(Base):
    """One secret field of an account, envelope-encrypted (see hub.vault)."""

    __tablename__ = "credentials"
    __table_args__ = (UniqueConstraint("account_id", "field", name="uq_credentials_account_field"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    field: Mapped[str] = mapped_column(String(50))
    version: Mapped[int] = mapped_column(Integer, default=1)
    key_version: Mapped[int] = mapped_column(Integer, index=True)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    changed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    account: Mapped[Account] = relationship(back_populates="credentials")
