"""Who may decide on a review step, and when an approval set is complete and valid.

Pure rules over plain data (docs/design.md §4.1, §4.2, §8, §9): no Flask, no database, nothing
from ``hub``. ``hub/approval`` reads the rows (the post, its chain snapshot, the people, the
decisions on the revision), turns them into the values of :mod:`review.chain` and this module,
and raises or records what these functions answer.

- A step names its people: a role in a unit relative to the post's unit, in a named ancestor
  unit, or a list of users; only active users (:func:`named_by`).
- Separation of duties: nobody decides on a revision they created or edited (the post's
  *contributors*; the post's ``author`` field is only the byline and plays no part), and one
  person takes one step of a revision (:func:`refusal_to_decide`, :func:`eligible_for_step`).
- A decision binds to the revision hash and carries the five confirmations of 国办发〔2018〕123号
  (:data:`CONFIRMATION_KEYS`), each true.
- Quorum: an "any" step is complete with one approval, an "all" step when everyone still
  eligible has approved (:func:`step_progress`).
- Before anything is sent, the approval set is checked again as a whole
  (:func:`approval_set_problem`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from review.chain import Chain, Person, Step

__all__ = [
    "CONFIRMATION_KEYS", "Decision", "Refusal", "StepProgress", "approval_set_problem", "awaits_decision",
    "candidates", "eligible_for_step", "named_anywhere", "named_by", "names_final_step", "refusal_to_decide",
    "requested_step", "step_progress", "unconfirmed",
]

# The five confirmations a reviewer gives on every approval (国办发〔2018〕123号):
# 政治关、法律关、政策关、保密关、文字关.
CONFIRMATION_KEYS = ("political", "legal", "policy", "secrecy", "wording")

APPROVED = "approved"
REJECTED = "rejected"
IN_REVIEW = "in_review"


@dataclass(frozen=True)
class Decision:
    """One reviewer's live (not voided) decision on one step of a revision."""

    reviewer_id: int
    step: int
    step_name: str = ""
    decision: str = APPROVED  # or "rejected"
    revision_hash: str = ""
    confirmations: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "confirmations", MappingProxyType(dict(self.confirmations or {})))

    @property
    def approved(self) -> bool:
        return self.decision == APPROVED


RefusalKind = Literal["forbidden", "conflict", "bad_request"]


@dataclass(frozen=True)
class Refusal:
    """Why a person may not decide now. ``kind`` follows the status order of docs/design.md §8:
    "forbidden" (403, the person can never do this), "conflict" (409, not now), "bad_request"
    (400); ``message`` is zh-CN, ``code`` stable, ``details`` go with the error."""

    kind: RefusalKind
    code: str
    message: str
    details: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "details", MappingProxyType(dict(self.details)))


# -- who a step names -------------------------------------------------------------------------
def named_by(step: Step, person: Person, unit_path: Sequence[int]) -> bool:
    """Whether ``step`` names ``person`` for a post whose unit path is ``unit_path`` (the post's
    unit first). Separation of duties is a separate rule (:func:`refusal_to_decide`)."""
    if not person.active:
        return False
    if step.users:
        return person.id in step.users
    unit_id = step.target_unit(unit_path)
    return unit_id is not None and person.has_role(step.role, unit_id)


def named_anywhere(chain: Chain, person: Person, unit_path: Sequence[int]) -> bool:
    """Whether any step of ``chain`` names ``person``."""
    return any(named_by(s, person, unit_path) for s in chain.steps)


def names_final_step(chain: Chain, person: Person, unit_path: Sequence[int]) -> bool:
    """Whether the last step of ``chain`` names ``person`` (who may withdraw a post, §10.2)."""
    return bool(chain.steps) and named_by(chain.steps[-1], person, unit_path)


def candidates(step: Step, people: Iterable[Person], unit_path: Sequence[int]) -> set[int]:
    """Ids of the people among ``people`` whom ``step`` names."""
    return {p.id for p in people if named_by(step, p, unit_path)}


# -- confirmations ----------------------------------------------------------------------------
def unconfirmed(confirmations: Mapping[str, Any] | None) -> list[str]:
    """The confirmation keys not given as ``True``, in :data:`CONFIRMATION_KEYS` order."""
    given = confirmations or {}
    return [k for k in CONFIRMATION_KEYS if given.get(k) is not True]


# -- deciding on a step -----------------------------------------------------------------------
def requested_step(value: Any) -> int | None | Refusal:
    """The optional 0-based step index a reviewer believes they are acting on (None: not given)."""
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        return Refusal("bad_request", "invalid_step", "step 必须是从 0 开始的环节序号")
    return int(value)


def refusal_to_decide(chain: Chain, index: int, person: Person, unit_path: Sequence[int], *,
                      contributors: Collection[int], status: str, decisions: Iterable[Decision],
                      requested: Any = None) -> Refusal | None:
    """Why ``person`` may not approve or reject step ``index`` of the post now; None: they may.

    ``contributors``: everyone who created or edited a revision of the post; ``status``: the
    post's status; ``decisions``: the live decisions (either outcome) on the current revision;
    ``requested``: the step the person named, if any. Checked in the order of docs/design.md §8:
    403 before 409, and the body (400) only once the state allows a decision at all.
    """
    if not named_anywhere(chain, person, unit_path):
        return Refusal("forbidden", "not_reviewer", "您没有审核本稿件的权限")
    if person.id in contributors:
        return Refusal("forbidden", "own_revision", "不能审核自己撰写或修改过的稿件")
    if status != IN_REVIEW:
        return Refusal("conflict", "not_in_review", f"稿件不在审核中（当前状态：{status}）", {"status": status})
    acted = next((d for d in decisions if d.reviewer_id == person.id), None)
    if acted is not None:
        return Refusal("conflict", "already_acted",
                       f"您已在「{acted.step_name}」审核过本版本，同一人不能审核多个环节")
    current = chain.steps[index]
    where = {"step": index, "step_name": current.name}
    asked = requested_step(requested)
    if isinstance(asked, Refusal):
        return asked
    if asked is not None and asked != index:
        taken = chain.steps[asked].name if asked < len(chain.steps) else str(asked)
        return Refusal("conflict", "step_taken",
                       f"「{taken}」环节已不是当前环节（已由他人处理），稿件现处于「{current.name}」环节，请刷新", where)
    if not named_by(current, person, unit_path):
        if any(named_by(s, person, unit_path) for s in chain.steps[:index]):
            return Refusal("conflict", "step_taken", f"您负责的环节已由他人处理，稿件现处于「{current.name}」环节", where)
        return Refusal("conflict", "not_your_step", f"稿件现处于「{current.name}」环节，尚未轮到您审核", where)
    return None


def eligible_for_step(index: int, named: Iterable[int], contributors: Collection[int],
                      decisions: Iterable[Decision]) -> set[int]:
    """Who may still approve step ``index``: named by the step (``named``, see :func:`candidates`),
    not a contributor, and not the approver of another step (one person, one step)."""
    others = {d.reviewer_id for d in decisions if d.approved and d.step != index}
    return set(named) - set(contributors) - others


@dataclass(frozen=True)
class StepProgress:
    """Where step ``index`` stands after an approval."""

    complete: bool
    # Eligible people who have not approved yet ("all" steps; empty when complete).
    waiting: tuple[int, ...]
    # Who has approved the step so far.
    approved: tuple[int, ...]
    # The step the post waits on next (the same step while incomplete; len(steps) when done).
    next_index: int
    # The last step is complete: the whole chain passed.
    final: bool


def step_progress(chain: Chain, index: int, decisions: Iterable[Decision],
                  eligible: Collection[int] = ()) -> StepProgress:
    """Whether step ``index`` is complete given the live ``decisions`` on the revision.

    An "any" step is complete with its approval; an "all" step once every ``eligible`` person
    (:func:`eligible_for_step`) has approved it.
    """
    step = chain.steps[index]
    approved = sorted({d.reviewer_id for d in decisions if d.approved and d.step == index})
    waiting = sorted(set(eligible) - set(approved)) if step.needs_everyone else []
    complete = not waiting
    next_index = index + 1 if complete else index
    return StepProgress(complete=complete, waiting=tuple(waiting), approved=tuple(approved),
                        next_index=next_index, final=complete and next_index >= len(chain.steps))


def awaits_decision(chain: Chain, index: int, person: Person, unit_path: Sequence[int], *,
                    contributors: Collection[int], acted: bool) -> bool:
    """Whether the post waits for ``person`` (待我审核): its current step ``index`` names them,
    they did not create or edit it, and they have not acted on its current revision (``acted``)."""
    step = chain.step_at(index)
    return step is not None and named_by(step, person, unit_path) and person.id not in contributors and not acted


# -- the approval set as a whole --------------------------------------------------------------
def approval_set_problem(chain: Chain, decisions: Iterable[Decision], *, revision_hash: str,
                         contributors: Collection[int], reviewers: Mapping[int, Person],
                         unit_path: Sequence[int]) -> str | None:
    """Why the approvals of a revision do not let it be published; None: complete and valid.

    Every step of ``chain`` (the snapshot the post was submitted under) needs live approvals of
    ``revision_hash`` with the five confirmations given, from people the step names
    (``reviewers``: the approvers as they are now), none of whom created or edited the post,
    each acting on one step only; an "any" step exactly one, an "all" step everyone recorded as
    ``required`` when it completed. Rejections are ignored.
    """
    approvals = [d for d in decisions if d.approved]
    if any(d.revision_hash != revision_hash for d in approvals):
        return "存在与版本哈希不一致的审核记录"
    by_step: dict[int, list[Decision]] = {}
    for d in approvals:
        by_step.setdefault(d.step, []).append(d)
    if set(by_step) - set(range(len(chain.steps))):
        return "存在不属于审核流程的审核记录"
    seen: set[int] = set()
    for i, step in enumerate(chain.steps):
        group = by_step.get(i, [])
        if not group:
            return f"缺少「{step.name}」环节的审核通过记录"
        for d in group:
            if d.reviewer_id in contributors:
                return f"「{step.name}」环节的审核人撰写或修改过本稿件"
            if d.reviewer_id in seen:
                return f"「{step.name}」环节的审核人已审核过其他环节"
            if unconfirmed(d.confirmations):
                return f"「{step.name}」环节未确认五项审核"
            reviewer = reviewers.get(d.reviewer_id)
            if reviewer is None or not named_by(step, reviewer, unit_path):
                return f"「{step.name}」环节的审核人无权审核"
            seen.add(d.reviewer_id)
        if step.needs_everyone:
            required = set(step.required)
            if not required or not required <= {d.reviewer_id for d in group}:
                return f"「{step.name}」环节要求全部审核人通过，审核记录不完整"
        elif len(group) != 1:
            return f"「{step.name}」环节的审核记录数量异常"
    return None
