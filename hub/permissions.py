"""Object-level permissions: who may see and do what, in one place."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.memo import memo
from hub.models import Account, Post, Unit, User


def unit_children(session: Session) -> dict[int | None, list[int]]:
    """{parent id: child ids} of every unit, read once per transaction (pages ask per row)."""
    tree = memo(session, "unit_children", (Unit,))
    if not tree:
        tree[None] = []
        for uid, parent in session.execute(select(Unit.id, Unit.parent_id)).all():
            tree.setdefault(parent, []).append(uid)
    return tree


def subtree_ids(session: Session, root_id: int) -> set[int]:
    """Ids of ``root_id`` and every unit below it."""
    children = unit_children(session)
    out, stack = set(), [root_id]
    while stack:
        u = stack.pop()
        if u in out:
            continue
        out.add(u)
        stack.extend(children.get(u, []))
    return out


def overseen_unit_ids(session: Session, user: User) -> set[int]:
    """Units an admin or supervisor oversees: the subtree of each such grant."""
    out: set[int] = set()
    for g in user.roles:
        if g.role in ("admin", "supervisor"):
            out |= subtree_ids(session, g.unit_id)
    return out


def member_unit_ids(user: User) -> set[int]:
    return {g.unit_id for g in user.roles} | {user.unit_id}


def visible_unit_ids(session: Session, user: User) -> set[int]:
    """Units whose posts the user may see."""
    return member_unit_ids(user) | overseen_unit_ids(session, user)


def can_see_post(session: Session, user: User, post: Post) -> bool:
    return post.unit_id in visible_unit_ids(session, user)


def can_see_account(session: Session, user: User, account: Account) -> bool:
    """Admins/supervisors see every account of their subtree; others only active ones of their unit."""
    if account.unit_id in overseen_unit_ids(session, user):
        return True
    return account.status == "active" and account.unit_id in member_unit_ids(user)


def is_editor_of(user: User, unit_id: int) -> bool:
    return user.has_role("editor", unit_id)


def is_reviewer_of(user: User, unit_id: int) -> bool:
    return user.has_role("reviewer", unit_id)


def is_admin_of(session: Session, user: User, unit_id: int) -> bool:
    return any(g.role == "admin" and unit_id in subtree_ids(session, g.unit_id) for g in user.roles)


def is_supervisor_over(session: Session, user: User, unit_id: int) -> bool:
    return any(g.role == "supervisor" and unit_id in subtree_ids(session, g.unit_id) for g in user.roles)
