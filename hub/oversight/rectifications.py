"""通报 and rectifications (整改、问责): a supervisor records a 通报 for a unit of its subtree; it
opens a rectification due 10 working days after it was received; the unit's admin reports the
整改 and the 问责 record; the supervisor accepts or returns it. Overdue ones escalate to the level
above (an audited alert to the parent unit's supervisors). Everything audited."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub import audit
from hub.errors import BadRequest, Conflict, Forbidden, NotFound
from hub.models import Account, Rectification, Unit, User, utcnow
from hub.notify import events as notify
from hub.org.service import unit_by_code
from hub.oversight.workdays import rectification_due
from hub.permissions import is_admin_of, is_supervisor_over, subtree_ids

OPEN = ("open", "returned")


def _unit(session: Session, code: str) -> Unit:
    return unit_by_code(session, code)


def record_notice(session: Session, user: User, unit_code: str, text: str, received_on: date,
                  account_id: int | None = None, source: str = "notice") -> Rectification:
    unit = _unit(session, unit_code)
    if not is_supervisor_over(session, user, unit.id):
        raise Forbidden("只有主管单位可以登记通报", code="not_supervisor")
    if account_id is not None:
        acc = session.get(Account, account_id)
        if acc is None or acc.unit_id not in subtree_ids(session, unit.id):
            raise NotFound("该单位没有这个账号", code="unknown_account")
        unit = acc.unit
    if not text.strip():
        raise BadRequest("请填写通报内容", code="missing_text")
    r = Rectification(unit_id=unit.id, account_id=account_id, source=source, text=text.strip(),
                      received_on=received_on, due_on=rectification_due(received_on), status="open",
                      created_by_id=user.id)
    session.add(r)
    session.flush()
    audit.record(session, "rectification.open", object_type="rectification", object_id=r.id, unit=unit,
                 summary=f"登记通报，整改期限 {r.due_on.isoformat()}",
                 details={"account_id": account_id, "received_on": received_on.isoformat(),
                          "due_on": r.due_on.isoformat(), "source": source})
    notify.rectification_opened(session, r.id, unit.id, r.due_on.isoformat())
    return r


def get(session: Session, user: User, rid: int) -> Rectification:
    r = session.get(Rectification, rid)
    if r is None or not (is_supervisor_over(session, user, r.unit_id) or is_admin_of(session, user, r.unit_id)):
        raise NotFound("没有这项整改", code="not_found")
    return r


def listing(session: Session, user: User, unit_code: str) -> list[Rectification]:
    unit = _unit(session, unit_code)
    if not (is_supervisor_over(session, user, unit.id) or is_admin_of(session, user, unit.id)):
        raise Forbidden("只有主管单位或本单位管理员可以查看整改", code="forbidden")
    ids = subtree_ids(session, unit.id)
    return list(session.scalars(select(Rectification).where(Rectification.unit_id.in_(ids))
                                .order_by(Rectification.id)).unique())


def may_report(session: Session, user: User, rid: int) -> Rectification:
    """404, 403, 409 in that order, before the body is looked at (docs/design.md §8)."""
    r = get(session, user, rid)
    if not is_admin_of(session, user, r.unit_id):
        raise Forbidden("只有被通报单位的管理员可以报送整改情况", code="not_admin")
    if r.status not in OPEN:
        raise Conflict("这项整改已报送或已通过", code="wrong_status", status=r.status)
    return r


def report(session: Session, user: User, rid: int, text: str, people: int, measures: str) -> Rectification:
    r = may_report(session, user, rid)
    r.report_text, r.accountability_people, r.accountability_measures = text, people, measures
    r.status, r.reported_at = "reported", utcnow()
    audit.record(session, "rectification.report", object_type="rectification", object_id=r.id, unit=r.unit,
                 summary=f"报送整改情况，问责 {people} 人", details={"people": people})
    return r


def may_decide(session: Session, user: User, rid: int) -> Rectification:
    """404, 403, 409 in that order, before the body is looked at (docs/design.md §8)."""
    r = get(session, user, rid)
    if not is_supervisor_over(session, user, r.unit_id):
        raise Forbidden("只有主管单位可以验收整改", code="not_supervisor")
    if r.status != "reported":
        raise Conflict("这项整改尚未报送", code="wrong_status", status=r.status)
    return r


def decide(session: Session, user: User, rid: int, accept: bool, reason: str = "") -> Rectification:
    r = may_decide(session, user, rid)
    if not accept and not reason.strip():
        raise BadRequest("退回需要说明理由", code="missing_reason")
    r.status, r.decided_at = ("accepted" if accept else "returned"), utcnow()
    r.return_reason = None if accept else reason.strip()
    audit.record(session, "rectification.accept" if accept else "rectification.return",
                 object_type="rectification", object_id=r.id, unit=r.unit,
                 summary="整改通过" if accept else f"整改退回：{reason.strip()}")
    return r


def escalate_overdue(session: Session, as_of: date) -> int:
    """Escalate each open rectification past its due date to the level above (once)."""
    n = 0
    for r in session.scalars(select(Rectification).where(
            Rectification.status.in_(OPEN), Rectification.due_on < as_of,
            Rectification.escalated_at.is_(None))).unique():
        parent = session.get(Unit, r.unit.parent_id) if r.unit.parent_id else r.unit
        r.escalated_at = utcnow()
        audit.record(session, "rectification.escalate", object_type="rectification", object_id=r.id,
                     unit=parent, summary=f"{r.unit.name}整改逾期（期限 {r.due_on.isoformat()}），上报上级",
                     details={"unit": r.unit.code, "due_on": r.due_on.isoformat(), "as_of": as_of.isoformat()})
        notify.rectification_due(session, r.id, r.unit_id, r.due_on.isoformat())
        n += 1
    return n


def overdue(r: Rectification, as_of: date) -> bool:
    return r.status in OPEN and r.due_on < as_of


def to_dict(r: Rectification, as_of: date) -> dict[str, Any]:
    return {"id": r.id, "unit": r.unit.code, "account_id": r.account_id, "source": r.source, "text": r.text,
            "received_on": r.received_on.isoformat(), "due_on": r.due_on.isoformat(), "status": r.status,
            "overdue": overdue(r, as_of), "escalated": r.escalated_at is not None,
            "report": r.report_text,
            "accountability": None if r.accountability_people is None else
            {"people": r.accountability_people, "measures": r.accountability_measures or ""},
            "return_reason": r.return_reason}
