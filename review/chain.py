"""Review chains as values: the ordered steps a post passes before publication (docs/design.md §9).

Pure rules over plain data: no Flask, no database, nothing from ``hub``. The database side
(reading chain versions, users and units, saving new versions) is ``hub/approval/chains.py``,
which turns rows into the values below and calls the functions here.

A chain is configured per unit and inherited by the units below it; a unit may also define a
chain for one content category (e.g. 政策文件). For a post of unit U and category C the chain
in force is, in this order (:func:`in_force`):

1. the nearest chain for category C on U or one of its ancestors;
2. otherwise the nearest general chain (category "") on U or an ancestor;
3. otherwise the default 三审: 初审 → 复审 → 终审, each taken by any one reviewer of the
   post's unit (:meth:`Chain.default`).

Each step has a name, who may act (a role in the post's unit, in a unit a number of levels
above it, or in a named ancestor unit; or a list of named users) and a quorum: "any" (one of
them) or "all" (every eligible one). A post keeps the chain it was submitted under as a JSON
snapshot (:meth:`Chain.to_json`, :meth:`Chain.from_json`), so editing a chain never changes a
review in progress.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

DEFAULT_STEPS = ("初审", "复审", "终审")
STEP_ROLES = ("reviewer", "supervisor", "admin")
QUORUMS = ("any", "all")
MAX_STEPS = 10
MAX_LEVELS_UP = 6
MAX_STEP_NAME = 20
STEP_FIELDS = frozenset({"name", "role", "unit", "levels_up", "users", "quorum", "who"})


@dataclass(frozen=True)
class UnitRef:
    """A unit as the chain rules see it: its id and code."""

    id: int
    code: str


@dataclass(frozen=True)
class Person:
    """A user as the review rules see them: id, whether the account is active, the roles held
    (``(role, unit id)`` pairs) and the user's own unit."""

    id: int
    active: bool = True
    grants: frozenset[tuple[str, int]] = frozenset()
    unit_id: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "grants", frozenset(self.grants))

    def has_role(self, role: str, unit_id: int) -> bool:
        return (role, unit_id) in self.grants

    @property
    def role_names(self) -> frozenset[str]:
        return frozenset(role for role, _unit in self.grants)


def _frozen_mapping(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(value or {}))


@dataclass(frozen=True)
class Step:
    """One step of a chain: who may act and how many of them must approve."""

    name: str
    role: str = "reviewer"
    # Relative target unit: how many levels above the post's unit (0 = the post's own unit).
    unit_levels_up: int = 0
    users: tuple[int, ...] = ()
    quorum: str = "any"
    # A named unit (must be the post's unit or one of its ancestors); overrides unit_levels_up.
    unit_id: int | None = None
    unit_code: str = ""
    user_names: tuple[str, ...] = ()
    # Where the step comes from (chain id, unit, category, version); empty for the default chain.
    source: Mapping[str, Any] = field(default_factory=dict, hash=False)
    # An "all" step, once complete: everyone who made up "all" (recorded on the post's snapshot).
    required: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "users", tuple(self.users))
        object.__setattr__(self, "user_names", tuple(self.user_names))
        object.__setattr__(self, "required", tuple(self.required))
        object.__setattr__(self, "source", _frozen_mapping(self.source))

    @property
    def needs_everyone(self) -> bool:
        """Quorum "all": every eligible person must approve, not just one of them."""
        return self.quorum == "all"

    def target_unit(self, unit_path: Sequence[int]) -> int | None:
        """The unit whose role holders may act on this step for a post whose unit and ancestors
        are ``unit_path`` (the post's unit first); None: no such unit."""
        if self.unit_id is not None:
            return self.unit_id if self.unit_id in unit_path else None
        levels = max(self.unit_levels_up, 0)  # a negative count never climbs (nor wraps round)
        return unit_path[levels] if levels < len(unit_path) else None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "role": self.role, "unit_levels_up": self.unit_levels_up,
                               "users": list(self.users), "quorum": self.quorum}
        if self.unit_id is not None:
            out["unit_id"], out["unit_code"] = self.unit_id, self.unit_code
        if self.user_names:
            out["user_names"] = list(self.user_names)
        if self.source:
            out["source"] = dict(self.source)
        if self.required:
            out["required"] = list(self.required)
        return out

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Step:
        return cls(name=d["name"], role=d.get("role", "reviewer"), unit_levels_up=int(d.get("unit_levels_up", 0)),
                   users=tuple(int(u) for u in d.get("users") or []), quorum=d.get("quorum", "any"),
                   unit_id=d.get("unit_id"), unit_code=d.get("unit_code", ""),
                   user_names=tuple(d.get("user_names") or []), source=dict(d.get("source") or {}),
                   required=tuple(int(u) for u in d.get("required") or []))


@dataclass(frozen=True)
class Chain:
    """An ordered list of steps."""

    steps: tuple[Step, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", tuple(self.steps))

    @classmethod
    def default(cls) -> Chain:
        """三审: 初审 → 复审 → 终审, each by any one reviewer of the post's unit."""
        return cls(tuple(Step(name) for name in DEFAULT_STEPS))

    @classmethod
    def from_json(cls, data: Iterable[Mapping[str, Any]]) -> Chain:
        return cls(tuple(Step.from_json(d) for d in data))

    def to_json(self) -> list[dict[str, Any]]:
        return [s.to_json() for s in self.steps]

    def with_source(self, source: Mapping[str, Any]) -> Chain:
        """The same steps, each marked as coming from ``source``."""
        return Chain(tuple(replace(s, source=dict(source)) for s in self.steps))

    def step_at(self, index: int) -> Step | None:
        """The step at ``index``, or None past the end (or before the start)."""
        return self.steps[index] if 0 <= index < len(self.steps) else None


def in_force(unit_path: Sequence[int], defined: Collection[tuple[int, str]],
             category: str = "") -> tuple[int, str] | None:
    """Which (unit id, category) chain is in force for posts of ``category`` in the unit whose
    path (the unit first, then its ancestors) is ``unit_path``.

    ``defined``: the (unit id, category) pairs whose newest version defines steps. The nearest
    chain for the category wins, then the nearest general chain; None means the default chain.
    """
    for cat in ([category] if category else []) + [""]:
        for unit_id in unit_path:
            if (unit_id, cat) in defined:
                return unit_id, cat
    return None


# -- configuration ------------------------------------------------------------------------------
class InvalidChain(ValueError):
    """A chain as submitted for saving breaks a rule: the message (zh-CN), a stable code and
    details (e.g. the 1-based ``step`` at fault)."""

    def __init__(self, message: str, code: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.details = details


def may_be_named(person: Person, allowed_units: Collection[int]) -> bool:
    """Whether ``person`` may be named in a step of a unit's chain: a member of the unit, an
    ancestor or a unit below it (``allowed_units``), holding one of the step roles."""
    return person.unit_id in allowed_units and bool(person.role_names & set(STEP_ROLES))


def named_usernames(raw: Any) -> set[str]:
    """Every username the steps as given name (to look them up before :func:`parse_steps`)."""
    if not isinstance(raw, list) or len(raw) > MAX_STEPS:
        return set()
    return {x for d in raw if isinstance(d, dict) and isinstance(d.get("users"), list)
            for x in d["users"] if isinstance(x, str) and x}


def parse_steps(raw: Any, *, unit_path: Sequence[UnitRef], allowed_user_units: Collection[int],
                people: Mapping[str, Person]) -> Chain:
    """Validate the steps of a chain as given to the API for the unit ``unit_path[0]``.

    ``unit_path``: the unit and its ancestors; ``allowed_user_units``: the units whose members
    may be named (the path and the unit's subtree); ``people``: the users named anywhere in
    ``raw`` that exist, by username. Raises :class:`InvalidChain` with the first problem.
    """
    if not isinstance(raw, list) or not raw:
        raise InvalidChain("steps 必须是非空数组，每项为一个审核环节", "invalid_steps")
    if len(raw) > MAX_STEPS:
        raise InvalidChain(f"审核环节不得超过 {MAX_STEPS} 个", "too_many_steps")
    unit = unit_path[0]
    by_code = {u.code: u for u in unit_path}
    steps: list[Step] = []
    names: set[str] = set()
    for i, d in enumerate(raw, start=1):
        where = f"第 {i} 个环节"
        if not isinstance(d, dict):
            raise InvalidChain(f"{where}必须是对象", "invalid_step", step=i)
        unknown = set(d) - STEP_FIELDS
        if unknown:
            raise InvalidChain(f"{where}含未知字段：{', '.join(sorted(unknown))}", "invalid_step", step=i)
        name = d.get("name")
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_STEP_NAME:
            raise InvalidChain(f"{where}的名称必须是 1–{MAX_STEP_NAME} 个字符", "invalid_step_name", step=i)
        name = name.strip()
        if name in names:
            raise InvalidChain(f"环节名称「{name}」重复", "duplicate_step_name", step=i)
        names.add(name)
        quorum = d.get("quorum", "any")
        if quorum not in QUORUMS:
            raise InvalidChain(f"{where}的 quorum 必须是 any（任一人）或 all（全部）", "invalid_quorum", step=i)
        role = d.get("role", "reviewer")
        if role not in STEP_ROLES:
            raise InvalidChain(f"{where}的角色必须是 {', '.join(STEP_ROLES)} 之一", "invalid_step_role", step=i)
        users_raw = d.get("users") or []
        if not isinstance(users_raw, list) or not all(isinstance(x, str) and x for x in users_raw):
            raise InvalidChain(f"{where}的 users 必须是用户名数组", "invalid_step_users", step=i)
        if users_raw:
            missing = [x for x in users_raw if x not in people]
            if missing:
                raise InvalidChain(f"{where}指定的用户不存在：{', '.join(missing)}", "unknown_step_users", step=i)
            for uname in users_raw:
                if not may_be_named(people[uname], allowed_user_units):
                    raise InvalidChain(f"{where}指定的用户 {uname} 不是本单位、上级或下级单位的审核人员",
                                       "ineligible_step_user", step=i)
            ordered = tuple(dict.fromkeys(users_raw))
            steps.append(Step(name=name, role=role, quorum=quorum, users=tuple(people[x].id for x in ordered),
                              user_names=ordered))
            continue
        unit_code = d.get("unit")
        levels = d.get("levels_up", 0)
        if unit_code not in (None, ""):
            if levels not in (0, None):
                raise InvalidChain(f"{where}不能同时指定 unit 和 levels_up", "invalid_step_unit", step=i)
            if not isinstance(unit_code, str) or unit_code not in by_code:
                raise InvalidChain(f"{where}的单位必须是 {unit.code} 本身或其上级单位", "invalid_step_unit", step=i)
            steps.append(Step(name=name, role=role, quorum=quorum, unit_id=by_code[unit_code].id,
                              unit_code=unit_code))
            continue
        if not isinstance(levels, int) or isinstance(levels, bool) or not 0 <= levels <= MAX_LEVELS_UP:
            raise InvalidChain(f"{where}的 levels_up 必须是 0–{MAX_LEVELS_UP} 的整数", "invalid_step_unit", step=i)
        steps.append(Step(name=name, role=role, quorum=quorum, unit_levels_up=levels))
    return Chain(tuple(steps))
