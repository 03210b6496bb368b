"""Review chains, the database side: resolving the chain in force, configuring chain versions.

The rules are pure and live in ``review/chain.py`` (the chain values, which chain is in force,
what a valid chain configuration is) and ``review/policy.py`` (whom a step names). This module
reads the rows (``ReviewChain`` versions, units, users), turns them into those values and calls
the rules; it also renders steps for the pages and the API.

Chains are versioned: saving adds a version, nothing is overwritten. A post keeps the chain it
was submitted under (a JSON snapshot on the post, with the version it came from), so editing a
chain never changes a review in progress.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub import audit
from hub.errors import BadRequest, Conflict, Forbidden, NotFound
from hub.i18n_marks import N_
from hub.models import Post, ReviewChain, RoleGrant, Unit, User
from hub.permissions import is_admin_of, subtree_ids, visible_unit_ids
from review import policy
from review.chain import Chain, InvalidChain, Person, Step, UnitRef, in_force, named_usernames
from review.chain import parse_steps as parse_chain_steps

ROLE_LABELS = {"reviewer": N_("审核人"), "supervisor": N_("主管单位"), "admin": N_("管理员")}


# -- rows to plain data ------------------------------------------------------------------------
def person(user: User) -> Person:
    """``user`` as the review rules see them."""
    return Person(id=user.id, active=user.is_active, grants=frozenset((g.role, g.unit_id) for g in user.roles),
                  unit_id=user.unit_id)


def unit_path(post: Post) -> tuple[int, ...]:
    """The ids of the post's unit and its ancestors, the post's unit first."""
    return tuple(u.id for u in post.unit.path())


def may_act_anywhere(user: User, post: Post, chain: Chain) -> bool:
    """Whether any step of ``chain`` names ``user`` for ``post`` (separation of duties is checked elsewhere)."""
    return policy.named_anywhere(chain, person(user), unit_path(post))


def candidates(session: Session, post: Post, step: Step) -> set[int]:
    """Ids of every active user who may act on ``step`` for ``post``."""
    path = unit_path(post)
    if step.users:
        ids = session.scalars(select(User.id).where(User.id.in_(step.users), User.active.is_(True)))
        people = [Person(uid) for uid in ids]
    else:
        unit_id = step.target_unit(path)
        if unit_id is None:
            return set()
        ids = session.scalars(select(RoleGrant.user_id).join(User, User.id == RoleGrant.user_id).where(
            RoleGrant.role == step.role, RoleGrant.unit_id == unit_id, User.active.is_(True)))
        people = [Person(uid, grants=frozenset({(step.role, unit_id)})) for uid in ids]
    return policy.candidates(step, people, path)


# -- presentation ------------------------------------------------------------------------------
def describe(step: Step) -> str:
    """Who may act on ``step``, in words (zh-CN)."""
    if step.users:
        who = "指定人员：" + "、".join(step.user_names or [str(u) for u in step.users])
    else:
        where = (step.unit_code or f"#{step.unit_id}") if step.unit_id is not None else (
            "本单位" if step.unit_levels_up == 0 else f"上{step.unit_levels_up}级单位")
        who = f"{where}{ROLE_LABELS.get(step.role, step.role)}"
    return who + ("（全部通过）" if step.quorum == "all" else "（任一人）")


def step_api(step: Step) -> dict[str, Any]:
    """The step as the chain API shows and accepts it."""
    return {"name": step.name, "role": step.role, "unit": step.unit_code or None,
            "levels_up": step.unit_levels_up if step.unit_id is None else 0,
            "users": list(step.user_names), "quorum": step.quorum, "who": describe(step)}


# -- the chain in force ------------------------------------------------------------------------
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
    src = {"chain_id": row.id, "unit": row.unit.code, "category": row.category, "version": row.version}
    return Chain.from_json(row.steps or []).with_source(src)


def resolve(session: Session, unit: Unit, category: str = "") -> Resolved:
    """The chain in force for posts of ``unit`` in ``category`` (``review.chain.in_force``)."""
    path = [u.id for u in unit.path()]
    current = _current_rows(session, path)
    key = in_force(path, {k for k, r in current.items() if r.steps}, category)
    if key is None:
        return Resolved(Chain.default(), None)
    row = current[key]
    return Resolved(_chain_of(row), row)


def chain_for(session: Session, post: Post) -> Chain:
    """The chain a post would be reviewed under if submitted now."""
    category = post.current_revision.category if post.current_revision else ""
    return resolve(session, post.unit, category or "").chain


def post_chain(session: Session, post: Post) -> Chain:
    """The chain the post is reviewed under: its snapshot, or the one in force if it has none yet."""
    return Chain.from_json(post.chain) if post.chain else chain_for(session, post)


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
    path = unit.path()
    names = named_usernames(raw)
    users = session.scalars(select(User).where(User.username.in_(names))).unique().all() if names else []
    try:
        return parse_chain_steps(raw, unit_path=[UnitRef(u.id, u.code) for u in path],
                                 allowed_user_units={u.id for u in path} | subtree_ids(session, unit.id),
                                 people={u.username: person(u) for u in users})
    except InvalidChain as exc:
        raise BadRequest(exc.message, code=exc.code, **exc.details) from None


def chain_row_json(row: ReviewChain) -> dict[str, Any]:
    """A stored chain version as the API shows it."""
    return {"id": row.id, "unit": row.unit.code, "category": row.category, "version": row.version,
            "inherit": row.steps is None,
            "steps": [step_api(s) for s in Chain.from_json(row.steps or []).steps],
            "note": row.note, "created_by": row.created_by.to_ref() if row.created_by else None,
            "created_at": row.created_at.isoformat() + "Z"}


def effective_json(resolved: Resolved) -> dict[str, Any]:
    return {"source": resolved.source(), "steps": [step_api(s) for s in resolved.chain.steps]}


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
                          "steps": [step_api(s) for s in Chain.from_json(steps_json or []).steps], "note": note,
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
