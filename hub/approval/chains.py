"""Review chains: the ordered steps a post passes before publication.

A chain is configured per unit and inherited by the units below it; a unit
may also define a chain for one content category (e.g. 政策文件). For a post
of unit U and category C the chain in force is, in this order:

1. the nearest chain for category C on U or one of its ancestors;
2. otherwise the nearest general chain (category "") on U or an ancestor;
3. otherwise the default 三审: 初审 → 复审 → 终审, each taken by any one
   reviewer of the post's unit.

Each step has a name, who may act (a role in the post's unit, in a unit a
number of levels above it, or in a named ancestor unit; or a list of named
users) and a quorum: "any" (one of them) or "all" (every eligible one).
Chains are versioned: saving adds a version, nothing is overwritten. A post
keeps the chain it was submitted under (a JSON snapshot on the post, with
the version it came from), so editing a chain never changes a review in
progress.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub import audit
from hub.errors import BadRequest, Conflict, Forbidden, NotFound
from hub.i18n_marks import N_
from hub.models import Post, ReviewChain, RoleGrant, Unit, User
from hub.permissions import is_admin_of, subtree_ids, visible_unit_ids

DEFAULT_STEPS = ("初审", "复审", "终审")
STEP_ROLES = ("reviewer", "supervisor", "admin")
ROLE_LABELS = {"reviewer": N_("审核人"), "supervisor": N_("主管单位"), "admin": N_("管理员")}
QUORUMS = ("any", "all")
MAX_STEPS = 10
MAX_LEVELS_UP = 6


@dataclass
class Step:
    """One step of a chain: who may act and how many of them must approve."""

    name: str
    role: str = "reviewer"
    # Relative target unit: how many levels above the post's unit (0 = the post's own unit).
    unit_levels_up: int = 0
    users: list[int] = field(default_factory=list)
    quorum: str = "any"
    # A named unit (must be the post's unit or one of its ancestors); overrides unit_levels_up.
    unit_id: int | None = None
    unit_code: str = ""
    user_names: list[str] = field(default_factory=list)
    source: dict[str, Any] = field(default_factory=dict)

    def unit_id_for(self, post: Post) -> int | None:
        """The unit whose role holders may act on this step for ``post`` (None: no such unit)."""
        if self.unit_id is not None:
            return self.unit_id if self.unit_id in {u.id for u in post.unit.path()} else None
        unit = post.unit
        for _ in range(self.unit_levels_up):
            if unit.parent is None:
                return None
            unit = unit.parent
        return unit.id

    def may_act(self, session: Session, user: User, post: Post) -> bool:
        """Whether ``user`` is one of the people this step names (separation of duties is checked elsewhere)."""
        if not user.is_active:
            return False
        if self.users:
            return user.id in self.users
        unit_id = self.unit_id_for(post)
        return unit_id is not None and user.has_role(self.role, unit_id)

    def candidates(self, session: Session, post: Post) -> set[int]:
        """Ids of every active user who may act on this step for ``post``."""
        if self.users:
            return set(session.scalars(select(User.id).where(User.id.in_(self.users), User.active.is_(True))))
        unit_id = self.unit_id_for(post)
        if unit_id is None:
            return set()
        return set(session.scalars(select(RoleGrant.user_id).join(User, User.id == RoleGrant.user_id).where(
            RoleGrant.role == self.role, RoleGrant.unit_id == unit_id, User.active.is_(True))))

    def describe(self) -> str:
        """Who may act, in words (zh-CN)."""
        if self.users:
            who = "指定人员：" + "、".join(self.user_names or [str(u) for u in self.users])
        else:
            where = (self.unit_code or f"#{self.unit_id}") if self.unit_id is not None else (
                "本单位" if self.unit_levels_up == 0 else f"上{self.unit_levels_up}级单位")
            who = f"{where}{ROLE_LABELS.get(self.role, self.role)}"
        return who + ("（全部通过）" if self.quorum == "all" else "（任一人）")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "role": self.role, "unit_levels_up": self.unit_levels_up,
                               "users": list(self.users), "quorum": self.quorum}
        if self.unit_id is not None:
            out["unit_id"], out["unit_code"] = self.unit_id, self.unit_code
        if self.user_names:
            out["user_names"] = list(self.user_names)
        if self.source:
            out["source"] = dict(self.source)
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Step:
        return cls(name=d["name"], role=d.get("role", "reviewer"), unit_levels_up=int(d.get("unit_levels_up", 0)),
                   users=[int(u) for u in d.get("users") or []], quorum=d.get("quorum", "any"),
                   unit_id=d.get("unit_id"), unit_code=d.get("unit_code", ""),
                   user_names=list(d.get("user_names") or []), source=dict(d.get("source") or {}))

    def to_api(self) -> dict[str, Any]:
        """The step as the chain API shows and accepts it."""
        return {"name": self.name, "role": self.role, "unit": self.unit_code or None,
                "levels_up": self.unit_levels_up if self.unit_id is None else 0,
                "users": list(self.user_names), "quorum": self.quorum, "who": self.describe()}


@dataclass
class Chain:
    """An ordered list of steps."""

    steps: list[Step]

    @classmethod
    def default(cls) -> Chain:
        return cls([Step(name) for name in DEFAULT_STEPS])

    @classmethod
    def from_json(cls, data: list[dict[str, Any]]) -> Chain:
        return cls([Step.from_json(d) for d in data])

    def to_json(self) -> list[dict[str, Any]]:
        return [s.to_json() for s in self.steps]

    def may_act_anywhere(self, session: Session, user: User, post: Post) -> bool:
        return any(s.may_act(session, user, post) for s in self.steps)


@dataclass
class Resolved:
    """The chain in force for a unit and category, and where it comes from (None: the default)."""

    chain: Chain
    row: ReviewChain | None

    def source(self) -> dict[str, Any] | None:
        if self.row is None:
            return None
        return {"chain_id": self.row.id, "unit": self.row.unit.code, "unit_name": self.row.unit.name,
                "category": self.row.category, "version": self.row.version}


def _current_rows(session: Session, unit_ids: list[int]) -> dict[tuple[int, str], ReviewChain]:
    """The newest version of every (unit, category) chain defined on ``unit_ids``."""
    rows = session.scalars(select(ReviewChain).where(ReviewChain.unit_id.in_(unit_ids))
                           .order_by(ReviewChain.version)).unique().all()
    out: dict[tuple[int, str], ReviewChain] = {}
    for r in rows:
        out[(r.unit_id, r.category)] = r
    return out


def _chain_of(row: ReviewChain) -> Chain:
    chain = Chain.from_json(row.steps or [])
    src = {"chain_id": row.id, "unit": row.unit.code, "category": row.category, "version": row.version}
    for s in chain.steps:
        s.source = dict(src)
    return chain


def resolve(session: Session, unit: Unit, category: str = "") -> Resolved:
    """The chain in force for posts of ``unit`` in ``category`` (see the module docstring)."""
    path = unit.path()
    current = _current_rows(session, [u.id for u in path])
    keys = ([category] if category else []) + [""]
    for cat in keys:
        for u in path:
            row = current.get((u.id, cat))
            if row is not None and row.steps:
                return Resolved(_chain_of(row), row)
    return Resolved(Chain.default(), None)


def chain_for(session: Session, post: Post) -> Chain:
    """The chain a post would be reviewed under if submitted now."""
    category = post.current_revision.category if post.current_revision else ""
    return resolve(session, post.unit, category or "").chain


# -- configuration ----------------------------------------------------------------------------
def _unit(session: Session, code: Any) -> Unit:
    if not isinstance(code, str) or not code:
        raise NotFound("单位不存在", code="unit_not_found")
    unit = session.scalars(select(Unit).where(Unit.code == code)).first()
    if unit is None:
        raise NotFound(f"单位 {code} 不存在", code="unit_not_found")
    return unit


def _may_read(session: Session, user: User, unit: Unit) -> bool:
    # Chains are inherited downwards, so everyone below a unit may read it too.
    mine = visible_unit_ids(session, user)
    return unit.id in mine or bool(subtree_ids(session, unit.id) & mine)


def _category(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value.strip()) > 64:
        raise BadRequest("category 必须是不超过 64 个字符的字符串", code="invalid_category")
    return value.strip()


def parse_steps(session: Session, unit: Unit, raw: Any) -> Chain:
    """Validate the steps of a chain for ``unit`` as given to the API; 400 with the first problem."""
    if not isinstance(raw, list) or not raw:
        raise BadRequest("steps 必须是非空数组，每项为一个审核环节", code="invalid_steps")
    if len(raw) > MAX_STEPS:
        raise BadRequest(f"审核环节不得超过 {MAX_STEPS} 个", code="too_many_steps")
    path = unit.path()
    by_code = {u.code: u for u in path}
    allowed_user_units = {u.id for u in path} | subtree_ids(session, unit.id)
    steps: list[Step] = []
    names: set[str] = set()
    for i, d in enumerate(raw, start=1):
        where = f"第 {i} 个环节"
        if not isinstance(d, dict):
            raise BadRequest(f"{where}必须是对象", code="invalid_step", step=i)
        unknown = set(d) - {"name", "role", "unit", "levels_up", "users", "quorum", "who"}
        if unknown:
            raise BadRequest(f"{where}含未知字段：{', '.join(sorted(unknown))}", code="invalid_step", step=i)
        name = d.get("name")
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > 20:
            raise BadRequest(f"{where}的名称必须是 1–20 个字符", code="invalid_step_name", step=i)
        name = name.strip()
        if name in names:
            raise BadRequest(f"环节名称「{name}」重复", code="duplicate_step_name", step=i)
        names.add(name)
        quorum = d.get("quorum", "any")
        if quorum not in QUORUMS:
            raise BadRequest(f"{where}的 quorum 必须是 any（任一人）或 all（全部）", code="invalid_quorum", step=i)
        role = d.get("role", "reviewer")
        if role not in STEP_ROLES:
            raise BadRequest(f"{where}的角色必须是 {', '.join(STEP_ROLES)} 之一", code="invalid_step_role", step=i)
        users_raw = d.get("users") or []
        if not isinstance(users_raw, list) or not all(isinstance(x, str) and x for x in users_raw):
            raise BadRequest(f"{where}的 users 必须是用户名数组", code="invalid_step_users", step=i)
        step = Step(name=name, role=role, quorum=quorum)
        if users_raw:
            found = {u.username: u for u in session.scalars(select(User).where(User.username.in_(users_raw)))}
            missing = [x for x in users_raw if x not in found]
            if missing:
                raise BadRequest(f"{where}指定的用户不存在：{', '.join(missing)}", code="unknown_step_users", step=i)
            for uname in users_raw:
                u = found[uname]
                if u.unit_id not in allowed_user_units or not (u.role_names() & set(STEP_ROLES)):
                    raise BadRequest(f"{where}指定的用户 {uname} 不是本单位、上级或下级单位的审核人员",
                                     code="ineligible_step_user", step=i)
            ordered = list(dict.fromkeys(users_raw))
            step.users = [found[x].id for x in ordered]
            step.user_names = ordered
        else:
            unit_code = d.get("unit")
            levels = d.get("levels_up", 0)
            if unit_code not in (None, ""):
                if levels not in (0, None):
                    raise BadRequest(f"{where}不能同时指定 unit 和 levels_up", code="invalid_step_unit", step=i)
                if not isinstance(unit_code, str) or unit_code not in by_code:
                    raise BadRequest(f"{where}的单位必须是 {unit.code} 本身或其上级单位",
                                     code="invalid_step_unit", step=i)
                step.unit_id, step.unit_code = by_code[unit_code].id, unit_code
            else:
                if not isinstance(levels, int) or isinstance(levels, bool) or not 0 <= levels <= MAX_LEVELS_UP:
                    raise BadRequest(f"{where}的 levels_up 必须是 0–{MAX_LEVELS_UP} 的整数",
                                     code="invalid_step_unit", step=i)
                step.unit_levels_up = levels
        steps.append(step)
    return Chain(steps)


def chain_row_json(row: ReviewChain) -> dict[str, Any]:
    """A stored chain version as the API shows it."""
    return {"id": row.id, "unit": row.unit.code, "category": row.category, "version": row.version,
            "inherit": row.steps is None,
            "steps": [s.to_api() for s in Chain.from_json(row.steps or []).steps],
            "note": row.note, "created_by": row.created_by.to_ref() if row.created_by else None,
            "created_at": row.created_at.isoformat() + "Z"}


def effective_json(resolved: Resolved) -> dict[str, Any]:
    return {"source": resolved.source(), "steps": [s.to_api() for s in resolved.chain.steps]}


def unit_chain_view(session: Session, user: User, code: Any, category: Any = None) -> dict[str, Any]:
    """GET /units/<code>/chain: what is in force here, what this unit defines, and its history."""
    unit = _unit(session, code)
    if not _may_read(session, user, unit):
        raise NotFound(f"单位 {code} 不存在", code="unit_not_found")
    cat = _category(category)
    path = unit.path()
    current = _current_rows(session, [u.id for u in path])
    categories = sorted({c for (_uid, c), r in current.items() if c and r.steps})
    own = [chain_row_json(r) for (uid, _c), r in sorted(current.items(), key=lambda kv: kv[0][1])
           if uid == unit.id and r.steps]
    history = session.scalars(select(ReviewChain).where(ReviewChain.unit_id == unit.id)
                              .order_by(ReviewChain.id.desc()).limit(50)).unique().all()
    return {
        "unit": unit.to_ref(), "category": cat,
        "effective": effective_json(resolve(session, unit, cat)),
        "by_category": {c: effective_json(resolve(session, unit, c)) for c in categories},
        "own": own, "history": [chain_row_json(r) for r in history],
        "can_edit": is_admin_of(session, user, unit.id),
    }


def set_unit_chain(session: Session, user: User, code: Any, body: Any) -> ReviewChain:
    """PUT /units/<code>/chain: save a new version (or ``inherit: true`` to drop this unit's own chain)."""
    unit = _unit(session, code)
    if not _may_read(session, user, unit):
        raise NotFound(f"单位 {code} 不存在", code="unit_not_found")
    if not is_admin_of(session, user, unit.id):
        raise Forbidden("只有本单位或上级单位的管理员可以配置审核流程", code="not_admin")
    if not isinstance(body, dict):
        raise BadRequest("请求体必须是 JSON 对象", code="invalid_body")
    unknown = set(body) - {"steps", "category", "note", "base_version", "inherit"}
    if unknown:
        raise BadRequest(f"未知字段：{', '.join(sorted(unknown))}", code="unknown_field")
    cat = _category(body.get("category"))
    note = body.get("note") or ""
    if not isinstance(note, str) or len(note) > 500:
        raise BadRequest("note 必须是不超过 500 个字符的字符串", code="invalid_note")
    inherit = body.get("inherit", False)
    if not isinstance(inherit, bool):
        raise BadRequest("inherit 必须是布尔值", code="invalid_inherit")
    current_version = session.scalar(select(func.max(ReviewChain.version)).where(
        ReviewChain.unit_id == unit.id, ReviewChain.category == cat)) or 0
    base = body.get("base_version")
    if base is not None and (not isinstance(base, int) or isinstance(base, bool)):
        raise BadRequest("base_version 必须是整数", code="invalid_base_version")
    if base is not None and base != current_version:
        raise Conflict(f"审核流程已被他人修改（当前为第 {current_version} 版），请刷新后再保存",
                       code="chain_changed", current_version=current_version)
    if inherit:
        if "steps" in body:
            raise BadRequest("inherit 为 true 时不能同时提交 steps", code="invalid_steps")
        latest = session.scalars(select(ReviewChain).where(
            ReviewChain.unit_id == unit.id, ReviewChain.category == cat, ReviewChain.version == current_version)).first()
        if latest is None or latest.steps is None:
            raise Conflict("本单位没有自定义该审核流程，已在沿用上级或默认流程", code="already_inherited")
        steps_json = None
    else:
        steps_json = parse_steps(session, unit, body.get("steps")).to_json()
    row = ReviewChain(unit_id=unit.id, category=cat, version=current_version + 1, steps=steps_json, note=note,
                      created_by_id=user.id)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise Conflict("审核流程正被他人同时修改，请刷新后再保存", code="chain_changed") from None
    session.refresh(row)
    label = f"「{cat}」类稿件" if cat else "全部稿件"
    if steps_json is None:
        summary = f"{unit.name}{label}审核流程改为沿用上级（第 {row.version} 版）"
    else:
        summary = f"{unit.name}{label}审核流程更新为第 {row.version} 版：" + " → ".join(s["name"] for s in steps_json)
    audit.record(session, "chain.update", object_type="unit", object_id=unit.code, unit=unit, summary=summary,
                 details={"category": cat, "version": row.version, "inherit": steps_json is None,
                          "steps": [s.to_api() for s in Chain.from_json(steps_json or []).steps], "note": note,
                          "previous_version": current_version})
    return row


def chain_units(session: Session, user: User) -> list[Unit]:
    """Units whose chains ``user`` may configure (admin grants and their subtrees)."""
    ids: set[int] = set()
    for g in user.roles:
        if g.role == "admin":
            ids |= subtree_ids(session, g.unit_id)
    if not ids:
        return []
    return list(session.scalars(select(Unit).where(Unit.id.in_(ids)).order_by(Unit.id)).unique())
