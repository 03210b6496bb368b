"""The per-unit "pause all publishing" switch (emergency control).

A pause on a unit holds every queued dispatch of the unit and of every unit
below it: the worker leaves such dispatches ``pending`` (it checks before it
claims one) until the pause is lifted. Admins pause their own units;
supervisors pause any unit of the subtree they oversee. Resuming re-queues
the held dispatches that are due.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub import audit
from hub.dispatch import queueing
from hub.errors import BadRequest, Conflict, Forbidden, NotFound
from hub.models import Dispatch, Post, Unit, UnitPause, User, utcnow
from hub.permissions import is_admin_of, is_supervisor_over, subtree_ids, visible_unit_ids


def active_pause_for(session: Session, unit: Unit) -> UnitPause | None:
    """The active pause that holds publishing for ``unit`` (its own or an ancestor's), nearest first."""
    path = unit.path()
    rows = session.scalars(select(UnitPause).where(UnitPause.unit_id.in_([u.id for u in path]),
                                                   UnitPause.resumed_at.is_(None))).unique().all()
    order = {u.id: i for i, u in enumerate(path)}
    return min(rows, key=lambda p: order[p.unit_id]) if rows else None


def publishing_paused(session: Session, unit_id: int) -> bool:
    """Whether publishing is paused for posts of ``unit_id`` (used by the worker before claiming)."""
    unit = session.get(Unit, unit_id)
    return unit is not None and active_pause_for(session, unit) is not None


def _unit_for_switch(session: Session, user: User, code: Any) -> Unit:
    if not isinstance(code, str) or not code:
        raise NotFound("单位不存在", code="unit_not_found")
    unit = session.scalars(select(Unit).where(Unit.code == code)).first()
    if unit is None or unit.id not in visible_unit_ids(session, user):
        raise NotFound(f"单位 {code} 不存在", code="unit_not_found")
    if not (is_admin_of(session, user, unit.id) or is_supervisor_over(session, user, unit.id)):
        raise Forbidden("只有本单位管理员或上级主管单位可以暂停或恢复发布", code="not_allowed_to_pause")
    return unit


def _reason(body: Any, required: bool) -> str:
    if not isinstance(body, dict):
        raise BadRequest("请求体必须是 JSON 对象", code="invalid_body")
    reason = body.get("reason", "")
    if reason is None:
        reason = ""
    if not isinstance(reason, str) or len(reason) > 500:
        raise BadRequest("reason 必须是不超过 500 个字符的字符串", code="invalid_reason")
    if required and not reason.strip():
        raise BadRequest("暂停发布必须填写原因", code="missing_reason")
    return reason.strip()


def pause_unit(session: Session, user: User, code: Any, body: Any) -> UnitPause:
    """Pause publishing for a unit and its subtree. 409 if that unit is already paused."""
    unit = _unit_for_switch(session, user, code)
    reason = _reason(body, required=True)
    existing = session.scalars(select(UnitPause).where(UnitPause.unit_id == unit.id,
                                                       UnitPause.resumed_at.is_(None))).first()
    if existing is not None:
        raise Conflict(f"{unit.name}已于 {existing.paused_at:%Y-%m-%d %H:%M} (UTC) 暂停发布", code="already_paused")
    pause = UnitPause(unit_id=unit.id, reason=reason, paused_by_id=user.id, paused_at=utcnow())
    try:
        with session.begin_nested():
            session.add(pause)
            session.flush()
    except IntegrityError:
        raise Conflict(f"{unit.name}已被他人暂停发布", code="already_paused") from None
    held = session.scalar(select(Dispatch.id).join(Post, Post.id == Dispatch.post_id).where(
        Post.unit_id.in_(subtree_ids(session, unit.id)), Dispatch.status == "pending").limit(1))
    audit.record(session, "unit.pause", object_type="unit", object_id=unit.code, unit=unit,
                 summary=f"暂停{unit.name}及下级单位的全部发布：{reason[:100]}",
                 details={"reason": reason, "held_pending": held is not None})
    return pause


def resume_unit(session: Session, user: User, code: Any, body: Any) -> tuple[UnitPause, list[int]]:
    """Lift a unit's pause. Returns the pause and the ids of held dispatches that are due now,
    which go on the queue after the commit."""
    unit = _unit_for_switch(session, user, code)
    reason = _reason(body, required=False)
    pause = session.scalars(select(UnitPause).where(UnitPause.unit_id == unit.id,
                                                    UnitPause.resumed_at.is_(None))).first()
    if pause is None:
        raise Conflict(f"{unit.name}没有处于暂停状态", code="not_paused")
    now = utcnow()
    won = session.execute(update(UnitPause).where(UnitPause.id == pause.id, UnitPause.resumed_at.is_(None))
                          .values(resumed_at=now, resumed_by_id=user.id)
                          .execution_options(synchronize_session=False)).rowcount  # type: ignore[attr-defined]
    if won != 1:
        raise Conflict(f"{unit.name}已被他人恢复发布", code="not_paused")
    session.refresh(pause)
    due: list[int] = []
    for did, post_unit_id in session.execute(
        select(Dispatch.id, Post.unit_id).join(Post, Post.id == Dispatch.post_id).where(
            Post.unit_id.in_(subtree_ids(session, unit.id)), Dispatch.status == "pending",
            (Dispatch.not_before.is_(None)) | (Dispatch.not_before <= now))
    ).all():
        if not publishing_paused(session, post_unit_id):  # an ancestor may still hold it
            due.append(did)
    audit.record(session, "unit.resume", object_type="unit", object_id=unit.code, unit=unit,
                 summary=f"恢复{unit.name}及下级单位的发布" + (f"：{reason[:100]}" if reason else ""),
                 details={"reason": reason, "pause_id": pause.id, "released": len(due)})
    queueing.publish_after_commit(session, due)
    return pause, due


def pause_json(p: UnitPause | None) -> dict[str, Any] | None:
    if p is None:
        return None
    from hub.times import iso

    return {"id": p.id, "unit": p.unit.code, "unit_name": p.unit.name, "reason": p.reason,
            "paused_by": p.paused_by.to_ref() if p.paused_by else None, "paused_at": iso(p.paused_at),
            "resumed_by": p.resumed_by.to_ref() if p.resumed_by else None, "resumed_at": iso(p.resumed_at)}


def pause_state(session: Session, unit: Unit) -> dict[str, Any]:
    """Whether the unit is held, by which pause (its own or an ancestor's)."""
    p = active_pause_for(session, unit)
    return {"unit": unit.code, "paused": p is not None, "pause": pause_json(p),
            "own": p is not None and p.unit_id == unit.id}
