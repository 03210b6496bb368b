"""Units, users and tokens (used by the CLI and the admin UI)."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub import audit
from hub.errors import BadRequest, Conflict, NotFound, Unprocessable
from hub.models import ROLES, UNIT_KINDS, ApiToken, RoleGrant, Unit, User
from hub.security import hash_password, new_api_token, password_problem

CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{1,63}$")


def unit_by_code(session: Session, code: str) -> Unit:
    u = session.scalars(select(Unit).where(Unit.code == code)).first()
    if u is None:
        raise NotFound(f"单位 {code} 不存在", code="unit_not_found")
    return u


def create_unit(session: Session, code: str, name: str, parent_code: str | None, kind: str) -> Unit:
    if not CODE_RE.match(code or ""):
        raise BadRequest("单位代码只能包含字母、数字、下划线、点和连字符（最长 64）", code="invalid_unit_code")
    if not name.strip():
        raise BadRequest("单位名称不能为空", code="invalid_unit_name")
    if kind not in UNIT_KINDS:
        raise BadRequest(f"单位类型必须是 {', '.join(UNIT_KINDS)} 之一", code="invalid_unit_kind")
    if session.scalars(select(Unit).where(Unit.code == code)).first():
        raise Conflict(f"单位代码 {code} 已存在", code="unit_exists")
    parent = unit_by_code(session, parent_code) if parent_code else None
    u = Unit(code=code, name=name.strip(), kind=kind, parent_id=parent.id if parent else None)
    session.add(u)
    session.flush()
    audit.record(session, "unit.create", object_type="unit", object_id=u.code, unit=u,
                 summary=f"创建单位 {u.name}（{u.code}）", details={"parent": parent_code, "kind": kind})
    return u


def create_user(session: Session, username: str, unit_code: str, roles: list[str], password: str,
                name: str = "") -> User:
    if not USERNAME_RE.match(username or ""):
        raise BadRequest("用户名只能包含字母、数字和 _.@-（2–64 位）", code="invalid_username")
    bad = [r for r in roles if r not in ROLES]
    if bad or not roles:
        raise BadRequest(f"角色必须是 {', '.join(ROLES)} 之一", code="invalid_role")
    problem = password_problem(password, username)
    if problem:
        raise Unprocessable(problem, code="weak_password")
    unit = unit_by_code(session, unit_code)
    if session.scalars(select(User).where(User.username == username)).first():
        raise Conflict(f"用户名 {username} 已存在", code="user_exists")
    u = User(username=username, name=name or username, password_hash=hash_password(password), unit_id=unit.id)
    u.unit = unit
    for r in sorted(set(roles)):
        u.roles.append(RoleGrant(role=r, unit_id=unit.id))
    session.add(u)
    session.flush()
    audit.record(session, "user.create", object_type="user", object_id=u.id, unit=unit,
                 summary=f"创建用户 {u.username}，角色：{', '.join(sorted(set(roles)))}",
                 details={"username": username, "roles": sorted(set(roles))})
    return u


def create_token(session: Session, username: str) -> str:
    u = session.scalars(select(User).where(User.username == username)).first()
    if u is None:
        raise NotFound(f"用户 {username} 不存在", code="user_not_found")
    token, digest, prefix = new_api_token()
    t = ApiToken(user_id=u.id, token_hash=digest, prefix=prefix)
    session.add(t)
    session.flush()
    audit.record(session, "token.create", object_type="user", object_id=u.id, unit=u.unit,
                 summary=f"为 {u.username} 创建 API 令牌 {prefix}…", details={"token_prefix": prefix})
    return token
