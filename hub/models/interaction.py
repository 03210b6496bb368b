"""政民互动 (issue 16): the inbox of messages the public sends, their reviewed answers, the
咨询问答库 and the contact data (encrypted with the vault). Why each field exists:
hub/interaction/fields.py. Migration 0014_interaction."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.models.account import Account
from hub.models.base import Base, utcnow
from hub.models.org import Unit, User

CHANNELS = ("wechat", "weibo", "form", "phone", "letter", "transfer")
MESSAGE_STATUSES = ("open", "in_review", "approved", "closed")
ANSWER_STATUSES = ("in_review", "approved", "rejected", "void", "sending", "sent", "failed")
CLOSE_REASONS = ("answered", "auto_answered", "spam", "abuse")
QA_STATUSES = ("in_review", "active", "rejected")


class InboxMessage(Base):
    """One message from the public, in the inbox of ``unit`` (the unit handling it now)."""

    __tablename__ = "interaction_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    channel: Mapped[str] = mapped_column(String(12))
    external_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    thread_ref: Mapped[str | None] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    public_text: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    due_on: Mapped[date] = mapped_column(Date)
    warn_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    forwarded_from_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    forward_note: Mapped[str | None] = mapped_column(Text)
    auto_answered: Mapped[bool] = mapped_column(Boolean, default=False)
    qa_entry_id: Mapped[int | None] = mapped_column(ForeignKey("interaction_qa.id"))
    answer_text: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    answer_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    delivered_via: Mapped[str | None] = mapped_column(String(16))
    close_reason: Mapped[str | None] = mapped_column(String(16))
    close_note: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    warned_at: Mapped[datetime | None] = mapped_column(DateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime)
    contact_erased_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    unit: Mapped[Unit] = relationship(foreign_keys=[unit_id], lazy="joined")
    account: Mapped[Account | None] = relationship(lazy="joined")
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id], lazy="joined")
    answer_unit: Mapped[Unit | None] = relationship(foreign_keys=[answer_unit_id])
    forwarded_from: Mapped[Unit | None] = relationship(foreign_keys=[forwarded_from_id])


class MessageAnswer(Base):
    """A drafted answer to a message; reviewed (``steps`` approvals by different reviewers, none
    of them an editor of the text) before it is sent. ``revision_hash`` binds the exact text."""

    __tablename__ = "interaction_answers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("interaction_messages.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    revision_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), default="in_review", index=True)
    steps: Mapped[int] = mapped_column(Integer, default=1)
    editor_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reject_reason: Mapped[str | None] = mapped_column(Text)
    approved_at: Mapped[datetime | None] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    platform_ref: Mapped[str | None] = mapped_column(String(100))
    send_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    message: Mapped[InboxMessage] = relationship(lazy="joined")
    author: Mapped[User | None] = relationship(lazy="joined")


class AnswerDecision(Base):
    """One reviewer's decision on one revision (hash) of an answer."""

    __tablename__ = "interaction_answer_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("interaction_answers.id"), index=True)
    step: Mapped[int] = mapped_column(Integer)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decision: Mapped[str] = mapped_column(String(10))  # approved | rejected
    revision_hash: Mapped[str] = mapped_column(String(64))
    comment: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    reviewer: Mapped[User] = relationship(lazy="joined")


class QaEntry(Base):
    """An entry of the 咨询问答库: checked and reviewed before it is served; never served after
    ``expires_on``; ``duplicate_of_id`` is the active entry it nearly duplicates, if any."""

    __tablename__ = "interaction_qa"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(64), default="")
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    source_policy: Mapped[str] = mapped_column(String(500), default="")
    expires_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="in_review", index=True)
    revision_hash: Mapped[str] = mapped_column(String(64))
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("interaction_qa.id"))
    similarity: Mapped[int | None] = mapped_column(Integer)  # percent, estimated Jaccard of the questions
    served_count: Mapped[int] = mapped_column(Integer, default=0)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime)
    reject_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    unit: Mapped[Unit] = relationship(lazy="joined")
    author: Mapped[User | None] = relationship(foreign_keys=[author_id], lazy="joined")


class ContactSecret(Base):
    """One piece of a sender's contact data (name, phone, WeChat openid, Weibo user id), sealed
    with the vault like a credential. The vault's associated data is (``account_id``, ``field``,
    ``version``): here ``account_id`` holds the message id (the column keeps the vault's name so
    that ``hub vault rotate-key`` rewraps these rows with the credentials). Deleted when the
    retention period after closing ends (hub/interaction/jobs.py)."""

    __tablename__ = "interaction_contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("interaction_messages.id"), index=True)
    account_id: Mapped[int] = mapped_column(Integer)  # the vault subject: the message id
    field: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer, default=1)
    key_version: Mapped[int] = mapped_column(Integer)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class InteractionCursor(Base):
    """Where the Weibo comment pull of one account stopped (the platform's since_id)."""

    __tablename__ = "interaction_cursors"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    since_id: Mapped[str | None] = mapped_column(String(64))
    polled_at: Mapped[datetime | None] = mapped_column(DateTime)
