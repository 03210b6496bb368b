"""The contracts of the approval area: decisions on a post (docs/design.md §6.2), scheduling,
withdrawal, chains, unit pauses, the review queue and revision diffs."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, StrictBool, StrictStr, field_validator

from hub.contracts import In, Out, Timestamp, UnitRef, UserRef
from hub.posts.schemas import CommentOut


# -- requests -------------------------------------------------------------------------------
class Confirmations(In):
    """The five confirmations of 国办发〔2018〕123号, each true (政治关、法律关、政策关、保密关、文字关)."""

    model_config = ConfigDict(extra="ignore")

    political: StrictBool
    legal: StrictBool
    policy: StrictBool
    secrecy: StrictBool
    wording: StrictBool


class ApproveIn(In):
    """Approve the current step of the revision with this hash. A missing hash or check is 400."""

    model_config = ConfigDict(extra="ignore")

    revision_hash: StrictStr = Field(min_length=1)
    checks: Confirmations
    comment: StrictStr = Field("", max_length=2000)
    step: int | None = Field(None, ge=0, description="the step index the reviewer acts on (default: current)")

    @field_validator("comment", mode="before")
    @classmethod
    def _no_comment(cls, value: Any) -> Any:
        return value or ""  # as before: an empty or null comment is no comment


class ReasonIn(In):
    """{reason}: reject, withdraw (撤稿), suspend, pause."""

    model_config = ConfigDict(extra="ignore")

    reason: str = Field(min_length=1)


class OptionalReasonIn(In):
    model_config = ConfigDict(extra="ignore")

    reason: str | None = None


class ScheduleIn(In):
    publish_at: str | None = Field(json_schema_extra={"format": "date-time"},
                                   description="ISO 8601; null: as soon as approved / now")


class ChainStepIn(In):
    name: str
    role: str | None = None
    unit: str | None = None
    levels_up: int | None = None
    users: list[str] | None = None
    quorum: Literal["any", "all"] | None = None


class ChainIn(In):
    """A new chain version for the unit, or {inherit: true} to drop the unit's own chain."""

    steps: list[ChainStepIn] | None = None
    category: str | None = None
    note: str | None = None
    base_version: int | None = None
    inherit: bool | None = None


# -- responses ------------------------------------------------------------------------------
class ChainStepOut(Out):
    name: str
    role: str | None
    unit: str | None
    levels_up: int | None
    users: list[str]
    quorum: str
    who: str = Field(description="who may take the step, in words")


class ChainSource(Out):
    chain_id: int
    unit: str
    unit_name: str
    category: str | None
    version: int


class EffectiveChain(Out):
    source: ChainSource | None = Field(description="the unit's version in force; null: the built-in 三审")
    steps: list[ChainStepOut]


class ChainVersion(Out):
    id: int
    unit: str
    category: str | None
    version: int
    inherit: bool
    steps: list[ChainStepOut]
    note: str | None
    created_by: UserRef | None
    created_at: Timestamp | None


class ChainView(Out):
    unit: UnitRef
    category: str | None
    effective: EffectiveChain
    by_category: dict[str, EffectiveChain]
    own: list[ChainVersion]
    history: list[ChainVersion]
    can_edit: bool


class PauseOut(Out):
    id: int
    unit: str
    unit_name: str
    reason: str
    paused_by: UserRef | None
    paused_at: Timestamp | None
    resumed_by: UserRef | None
    resumed_at: Timestamp | None


class PauseState(Out):
    unit: str
    paused: bool
    pause: PauseOut | None
    own: bool
    released: int | None = Field(None, description="after resume: held dispatches queued again")


class CommentList(Out):
    comments: list[CommentOut]


class QueueStep(Out):
    index: int
    name: str


class QueuePost(Out):
    id: int
    title: str
    unit: str
    category: str
    step: QueueStep
    submitted_at: Timestamp | None
    account_ids: list[int]


class ReviewQueue(Out):
    total: int
    count: int
    by_unit: dict[str, Any]
    posts: list[QueuePost]


class DiffLine(Out):
    op: str
    text: str


class FieldDiff(Out):
    field: str
    lines: list[DiffLine]


class DiffOut(Out):
    current: int
    base: int | None
    changes: list[FieldDiff]
