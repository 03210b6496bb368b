"""Disabling a user: sessions and tokens stop working, and every credential the user could
reveal gets a rotation task (the value may have left with them)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from adapters.registry import UnknownPlatform, get_adapter
from hub import audit
from hub.accounts.service import revealable
from hub.errors import Conflict, NotFound
from hub.models import Account, ApiToken, RotationTask, User
from hub.permissions import subtree_ids


def revealable_credentials(session: Session, user: User) -> list[tuple[Account, str]]:
    """(account, field) of every set credential the user may reveal: console passwords of the
    accounts in the units where the user is an admin."""
    units: set[int] = set()
    for g in user.roles:
        if g.role == "admin":
            units |= subtree_ids(session, g.unit_id)
    if not units:
        return []
    out = []
    for acc in session.scalars(select(Account).where(Account.unit_id.in_(units), Account.status != "closed")
                               .order_by(Account.id)).unique():
        try:
            fields = {f.name for f in get_adapter(acc.platform).credential_fields}
        except UnknownPlatform:
            continue
        out += [(acc, c.field) for c in acc.credentials if c.field in fields and revealable(c.field)]
    return out


def disable_user(session: Session, username: str, reason: str = "") -> tuple[User, list[RotationTask]]:
    """Disable ``username``: log out everywhere, revoke API tokens, open rotation tasks."""
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound(f"用户 {username} 不存在", code="user_not_found")
    if not user.active:
        raise Conflict(f"用户 {username} 已被停用", code="user_disabled")
    user.active = False
    user.session_version = (user.session_version or 1) + 1
    session.execute(update(ApiToken).where(ApiToken.user_id == user.id).values(revoked=True))
    tasks = []
    for acc, field in revealable_credentials(session, user):
        existing = session.scalars(select(RotationTask).where(
            RotationTask.account_id == acc.id, RotationTask.field == field, RotationTask.status == "open")).first()
        if existing is not None:
            continue
        t = RotationTask(account_id=acc.id, field=field, trigger_user_id=user.id,
                         reason=f"可查看该密码的用户 {user.username} 已停用")
        session.add(t)
        tasks.append(t)
    session.flush()
    audit.record(session, "user.disable", object_type="user", object_id=user.id, unit=user.unit,
                 summary=f"停用用户 {user.username}；开启 {len(tasks)} 个凭据轮换任务",
                 details={"username": user.username, "reason": reason,
                          "rotation_tasks": [{"account_id": t.account_id, "credential_field": t.field}
                                             for t in tasks]})
    for t in tasks:
        owner = session.get(Account, t.account_id)
        audit.record(session, "account.rotation_task_open", object_type="account", object_id=t.account_id,
                     unit=owner.unit if owner else None,
                     summary=f"开启凭据轮换任务：{owner.name if owner else t.account_id} 的 {t.field}",
                     details={"credential_field": t.field, "task_id": t.id, "disabled_user": user.username})
    return user, tasks
