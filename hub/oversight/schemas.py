"""Request and response bodies of the supervision API (hub/oversight/api.py)."""

from __future__ import annotations

from pydantic import Field

from hub.contracts import In, Out


class MonitorAlertOut(Out):
    kind: str = Field(description="silence, or message_overdue (a message of the public not answered in 5 working days)")
    level: str = Field(description="warn (7-13 days) or veto (14 days or more)")
    since: str = Field(description="Asia/Shanghai date the level was reached, YYYY-MM-DD")


class MonitorAccount(Out):
    id: int
    name: str
    platform: str
    unit: str
    last_published_at: str | None = Field(description="ISO 8601 UTC; null if never published")
    days_silent: int | None
    posts_7d: int
    posts_30d: int
    alerts: list[MonitorAlertOut]


class MonitorOut(Out):
    as_of: str
    accounts: list[MonitorAccount]


class NoticeIn(In):
    unit: str = Field(min_length=1, max_length=64)
    account_id: int | None = None
    text: str = Field(min_length=1, max_length=20000)
    received_on: str = Field(description="YYYY-MM-DD")


class Accountability(In):
    people: int = Field(ge=0, le=100000)
    measures: str = Field(default="", max_length=20000)


class ReportIn(In):
    rectification: str = Field(min_length=1, max_length=50000)
    accountability: Accountability | None = None


class ReturnIn(In):
    reason: str = Field(min_length=1, max_length=5000)


class AccountabilityOut(Out):
    people: int
    measures: str


class RectificationOut(Out):
    id: int
    unit: str
    account_id: int | None
    source: str = Field(description="notice | inspection")
    text: str
    received_on: str
    due_on: str = Field(description="10 working days after received_on (chinese-calendar)")
    status: str = Field(description="open | reported | accepted | returned")
    overdue: bool
    escalated: bool
    report: str | None
    accountability: AccountabilityOut | None
    return_reason: str | None


class Rectifications(Out):
    rectifications: list[RectificationOut]


class AnnualAccount(Out):
    id: int
    unit: str
    name: str
    platform: str
    publications: int = Field(description="dispatches published in the year (Asia/Shanghai)")
    originals: int = Field(description="of those, revisions marked original (原创)")
    withdrawals: int
    inspected: int = Field(description="quarterly inspections carried out in the year that held this account")
    inspection_failed: int = Field(description="of those, the ones it failed")
    reads: int | None = Field(None, description="reads of its publications as the platform last counted them "
                                                "(pulled in the year; null where the platform gives none)")
    followers: int | None = Field(None, description="followers at the last day of the year with a figure")


class AnnualTotals(Out):
    publications: int
    originals: int
    withdrawals: int
    posts_reviewed: int
    posts_returned: int
    messages_received: int
    messages_answered: int
    answer_days_avg: float
    inspections: int = Field(description="quarterly inspections carried out in the year on accounts of the subtree")
    inspected_passed: int = Field(description="account items of those inspections that passed")
    inspected_failed: int = Field(description="account items of those inspections that failed")
    rectifications: int
    rectifications_accepted: int
    rectifications_overdue: int = Field(description="not accepted and past their due date (today)")
    credential_rotations: int
    credential_reveals: int
    reads: int | None = Field(None, description="sum of the accounts' reads (null when none came back)")
    followers: int | None = Field(None, description="sum of the accounts' followers (null when none came back)")


class AnnualReportOut(Out):
    year: int
    unit: str
    unit_name: str
    accounts: list[AnnualAccount]
    totals: AnnualTotals
    published_url: str | None


class AnnualPublishedIn(In):
    unit: str = Field(min_length=1, max_length=64)
    year: int
    url: str = Field(min_length=1, max_length=500)


class AnnualPublishedOut(Out):
    unit: str
    year: int
    url: str
    published_at: str | None


class InspectionIn(In):
    unit: str = Field(min_length=1, max_length=64)
    period: str = Field(description="YYYYQn, e.g. 2026Q4", max_length=8)
    as_of: str | None = Field(default=None, description="reference date YYYY-MM-DD (default today)")


class InspectionItemIn(In):
    account_id: int
    code: str = Field(description="an indicator code of the 19号 table: V1-V3 veto, D1-D7 deductions", max_length=8)
    note: str = Field(default="", max_length=5000)
    count: int = Field(default=1, description="how many times found (for per-occurrence deductions)")


class InspectionItemOut(Out):
    account_id: int
    account: str
    platform: str
    unit: str
    veto: bool
    score: int
    passed: bool
    problems: list[str]
    rectification_id: int | None


class QuarterlyInspectionOut(Out):
    id: int
    unit: str
    period: str
    as_of: str
    status: str = Field(description="done | published")
    public_url: str | None
    items: list[InspectionItemOut]
