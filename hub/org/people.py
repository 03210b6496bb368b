"""People of a unit, managed by its admins: create (with a one-time set-up link), edit roles,
disable and enable, password reset links (docs/people-and-sign-in.md).

An admin manages the users of the units of their subtree and may grant any staff role there
(editor, reviewer, admin, supervisor) — supervisors only for units of their own subtree, as the
rest. A new user has no password: the set-up link lets them choose one. Links are random
256-bit tokens of which only the SHA-256 is stored; each expires (:data:`LINK_HOURS`) and works once.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hub import audit
from hub.errors import BadRequest, Conflict, Forbidden, NotFound, Unprocessable
from hub.models import RoleGrant, SignInLink, Unit, User, utcnow
from hub.org.service import USERNAME_RE, unit_by_code
from hub.org.users import disable_user
from hub.permissions import is_admin_of, subtree_ids
from hub.security import hash_password, password_problem, token_digest

#: Roles an admin may grant in the web UI and the API (the witness role stays on the CLI).
STAFF_ROLES = ("editor", "reviewer", "admin", "supervisor")
LINK_HOURS = 72


def managed_unit_ids(session: Session, actor: User) -> set[int]:
    """The units whose people ``actor`` manages: the subtree of each of their admin grants."""
    out: set[int] = set()
    for g in actor.roles:
        if g.role == "admin":
            out |= subtree_ids(session, g.unit_id)
    return out


def managed_units(session: Session, actor: User) -> list[Unit]:
    ids = managed_unit_ids(session, actor)
    return list(session.scalars(select(Unit).where(Unit.id.in_(ids)).order_by(Unit.id))) if ids else []


def require_admin_of(session: Session, actor: User, unit: Unit) -> None:
    if not is_admin_of(session, actor, unit.id):
        raise Forbidden(f"只有{unit.name}的管理员可以管理该单位的人员", code="not_admin")


def user_by_username(session: Session, actor: User, username: str) -> User:
    """A user ``actor`` manages (404 for anyone else: they may not even learn the name exists)."""
    u = session.scalars(select(User).where(User.username == username)).first()
    if u is None or u.unit_id not in managed_unit_ids(session, actor):
        raise NotFound(f"用户 {username} 不存在", code="user_not_found")
    return u


def people(session: Session, actor: User) -> list[User]:
    ids = managed_unit_ids(session, actor)
    if not ids:
        return []
    return list(session.scalars(select(User).where(User.unit_id.in_(ids)).order_by(User.unit_id, User.username)))


def _clean_roles(roles: list[str] | tuple[str, ...]) -> list[str]:
    wanted = sorted({str(r) for r in roles})
    if not wanted or any(r not in STAFF_ROLES for r in wanted):
        raise BadRequest("角色必须是 编辑、审核人、管理员、主管单位 中的一个或几个", code="invalid_role",
                         field="roles")
    return wanted


def _issue(session: Session, actor: User | None, user: User, purpose: str) -> str:
    """A fresh one-time link token for ``user``; earlier unused links of the user stop working."""
    now = utcnow()
    session.execute(update(SignInLink).where(SignInLink.user_id == user.id, SignInLink.used_at.is_(None))
                    .values(expires_at=now))
    token = secrets.token_urlsafe(32)
    session.add(SignInLink(user_id=user.id, purpose=purpose, token_hash=token_digest(token),
                           expires_at=now + timedelta(hours=LINK_HOURS),
                           created_by_id=actor.id if actor else None))
    session.flush()
    return token


def create_person(session: Session, actor: User, username: str, name: str, unit_code: str,
                  roles: list[str]) -> tuple[User, str]:
    """Create a user of ``unit_code`` without a password; returns (user, one-time set-up token)."""
    unit = unit_by_code(session, unit_code)
    require_admin_of(session, actor, unit)
    username = (username or "").strip()
    if not USERNAME_RE.match(username):
        raise BadRequest("用户名只能包含字母、数字和 _.@-（2–64 位）", code="invalid_username", field="username")
    wanted = _clean_roles(roles)
    name = (name or "").strip()[:100]
    if session.scalars(select(User).where(User.username == username)).first():
        raise Conflict(f"用户名 {username} 已被使用", code="user_exists")
    u = User(username=username, name=name or username, password_hash="", unit_id=unit.id)
    u.unit = unit
    for r in wanted:
        u.roles.append(RoleGrant(role=r, unit_id=unit.id))
    session.add(u)
    session.flush()
    token = _issue(session, actor, u, "setup")
    audit.record(session, "user.create", object_type="user", object_id=u.id, unit=unit,
                 summary=f"创建用户 {u.display_name()}（{u.username}），角色：{role_words(wanted)}；已生成一次性设置链接",
                 details={"username": username, "roles": wanted, "setup_link_hours": LINK_HOURS})
    return u, token


ROLE_WORDS = {"editor": "编辑", "reviewer": "审核人", "admin": "管理员", "supervisor": "主管单位",
              "witness": "见证用户"}


def role_words(roles: list[str] | set[str]) -> str:
    return "、".join(ROLE_WORDS.get(r, r) for r in sorted(roles)) or "无"


def update_person(session: Session, actor: User, user: User, name: str, roles: list[str]) -> User:
    """Change the name and the roles (held at the user's own unit) of ``user``."""
    require_admin_of(session, actor, user.unit)
    wanted = set(_clean_roles(roles))
    before = {g.role for g in user.roles if g.unit_id == user.unit_id and g.role in STAFF_ROLES}
    if user.id == actor.id and "admin" in before and "admin" not in wanted:
        raise Conflict("不能撤销自己的管理员角色，请由其他管理员操作", code="own_admin_role")
    name = (name or "").strip()[:100] or user.username
    if name != user.name:
        old = user.name
        user.name = name
        audit.record(session, "user.edit", object_type="user", object_id=user.id, unit=user.unit,
                     summary=f"修改用户 {user.username} 的姓名：{old} → {name}",
                     details={"username": user.username, "name_before": old, "name_after": name})
    if wanted != before:
        for g in list(user.roles):
            if g.unit_id == user.unit_id and g.role in STAFF_ROLES and g.role not in wanted:
                user.roles.remove(g)
        for r in sorted(wanted - before):
            user.roles.append(RoleGrant(role=r, unit_id=user.unit_id))
        session.flush()
        audit.record(session, "user.roles_change", object_type="user", object_id=user.id, unit=user.unit,
                     summary=f"修改用户 {user.username} 的角色：{role_words(before)} → {role_words(wanted)}",
                     details={"username": user.username, "roles_before": sorted(before),
                              "roles_after": sorted(wanted)})
    session.flush()
    return user


def disable_person(session: Session, actor: User, user: User, reason: str = "") -> User:
    require_admin_of(session, actor, user.unit)
    if user.id == actor.id:
        raise Conflict("不能停用自己的账户", code="own_account")
    u, _tasks = disable_user(session, user.username, reason[:500])
    session.execute(update(SignInLink).where(SignInLink.user_id == u.id, SignInLink.used_at.is_(None))
                    .values(expires_at=utcnow()))
    return u


def enable_person(session: Session, actor: User, user: User) -> User:
    require_admin_of(session, actor, user.unit)
    if user.active:
        raise Conflict(f"用户 {user.username} 未被停用", code="user_active")
    user.active = True
    audit.record(session, "user.enable", object_type="user", object_id=user.id, unit=user.unit,
                 summary=f"重新启用用户 {user.username}", details={"username": user.username})
    return user


def reset_link(session: Session, actor: User, user: User) -> str:
    """A one-time link for ``user`` to choose a new password; their old password and sessions stop
    working at once (an admin resets when a password is forgotten or may have leaked)."""
    require_admin_of(session, actor, user.unit)
    if not user.active:
        raise Conflict(f"用户 {user.username} 已被停用，请先重新启用", code="user_disabled")
    user.password_hash = ""
    user.session_version = (user.session_version or 1) + 1
    token = _issue(session, actor, user, "reset")
    audit.record(session, "user.password_reset", object_type="user", object_id=user.id, unit=user.unit,
                 summary=f"重置用户 {user.username} 的密码：已生成一次性设置链接，原密码作废",
                 details={"username": user.username, "link_hours": LINK_HOURS})
    return token


def link_for(session: Session, token: str) -> SignInLink | None:
    """The link of ``token`` while it is usable (unused, not expired, its user active), else None."""
    if not token or len(token) > 100:
        return None
    link = session.scalars(select(SignInLink).where(SignInLink.token_hash == token_digest(token))).first()
    if link is None or link.used_at is not None or link.expires_at <= utcnow() or not link.user.active:
        return None
    return link


def redeem(session: Session, token: str, password: str, again: str) -> User:
    """Set the password through a one-time link; the link is used up."""
    link = link_for(session, token)
    if link is None:
        raise NotFound("该链接无效、已使用或已过期，请联系本单位管理员重新生成", code="link_invalid")
    if password != again:
        raise Unprocessable("两次输入的密码不一致", code="password_mismatch")
    user = link.user
    problem = password_problem(password, user.username)
    if problem:
        raise Unprocessable(problem, code="weak_password")
    user.password_hash = hash_password(password)
    user.session_version = (user.session_version or 1) + 1
    link.used_at = utcnow()
    audit.record(session, "user.password_set", object_type="user", object_id=user.id, unit=user.unit,
                 summary=f"{user.display_name()} 通过一次性链接设置了密码",
                 details={"username": user.username, "link": link.purpose}, actor=user)
    return user
