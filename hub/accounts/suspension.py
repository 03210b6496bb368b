"""Suspending and resuming an account (active ⇄ suspended).

A suspended account cannot be targeted by posts (``posts.check_targets`` refuses any
account that is not active), and dispatches already queued to it are *held*: the worker
leaves them ``pending`` (it checks before it claims one, like a unit pause) and the sweeper
keeps offering them until the account is resumed; a closed account still fails them.

Who may: admins of the account's unit or of a unit above it, and supervisors of the
account's unit or of a unit above it. Suspending needs a reason; resuming takes an
optional one. Each change is written with a conditional update, so two people racing
cannot both move the same account, and is audited in the same transaction.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hub import audit
from hub.dispatch import queueing
from hub.dispatch.pauses import publishing_paused
from hub.errors import BadRequest, Conflict, Forbidden
from hub.models import Account, AuditEntry, Dispatch, User, utcnow
from hub.models.states import ACCOUNT
from hub.permissions import is_admin_of, is_supervisor_over

REASON_LIMIT = 500
STATUS_NAMES = {"pending": "待备案", "active": "启用", "suspended": "已暂停", "closed": "已关闭"}


def may_suspend(session: Session, user: User, account: Account) -> bool:
    """Whether ``user``'s roles ever allow suspending or resuming ``account``."""
    return is_admin_of(session, user, account.unit_id) or is_supervisor_over(session, user, account.unit_id)


def _require(session: Session, user: User, account: Account) -> None:
    if not may_suspend(session, user, account):
        raise Forbidden("只有该账号所属单位（或上级单位）的管理员和主管单位可以暂停或恢复账号",
                        code="not_allowed_to_suspend")


def _state(account: Account, wanted: str) -> None:
    if account.status != wanted:
        current = STATUS_NAMES.get(account.status, account.status)
        if wanted == "active":
            msg = f"只有启用中的账号可以暂停：账号「{account.name}」当前状态为{current}"
            code = "account_not_active"
        else:
            msg = f"只有已暂停的账号可以恢复：账号「{account.name}」当前状态为{current}"
            code = "account_not_suspended"
        raise Conflict(msg, code=code, account_status=account.status)


def _reason(body: Any, required: bool) -> str:
    if not isinstance(body, dict):
        raise BadRequest("请求体必须是 JSON 对象", code="invalid_body")
    reason = body.get("reason")
    if reason is None:
        reason = ""
    if not isinstance(reason, str) or len(reason) > REASON_LIMIT:
        raise BadRequest(f"reason 必须是不超过 {REASON_LIMIT} 个字符的字符串", code="invalid_reason")
    if required and not reason.strip():
        raise BadRequest("暂停账号必须填写原因（reason）", code="missing_reason")
    return reason.strip()


def _move(session: Session, account: Account, old: str, new: str) -> None:
    """Conditional status change: 409 if someone else moved the account first."""
    ACCOUNT.check(old, new)
    won = session.execute(update(Account).where(Account.id == account.id, Account.status == old)
                          .values(status=new).execution_options(synchronize_session=False)
                          ).rowcount  # type: ignore[attr-defined]
    session.refresh(account)
    if won != 1:
        _state(account, old)
        raise Conflict(f"账号「{account.name}」的状态已被他人修改", code="account_state_changed")


def _pending_ids(session: Session, account: Account) -> list[int]:
    return list(session.scalars(select(Dispatch.id).where(
        Dispatch.account_id == account.id, Dispatch.status == "pending").order_by(Dispatch.id)))


def suspend_account(session: Session, user: User, account: Account, body: Any) -> Account:
    """Suspend an active account (reason required). Queued dispatches to it are held."""
    _require(session, user, account)
    _state(account, "active")
    reason = _reason(body, required=True)
    _move(session, account, "active", "suspended")
    held = _pending_ids(session, account)
    audit.record(session, "account.suspend", object_type="account", object_id=account.id, unit=account.unit,
                 summary=f"暂停账号「{account.name}」：{reason[:200]}",
                 details={"reason": reason, "held_dispatches": held})
    return account


def resume_account(session: Session, user: User, account: Account, body: Any) -> tuple[Account, list[int]]:
    """Resume a suspended account (reason optional). Returns it and the ids of held dispatches
    that are due now (not waiting for a time, and not held by a unit pause); they go on the queue
    after the commit."""
    _require(session, user, account)
    _state(account, "suspended")
    reason = _reason(body, required=False)
    _move(session, account, "suspended", "active")
    now = utcnow()
    due: list[int] = []
    for d in session.scalars(select(Dispatch).where(Dispatch.account_id == account.id,
                                                    Dispatch.status == "pending").order_by(Dispatch.id)):
        if (d.not_before is None or d.not_before <= now) and not publishing_paused(session, d.post.unit_id):
            due.append(d.id)
    audit.record(session, "account.resume", object_type="account", object_id=account.id, unit=account.unit,
                 summary=f"恢复账号「{account.name}」" + (f"：{reason[:200]}" if reason else ""),
                 details={"reason": reason, "released_dispatches": due})
    queueing.publish_after_commit(session, due)
    return account, due


def last_suspension(session: Session, account: Account) -> dict[str, Any] | None:
    """The latest suspension of a suspended account: {at (Asia/Shanghai), actor, reason}; None otherwise."""
    if account.status != "suspended":
        return None
    entry = session.scalars(select(AuditEntry).where(
        AuditEntry.action == "account.suspend", AuditEntry.object_type == "account",
        AuditEntry.object_id == str(account.id)).order_by(AuditEntry.seq.desc()).limit(1)).first()
    if entry is None:
        return None
    try:
        reason = (json.loads(entry.details or "{}") or {}).get("reason", "")
    except ValueError:
        reason = ""
    from hub.audit.report import local

    return {"at": local(entry.at), "actor": entry.actor_name or entry.actor_username, "reason": reason}
