"""备案: opening, changing and closing an account, approved level by level up the unit tree.

A filing's path is the account's unit and its ancestors, lowest first, frozen at
submission. The step due is the lowest level above the last approval that has an
active supervisor (a user holding the supervisor role *at that unit*); a level
without one is skipped, and a level passed over stays skipped even if a supervisor
is added later. When no level above is left, the filing is approved and takes effect:
open → the account becomes active; change → the new data is applied; close → the
account is closed with its public notice (停更公告).

Order of refusals (docs/design.md §8): 404 the caller may not see the account; 403 the caller
is not a supervisor on the path (or filed it); 409 not in review, out of turn, or the
caller already decided on this filing; 400 a rejection without a reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub import audit
from hub.errors import BadRequest, Conflict, Forbidden
from hub.i18n_marks import N_
from hub.memo import memo
from hub.models import Account, Filing, FilingDecision, RoleGrant, Unit, User, utcnow
from hub.models.states import ACCOUNT, FILING, AccountStatus, FilingStatus

KIND_LABELS = {"open": N_("开设备案"), "change": N_("变更备案"), "close": N_("关闭备案")}
STATUS_LABELS = {"in_review": N_("审批中"), "approved": N_("已通过"), "rejected": N_("已退回"), "superseded": N_("已作废")}

# Account attributes a filing carries (snapshot keys); dates as ISO strings in the snapshot.
FILED_FIELDS = ("name", "is_main", "justification", "host_unit", "operating_unit", "responsible_person",
                "responsible_phone", "certification_name", "launch_date", "ipv6")
DATE_FIELDS = ("launch_date", "closure_notice_date")


def snapshot_of(account: Account) -> dict[str, Any]:
    """The filed data of an account as it stands."""
    out: dict[str, Any] = {}
    for f in FILED_FIELDS:
        v = getattr(account, f)
        out[f] = v.isoformat() if isinstance(v, date) else v
    return out


def supervisors_at(session: Session, unit_id: int) -> list[User]:
    """Active users holding the supervisor role at exactly this unit (remembered for the transaction)."""
    known = memo(session, "supervisors_at", (User, RoleGrant))
    if unit_id not in known:
        known[unit_id] = list(session.scalars(
            select(User).join(RoleGrant, RoleGrant.user_id == User.id)
            .where(RoleGrant.role == "supervisor", RoleGrant.unit_id == unit_id, User.active.is_(True))
            .order_by(User.id)).unique())
    return list(known[unit_id])


@dataclass
class Step:
    """One level of a filing's path as it stands now."""

    index: int
    unit: Unit
    state: str  # approved | rejected | current | waiting | skipped
    decision: FilingDecision | None

    def to_dict(self) -> dict[str, Any]:
        from hub.times import iso

        d = self.decision
        return {"level": self.index, "unit": self.unit.to_ref(), "state": self.state,
                "supervisor": d.supervisor.to_ref() if d else None,
                "decision": d.decision if d else None, "comment": d.comment if d else None,
                "at": iso(d.at) if d else None}


def current_index(session: Session, filing: Filing) -> int | None:
    """Index in ``filing.path`` of the level due now; None if no level with a supervisor is left."""
    return _due_index(filing, lambda unit_id: bool(supervisors_at(session, unit_id)))


def _due_index(filing: Filing, staffed: Any) -> int | None:
    """``current_index`` with ``staffed(unit_id)`` saying whether a level has an active supervisor
    (a set's ``__contains__`` from :func:`staffed_units` when many filings are looked at together)."""
    if filing.status != "in_review":
        return None
    approved = [d.level_index for d in filing.decisions if d.decision == "approved"]
    start = max(approved) + 1 if approved else 0
    for i in range(start, len(filing.path)):
        if staffed(filing.path[i]):
            return i
    return None


def staffed_units(session: Session) -> set[int]:
    """Units with at least one active supervisor (one query)."""
    return set(session.scalars(
        select(RoleGrant.unit_id).join(User, RoleGrant.user_id == User.id)
        .where(RoleGrant.role == "supervisor", User.active.is_(True)).distinct()))


def may_take(user: User, filing: Filing, staffed: set[int]) -> bool:
    """Whether ``user`` may take the step of ``filing`` that is due now."""
    cur = _due_index(filing, staffed.__contains__)
    return cur is not None and user.has_role("supervisor", filing.path[cur]) \
        and filing.submitted_by_id != user.id and all(d.supervisor_id != user.id for d in filing.decisions)


def due_for(session: Session, user: User) -> list[tuple[Account, Filing]]:
    """Filings in review whose current step ``user`` may take, oldest first.

    Bounded whatever the number of open filings: nothing for a user who supervises no unit, else
    three queries (the filings of accounts at or below the user's supervisor units with their
    decisions, and the staffed units), then a walk in memory."""
    from sqlalchemy.orm import selectinload

    from hub.permissions import subtree_ids

    roots = {g.unit_id for g in user.roles if g.role == "supervisor"}
    if not roots:
        return []
    units: set[int] = set()
    for root in roots:
        units |= subtree_ids(session, root)
    rows = session.execute(
        select(Account, Filing).join(Filing, Filing.account_id == Account.id)
        .where(Filing.status == "in_review", Account.unit_id.in_(units))
        .options(selectinload(Filing.decisions)).order_by(Filing.submitted_at, Filing.id)).all()
    staffed = staffed_units(session)
    return [(acc, f) for acc, f in rows if may_take(user, f, staffed)]


def steps(session: Session, filing: Filing) -> list[Step]:
    """Every level of the path with its state, lowest first."""
    known = memo(session, "units_by_id", (Unit,))
    missing = [u for u in filing.path if u not in known]
    if missing:
        known.update({u.id: u for u in session.scalars(select(Unit).where(Unit.id.in_(missing)))})
    units = {uid: known[uid] for uid in filing.path}
    decided = {d.level_index: d for d in filing.decisions}
    cur = current_index(session, filing)
    top = max(decided) if decided else -1
    out = []
    for i, uid in enumerate(filing.path):
        d = decided.get(i)
        if d is not None:
            state = d.decision
        elif cur is not None and i == cur:
            state = "current"
        elif i < top or (cur is not None and i < cur) or filing.status != "in_review" \
                or not supervisors_at(session, uid):
            state = "skipped"
        else:
            state = "waiting"
        out.append(Step(i, units[uid], state, d))
    return out


def latest(session: Session, account: Account) -> Filing | None:
    """The account's most recent filing (from :func:`prefetch_latest` when a list page read them all)."""
    known = memo(session, "latest_filing", (Filing,))
    if account.id in known:
        return known[account.id]
    return session.scalars(select(Filing).where(Filing.account_id == account.id)
                           .order_by(Filing.id.desc()).limit(1)).first()


def prefetch_latest(session: Session, accounts: list[Account]) -> None:
    """Read the latest filing of each of ``accounts`` and the main accounts of their units, in a
    few queries, for :func:`latest` and :func:`naming_warnings` on list pages."""
    ids = [a.id for a in accounts]
    if not ids:
        return
    newest = select(func.max(Filing.id)).where(Filing.account_id.in_(ids)).group_by(Filing.account_id)
    known = memo(session, "latest_filing", (Filing,))
    for a in accounts:
        known.setdefault(a.id, None)
    for f in session.scalars(select(Filing).where(Filing.id.in_(newest))).unique():
        known[f.account_id] = f
    mains = memo(session, "main_accounts", (Account,))
    units = sorted({a.unit_id for a in accounts} - set(mains))
    for u in units:
        mains[u] = []
    for o in session.scalars(select(Account).where(Account.unit_id.in_(units), Account.is_main.is_(True),
                                                   Account.status != "closed")).unique():
        mains[o.unit_id].append(o)


def open_filing(session: Session, account: Account) -> Filing | None:
    """The account's filing in review, if any."""
    return session.scalars(select(Filing).where(Filing.account_id == account.id, Filing.status == "in_review")
                           .order_by(Filing.id.desc()).limit(1)).first()


def submit(session: Session, account: Account, kind: str, snapshot: dict[str, Any], user: User | None,
           *, note: str = "") -> Filing:
    """File a request for ``account``; a filing still in review is superseded by it."""
    prev = open_filing(session, account)
    if prev is not None:
        prev.status = FILING.check(prev.status, FilingStatus.SUPERSEDED)
        prev.reason, prev.decided_at = f"被新的{KIND_LABELS[kind]}取代", utcnow()
        prev.progress += 1
    path = [u.id for u in account.unit.path()]
    f = Filing(account_id=account.id, kind=kind, status=FILING.check(None, FilingStatus.IN_REVIEW),
               snapshot=snapshot, path=path,
               progress=0, submitted_by_id=user.id if user else None)
    session.add(f)
    session.flush()
    first = current_index(session, f)
    waiting = (f"，等待{session.get(Unit, path[first]).name}主管审批" if first is not None  # type: ignore[union-attr]
               else "；审批路径上暂无主管人员，待主管单位配置后审批")
    audit.record(session, "account.filing_submit", object_type="account", object_id=account.id,
                 unit=account.unit, summary=f"提交{KIND_LABELS[kind]}：「{account.name}」{waiting}",
                 details={"filing_id": f.id, "kind": kind, "superseded": prev.id if prev else None,
                          "snapshot": snapshot, "note": note})
    return f


def _check_may_decide(session: Session, user: User, account: Account, filing: Filing | None) -> tuple[Filing, int]:
    path_units = [u.id for u in account.unit.path()]
    if not any(g.role == "supervisor" and g.unit_id in path_units for g in user.roles):
        raise Forbidden("只有该账号所在单位及上级单位的主管人员可以审批备案", code="not_filing_supervisor")
    if filing is None:
        raise Conflict("该账号没有待审批的备案", code="filing_not_in_review")
    if filing.submitted_by_id == user.id:
        raise Forbidden("不能审批自己提交的备案", code="own_filing")
    if any(d.supervisor_id == user.id for d in filing.decisions):
        raise Conflict("您已审批过这份备案的一个层级，同一人不能审批多个层级", code="already_decided")
    cur = current_index(session, filing)
    if cur is None:
        raise Conflict("备案审批路径上暂无可审批的层级", code="filing_no_step")
    if not user.has_role("supervisor", filing.path[cur]):
        due = session.get(Unit, filing.path[cur])
        raise Conflict(f"尚未轮到您审批：当前应由「{due.name if due else filing.path[cur]}」的主管审批",
                       code="filing_out_of_turn", level=cur)
    return filing, cur


def _take(session: Session, filing: Filing, level: int, user: User, decision: str, comment: str | None) -> None:
    """Record a decision with a conditional update so two racing supervisors cannot both act."""
    res = session.execute(update(Filing).where(Filing.id == filing.id, Filing.status == "in_review",
                                               Filing.progress == filing.progress)
                          .values(progress=Filing.progress + 1))
    if res.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("该备案刚被他人处理，请刷新后重试", code="filing_step_taken")
    d = FilingDecision(filing_id=filing.id, level_index=level, unit_id=filing.path[level],
                       supervisor_id=user.id, decision=decision, comment=comment or None)
    try:
        with session.begin_nested():
            session.add(d)
            session.flush()
    except IntegrityError:
        raise Conflict("该层级已有审批结论", code="filing_step_taken") from None
    session.refresh(filing)


def approve(session: Session, user: User, account: Account, data: Any) -> Filing:
    """One supervisor's approval of the step due; the filing takes effect after the last one."""
    filing, level = _check_may_decide(session, user, account, open_filing(session, account))
    if data is None or not isinstance(data, dict):
        raise BadRequest("请求体必须是 JSON 对象", code="invalid_body")
    comment = data.get("comment")
    if comment is not None and (not isinstance(comment, str) or len(comment) > 2000):
        raise BadRequest("comment 必须是不超过 2000 字的字符串", code="invalid_comment")
    _take(session, filing, level, user, "approved", (comment or "").strip())
    unit = session.get(Unit, filing.path[level])
    audit.record(session, "account.filing_approve", object_type="account", object_id=account.id,
                 unit=account.unit, summary=f"{unit.name if unit else ''}主管通过「{account.name}」的"
                                           f"{KIND_LABELS[filing.kind]}（第 {level + 1} 级）",
                 details={"filing_id": filing.id, "kind": filing.kind, "level": level,
                          "level_unit": unit.code if unit else "", "comment": (comment or "").strip()})
    if current_index(session, filing) is None:
        _complete(session, account, filing)
    return filing


def reject(session: Session, user: User, account: Account, data: Any) -> Filing:
    """Reject the filing at the step due; a reason is required."""
    filing, level = _check_may_decide(session, user, account, open_filing(session, account))
    reason = data.get("reason") if isinstance(data, dict) else None
    if not isinstance(reason, str) or not reason.strip():
        raise BadRequest("退回备案必须填写理由（reason）", code="missing_reason")
    if len(reason) > 2000:
        raise BadRequest("理由不能超过 2000 字", code="invalid_reason")
    _take(session, filing, level, user, "rejected", reason.strip())
    filing.status = FILING.check(filing.status, FilingStatus.REJECTED)
    filing.reason, filing.decided_at = reason.strip(), utcnow()
    unit = session.get(Unit, filing.path[level])
    audit.record(session, "account.filing_reject", object_type="account", object_id=account.id,
                 unit=account.unit, summary=f"{unit.name if unit else ''}主管退回「{account.name}」的"
                                           f"{KIND_LABELS[filing.kind]}：{reason.strip()[:200]}",
                 details={"filing_id": filing.id, "kind": filing.kind, "level": level, "reason": reason.strip()})
    return filing


def _complete(session: Session, account: Account, filing: Filing) -> None:
    now = utcnow()
    filing.status, filing.decided_at = FILING.check(filing.status, FilingStatus.APPROVED), now
    snap = filing.snapshot or {}
    if filing.kind == "open":
        apply_snapshot(account, snap)
        account.status, account.activated_at = ACCOUNT.check(account.status, AccountStatus.ACTIVE), now
        summary = f"「{account.name}」开设备案审批完成，账号启用"
    elif filing.kind == "change":
        apply_snapshot(account, snap)
        summary = f"「{account.name}」变更备案审批完成，备案信息已更新"
    else:
        account.status, account.closed_at = ACCOUNT.check(account.status, AccountStatus.CLOSED), now
        account.closure_notice_text = snap.get("closure_notice_text")
        account.closure_notice_date = _date(snap.get("closure_notice_date"))
        summary = f"「{account.name}」关闭备案审批完成，账号已关闭"
    session.flush()
    audit.record(session, "account.filing_complete", object_type="account", object_id=account.id,
                 unit=account.unit, summary=summary,
                 details={"filing_id": filing.id, "kind": filing.kind, "status": account.status})


def apply_snapshot(account: Account, snap: dict[str, Any]) -> None:
    """Copy filed data onto the account."""
    for f in FILED_FIELDS:
        if f in snap:
            setattr(account, f, _date(snap[f]) if f in DATE_FIELDS else snap[f])


def _date(v: Any) -> date | None:
    return date.fromisoformat(v) if isinstance(v, str) and v else None


def approve_through_chain(session: Session, account: Account) -> Filing | None:
    """Run every remaining step of the account's filing as the first supervisor of each level.

    For seeding (demo, test factories) through the real flow: each approval is checked
    and audited like one taken in the UI. Returns the filing, or None when none is open.
    """
    filing = open_filing(session, account)
    while filing is not None and filing.status == "in_review":
        cur = current_index(session, filing)
        if cur is None:
            raise Conflict(f"「{account.name}」的备案审批路径上没有主管人员", code="filing_no_step")
        candidates = [u for u in supervisors_at(session, filing.path[cur])
                      if u.id != filing.submitted_by_id and all(d.supervisor_id != u.id for d in filing.decisions)]
        if not candidates:
            raise Conflict(f"「{account.name}」的备案在第 {cur + 1} 级没有可审批的主管", code="filing_no_step")
        sup = candidates[0]
        token = audit.current_actor.set(audit.Actor.of(sup))
        try:
            approve(session, sup, account, {"comment": "同意"})
        finally:
            audit.current_actor.reset(token)
    return filing


# -- naming rules (123号 看点七) ------------------------------------------------------------
_UNIT_SUFFIXES = ("人民政府办公厅", "人民政府办公室", "人民政府", "办公厅", "办公室", "委员会", "管理局", "局",
                  "委", "办")
_INTERNAL = re.compile(r"(科|股|处|室|组|中队|内设)$")


def core_name(unit_name: str) -> str:
    """The distinctive part of a unit's name (陈巴尔虎旗人民政府办公室 → 陈巴尔虎旗)."""
    name = unit_name.strip()
    for suffix in _UNIT_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def naming_warnings(session: Session, account: Account) -> list[str]:
    """Warnings (zh-CN) about the account's name: host unit missing, internal office, differs across platforms."""
    out = []
    host = account.host_unit or account.unit.name
    core = core_name(host)
    if core and core not in account.name:
        out.append(f"账号名称「{account.name}」未包含主办单位名称「{core}」")
    if _INTERNAL.search(account.name.strip()) and not account.name.strip().endswith("办公室"):
        out.append(f"账号名称「{account.name}」像是内设机构，政务新媒体应以单位名义开设")
    mains = memo(session, "main_accounts", (Account,))
    if account.unit_id in mains:
        others = [o for o in mains[account.unit_id] if o.platform != account.platform and o.id != account.id]
    else:
        others = list(session.scalars(select(Account).where(
            Account.unit_id == account.unit_id, Account.is_main.is_(True), Account.status != "closed",
            Account.platform != account.platform, Account.id != account.id)).unique())
    if account.is_main:
        differing = sorted({o.name for o in others if o.name != account.name})
        if differing:
            out.append(f"本单位其他平台主账号名称不一致：{'、'.join(differing)}")
    return out


# -- JSON -----------------------------------------------------------------------------------
def filing_json(session: Session, f: Filing) -> dict[str, Any]:
    """A filing with its steps (who approved each level, which is due, which were skipped)."""
    from hub.times import iso

    cur = current_index(session, f)
    return {"id": f.id, "kind": f.kind, "status": f.status, "reason": f.reason, "snapshot": f.snapshot or {},
            "submitted_by": f.submitted_by.to_ref() if f.submitted_by else None,
            "submitted_at": iso(f.submitted_at), "decided_at": iso(f.decided_at),
            "current_level": cur, "steps": [s.to_dict() for s in steps(session, f)]}


def filing_details(account: Account, viewer: User) -> dict[str, Any]:
    """Filing data for admins and supervisors over the account's unit; nothing for anyone else."""
    from sqlalchemy.orm import object_session

    from hub.permissions import overseen_unit_ids
    from hub.times import iso

    session = object_session(account)
    if session is None or account.unit_id not in overseen_unit_ids(session, viewer):
        return {}
    f = latest(session, account)
    return {
        "host_unit": account.host_unit, "operating_unit": account.operating_unit,
        "responsible_person": account.responsible_person, "responsible_phone": account.responsible_phone,
        "certification_name": account.certification_name,
        "launch_date": account.launch_date.isoformat() if account.launch_date else None,
        "ipv6": account.ipv6, "activated_at": iso(account.activated_at), "closed_at": iso(account.closed_at),
        "closure_notice": ({"text": account.closure_notice_text,
                            "date": account.closure_notice_date.isoformat() if account.closure_notice_date
                            else None} if account.closure_notice_text else None),
        "verification": ({"at": iso(account.verified_at), "ok": account.verify_ok,
                          "message": account.verify_message} if account.verified_at else None),
        "naming_warnings": naming_warnings(session, account),
        "filing": filing_json(session, f) if f is not None else None,
    }
