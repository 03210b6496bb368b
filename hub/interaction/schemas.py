"""Request and response bodies of the interaction API (hub/interaction/api.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from hub.checks.schemas import Finding
from hub.contracts import In, Out


class MessageOut(Out):
    id: int
    account_id: int | None
    channel: str = Field(description="wechat | weibo | form | phone | letter | transfer")
    text: str
    received_at: str | None = Field(description="ISO 8601 UTC")
    due_on: str = Field(description="5 working days after the Beijing day of receipt (chinese-calendar)")
    status: str = Field(description="open | in_review | approved | closed")
    assignee: str | None = Field(description="the handler's username")
    auto_answered: bool


class Messages(Out):
    messages: list[MessageOut]


class MessageIn(In):
    unit: str = Field(min_length=1, max_length=64)
    channel: Literal["phone", "letter", "transfer"]
    text: str = Field(min_length=1, max_length=5000)
    received_at: str = Field(max_length=40, description="ISO 8601; without an offset: Asia/Shanghai")
    name: str = Field(default="", max_length=50, description="optional; sealed in the vault, never shown")
    phone: str = Field(default="", max_length=30, description="optional; sealed in the vault, never shown")


class MessageCreated(Out):
    id: int
    due_on: str


class AssignIn(In):
    username: str = Field(min_length=1, max_length=100)


class ForwardIn(In):
    unit: str = Field(min_length=1, max_length=64)
    note: str = Field(min_length=1, max_length=2000)


class CloseIn(In):
    reason: Literal["spam", "abuse"]
    note: str = Field(default="", max_length=2000)


class AnswerIn(In):
    text: str = Field(min_length=1, max_length=5000)


class AnswerOut(Out):
    id: int
    message_id: int
    status: str = Field(description="in_review | approved | rejected | void | sending | sent | failed")
    revision_hash: str
    text: str
    findings: list[Finding]
    sent_at: str | None


class AnswerApproveIn(In):
    revision_hash: str = Field(min_length=1, max_length=64)
    comment: str = Field(default="", max_length=2000)


class DecisionRejectIn(In):
    reason: str = Field(min_length=1, max_length=2000)


class QaIn(In):
    unit: str | None = Field(default=None, max_length=64, description="default: the caller's unit")
    question: str = Field(min_length=1, max_length=2000)
    answer: str = Field(min_length=1, max_length=5000)
    category: str = Field(default="", max_length=64)
    keywords: list[str] = Field(min_length=1, max_length=20)
    source_policy: str = Field(default="", max_length=500)
    expires_on: str | None = Field(default=None, description="YYYY-MM-DD; not served after this day")


class QaApproveIn(In):
    revision_hash: str = Field(min_length=1, max_length=64)


class QaOut(Out):
    id: int
    unit: str
    question: str
    answer: str
    category: str
    keywords: list[str]
    source_policy: str
    expires_on: str | None
    status: str = Field(description="in_review | active | expired (active but past expires_on: due for review) "
                                    "| rejected")
    revision_hash: str
    duplicate_of: int | None = Field(description="the active entry this question nearly duplicates")
    similarity: int | None = Field(description="estimated Jaccard similarity with it, percent (MinHash)")
    served_count: int
    findings: list[Finding]


class QaList(Out):
    entries: list[QaOut]


class PublicMessage(Out):
    id: int
    channel: str
    question: str = Field(description="phone numbers, ID numbers and names masked")
    received_at: str | None = Field(description="留言时间")
    answered_at: str | None = Field(description="答复时间")
    answer_unit: str = Field(description="答复单位")
    answer: str = Field(description="答复内容")


class MonthStats(Out):
    month: str
    received: int
    answered: int
    answered_in_time: int
    auto_answered: int
    average_working_days: float


class PublicMessages(Out):
    unit: str
    unit_name: str
    messages: list[PublicMessage]
    months: list[MonthStats]
