"""The contracts of the dispatch area: a dispatch with its attempts, the admin's retry and the
enabled platforms (docs/design.md §10.3 for the statuses)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from hub.contracts import In, Out, Timestamp, UserRef
from hub.models import DispatchAttempt
from hub.times import iso


class AttemptOut(Out):
    id: int
    kind: str
    number: int | None
    outcome: str | None
    code: str | None
    message: str | None
    worker: str | None
    started_at: Timestamp | None
    finished_at: Timestamp | None

    @classmethod
    def of(cls, a: DispatchAttempt) -> AttemptOut:
        return cls(id=a.id, kind=a.kind, number=a.number, outcome=a.outcome, code=a.code, message=a.message,
                   worker=a.worker, started_at=iso(a.started_at), finished_at=iso(a.finished_at))


class ManualCheck(Out):
    status: int | None = Field(description="HTTP status, null when the URL could not be fetched")
    title: str
    final_url: str
    error: str
    at: Timestamp | None


class DispatchOut(Out):
    """A dispatch with its reconciliation state and attempt history (attempts_log)."""

    id: int
    post_id: int
    account_id: int
    account: str
    platform: str
    revision: int
    status: str
    stage: str | None
    platform_ref: str | None
    article_id: str | None
    url: str | None
    attempts: int
    error: str | None
    published_at: Timestamp | None
    unconfirmed_since: Timestamp | None
    alerted_at: Timestamp | None
    verified_absent_at: Timestamp | None
    retry_allowed: bool = Field(description="reconciliation confirmed the platform holds nothing")
    updated_at: Timestamp | None
    attempts_log: list[AttemptOut] | None = None
    manual_by: UserRef | None = Field(None, description="manual-publish accounts: the editor who recorded the URL")
    manual_check: ManualCheck | None = Field(None, description="what the hub found at the recorded URL")


class ManualIn(In):
    """A manual publication's result: the URL where it is published (and when, default now)."""

    url: str = Field(max_length=500, description="http(s) URL of the publication on the platform")
    published_at: str | None = Field(None, json_schema_extra={"format": "date-time"},
                                     description="ISO 8601; without an offset: Asia/Shanghai; default now")
    screenshot: int | None = Field(None, description="an image media id (POST /media) showing the publication")


class CredentialField(Out):
    name: str
    label: str
    required: bool
    secret: bool


class PlatformOut(Out):
    platform: str
    label: str
    limits: dict[str, Any]
    credentials: list[CredentialField]


class PlatformList(Out):
    platforms: list[PlatformOut]
