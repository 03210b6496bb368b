"""Notifications (issue 18): in-app items, outside channels per unit, preferences per person, and
one delivery row per (event, recipient, channel) — its idempotency key is unique, so an event is
never sent twice through the same channel to the same recipient."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.models.base import Base, utcnow

CHANNEL_KINDS = ("wecom", "wecom_app", "dingtalk", "email")
DELIVERY_STATUSES = ("pending", "sending", "sent", "failed", "held")
NOTIFY_KINDS = ("review_waiting", "post_returned", "post_published", "post_failed", "dispatch_unconfirmed",
                "credential_due", "silence", "rectification_open", "rectification_due")


class NotifyChannel(Base):
    """An outside channel of a unit: a 企业微信 or 钉钉 group robot, a 企业微信 application (messages to
    each person's 企业微信 account), or e-mail. Its webhook URL and secret (they grant posting to the
    group; the application's corpsecret) live in the vault (:class:`NotifySecret`)."""

    __tablename__ = "notify_channels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100), default="")
    #: Non-secret settings: msgtype (text | markdown); e-mail: to (addresses), username;
    #: wecom_app: corpid, agentid, api_base.
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    #: A hint of the URL to show back (scheme, host and path; never the query with its key or token).
    url_hint: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class NotifySecret(Base):
    """A channel's sealed URL or secret (hub/vault.py; sealed as account 0, field ``notify:<id>:<field>``,
    rewrapped with the credentials on key rotation)."""

    __tablename__ = "notify_secrets"
    __table_args__ = (UniqueConstraint("channel_id", "name", name="uq_notify_secrets_channel_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("notify_channels.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(20))  # url | secret
    field: Mapped[str] = mapped_column(String(80))  # the vault's associated-data field
    version: Mapped[int] = mapped_column(Integer, default=1)
    key_version: Mapped[int] = mapped_column(Integer, index=True)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    changed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class NotifyPreference(Base):
    """One person's choices: which outside channels reach them, their e-mail address, digest mode."""

    __tablename__ = "notify_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    email: Mapped[str] = mapped_column(String(254), default="")
    email_on: Mapped[bool] = mapped_column(Boolean, default=True)
    #: The person's 企业微信 account (UserID), for the unit's 企业微信 application messages.
    wecom_userid: Mapped[str] = mapped_column(String(64), default="")
    wecom_on: Mapped[bool] = mapped_column(Boolean, default=True)
    dingtalk_on: Mapped[bool] = mapped_column(Boolean, default=True)
    digest: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Notification(Base):
    """An in-app item for one person (the bell)."""

    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("event_key", "user_id", name="uq_notifications_event_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    kind: Mapped[str] = mapped_column(String(40))
    event_key: Mapped[str] = mapped_column(String(160))
    text: Mapped[str] = mapped_column(String(500))
    link: Mapped[str] = mapped_column(String(300), default="")  # a path in the hub
    post_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(DateTime)


class NotifyDelivery(Base):
    """One message through one outside channel: pending → sending → sent | failed (or held for the
    recipient's daily digest). ``key`` = event + recipient + channel, unique: no duplicates."""

    __tablename__ = "notify_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("notify_channels.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(String(500))
    link: Mapped[str] = mapped_column(String(300), default="")  # absolute URL
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(300))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
