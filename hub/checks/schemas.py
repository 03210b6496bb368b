"""The contracts of the content-check area: findings (docs/design.md §11), POST /checks, overrides,
the lexicon and the inspection (巡检) runs and alerts."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, RootModel

from hub.contracts import In, Out, Timestamp, UserRef

Category = Literal["typo", "outdated", "leader", "sensitive", "pii", "secret", "map", "link", "ad", "platform"]
Severity = Literal["block", "warn", "info"]


class OverrideOut(Out):
    by: UserRef
    reason: str
    at: Timestamp | None
    lexicon_version: str | None


class Finding(Out):
    """One content-check finding; ``start``/``end`` count code points of the text as given, end exclusive.
    A post's findings also carry ``id``, ``field``, ``lexicon_version`` and ``override``."""

    rule: str
    category: Category
    severity: Severity
    start: int
    end: int
    text: str
    suggestion: str | None
    message: str
    id: str | None = None
    field: str | None = None
    lexicon_version: str | None = None
    override: OverrideOut | None = None


class ChecksIn(In):
    """POST /checks: text or HTML."""

    model_config = ConfigDict(extra="ignore")

    content: str = Field(description="text or HTML")


class ChecksOut(Out):
    findings: list[Finding]


class OverrideIn(In):
    reason: str
    revision_hash: str | None = None


class FindingOverrideOut(Finding):
    model_config = ConfigDict(extra="allow")


class LexiconEntryIn(In):
    unit: str
    category: str
    wrong: str
    right: str | None = None
    severity: Severity | None = None
    reason: str | None = None
    exceptions: list[str] | str | None = None
    tag: str | None = None
    since: str | None = None


class LexiconCsv(RootModel[str]):
    """A CSV file of lexicon entries (the columns of GET /lexicon/export)."""


class RuleDisableIn(In):
    unit: str
    rule: str
    reason: str


class LexiconRecord(Out):
    """A lexicon entry, shared rule, disable or version as the lexicon pages list it."""

    model_config = ConfigDict(extra="allow")

    id: int | str | None = None


class LexiconView(Out):
    version: str
    page: int
    pages: int
    shared_total: int
    shared: list[LexiconRecord]
    additions: list[LexiconRecord]
    disables: list[LexiconRecord]
    versions: list[LexiconRecord]


class ImportResult(Out):
    model_config = ConfigDict(extra="allow")


class InspectionRunOut(Out):
    id: int
    trigger: str
    day: str = Field(description="Asia/Shanghai date, YYYY-MM-DD")
    status: str
    window_days: int | None
    lexicon_version: str | None
    created_at: Timestamp | None
    started_at: Timestamp | None
    finished_at: Timestamp | None
    posts_checked: int | None
    links_checked: int | None
    findings_count: int | None
    new_findings: int | None
    alerts: int | None
    error: str | None
    requested_by: UserRef | None


class InspectionFindingOut(Out):
    id: int
    post_id: int | None
    unit: str
    field: str
    rule: str
    category: str
    severity: str
    start: int
    end: int
    text: str
    suggestion: str | None
    message: str
    url: str | None
    is_new: bool
    lexicon_version: str | None


class InspectionRunDetail(InspectionRunOut):
    findings: list[InspectionFindingOut]


class InspectionRuns(Out):
    runs: list[InspectionRunOut]


class InspectionAlertOut(Out):
    id: int
    run_id: int | None
    unit: str
    post_id: int | None
    account_id: int | None
    findings: int = Field(description="how many new findings")
    summary: str
    created_at: Timestamp | None
    acknowledged_at: Timestamp | None


class InspectionAlerts(Out):
    alerts: list[InspectionAlertOut]
