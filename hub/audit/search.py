"""Who may read which audit entries, and searching them (API and the audit page).

Admins and supervisors read the entries of their unit subtree; entries that
belong to no unit (instance-wide ones: key rotation, exports, failed logins of
unknown users) are read by admins and supervisors of a top-level unit. Others
may not read the trail (403).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from hub.errors import BadRequest, Forbidden
from hub.models import AuditEntry, Dispatch, Unit, User
from hub.permissions import overseen_unit_ids, subtree_ids

SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_LIMIT = 1000
DEFAULT_LIMIT = 100


def is_auditor(user: User) -> bool:
    """Admins and supervisors may read the trail of their subtree."""
    return user.has_role("admin") or user.has_role("supervisor")


@dataclass
class Scope:
    """The unit codes whose entries a user may read, and whether instance-wide entries are included."""

    unit_ids: set[int]
    codes: list[str]
    include_global: bool


def scope_for(session: Session, user: User) -> Scope:
    """The reader's scope; raises Forbidden for anyone but admins and supervisors."""
    if not is_auditor(user):
        raise Forbidden("只有管理员和主管单位可以查看审计日志", code="not_auditor")
    ids = overseen_unit_ids(session, user)
    rows = session.execute(select(Unit.id, Unit.code, Unit.parent_id).where(Unit.id.in_(ids))).all() if ids else []
    top = any(parent is None for (_i, _c, parent) in rows)
    return Scope(ids, sorted(code for (_i, code, _p) in rows), top)


@dataclass
class AuditFilter:
    """Search criteria; empty fields do not filter."""

    actor: str = ""
    action: str = ""
    object_type: str = ""
    object_id: str = ""
    unit: str = ""
    date_from: date | None = None
    date_to: date | None = None

    def active(self) -> bool:
        return any([self.actor, self.action, self.object_type, self.object_id, self.unit, self.date_from,
                    self.date_to])

    def as_args(self) -> dict[str, str]:
        """The filter as query-string arguments (for paging links)."""
        out = {"actor": self.actor, "action": self.action, "object_type": self.object_type,
               "object_id": self.object_id, "unit": self.unit,
               "from": self.date_from.isoformat() if self.date_from else "",
               "to": self.date_to.isoformat() if self.date_to else ""}
        return {k: v for k, v in out.items() if v}


def _date(value: str, name: str) -> date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        d = date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{name} 必须是日期，格式 YYYY-MM-DD（北京时间）", code="invalid_date") from None
    if not 1970 <= d.year <= 9000:
        raise BadRequest(f"{name} 超出范围（1970 年至 9000 年）", code="invalid_date")
    return d


def parse_filter(args: Any) -> AuditFilter:
    """Read a filter from request arguments (``actor, action, object_type, object_id, unit, from, to``)."""
    def text(key: str, max_len: int) -> str:
        v = (args.get(key) or "").strip()
        if len(v) > max_len:
            raise BadRequest(f"{key} 过长（最多 {max_len} 个字符）", code="invalid_filter")
        return v

    f = AuditFilter(actor=text("actor", 100), action=text("action", 64), object_type=text("object_type", 32),
                    object_id=text("object_id", 64), unit=text("unit", 64),
                    date_from=_date(args.get("from", ""), "from"), date_to=_date(args.get("to", ""), "to"))
    if f.date_from and f.date_to and f.date_from > f.date_to:
        raise BadRequest("起始日期不能晚于结束日期", code="invalid_date")
    return f


def parse_paging(args: Any, cursor: str = "after") -> tuple[int | None, int]:
    """``after`` (or ``before``) and ``limit`` from the query string: integers, 1 ≤ limit ≤ 1000."""
    raw_cursor, raw_limit = args.get(cursor), args.get("limit")
    try:
        value = int(raw_cursor) if raw_cursor not in (None, "") else None
        limit = int(raw_limit) if raw_limit not in (None, "") else DEFAULT_LIMIT
    except ValueError:
        raise BadRequest(f"{cursor} 和 limit 必须是整数", code="invalid_paging") from None
    if value is not None and value < 0:
        raise BadRequest(f"{cursor} 不能为负数", code="invalid_paging")
    if value is not None and value > 2**63 - 1:  # seq is BIGINT
        raise BadRequest(f"{cursor} 超出范围", code="invalid_paging")
    if limit < 1 or limit > MAX_LIMIT:
        raise BadRequest(f"limit 必须在 1 到 {MAX_LIMIT} 之间", code="invalid_paging")
    return value, limit


def _like(value: str) -> str:
    return "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _utc(d: date) -> datetime:
    """Midnight of a Shanghai date, as naive UTC."""
    return datetime.combine(d, time.min, SHANGHAI).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def statement(session: Session, scope: Scope, f: AuditFilter) -> Select[Any]:
    """The SELECT of the entries in ``scope`` matching ``f`` (no order, no limit)."""
    stmt = select(AuditEntry)
    codes = scope.codes
    if f.unit:
        unit = session.scalars(select(Unit).where(Unit.code == f.unit)).first()
        if unit is None or unit.id not in scope.unit_ids:
            return stmt.where(AuditEntry.seq < 0)  # outside the reader's scope: nothing
        allowed = subtree_ids(session, unit.id) & scope.unit_ids
        codes = [c for (c,) in session.execute(select(Unit.code).where(Unit.id.in_(allowed)))]
        stmt = stmt.where(AuditEntry.unit_code.in_(codes))
    elif scope.include_global:
        stmt = stmt.where(or_(AuditEntry.unit_code.in_(codes), AuditEntry.unit_code == ""))
    else:
        stmt = stmt.where(AuditEntry.unit_code.in_(codes))
    if f.actor:
        pat = _like(f.actor)
        stmt = stmt.where(or_(AuditEntry.actor_username.ilike(pat, escape="\\"),
                              AuditEntry.actor_name.ilike(pat, escape="\\")))
    if f.action:
        if f.action.endswith((".", "*")):
            prefix = f.action.rstrip("*")
            stmt = stmt.where(AuditEntry.action.like(_like(prefix)[1:], escape="\\"))
        else:
            stmt = stmt.where(AuditEntry.action == f.action)
    if f.object_type:
        stmt = stmt.where(AuditEntry.object_type == f.object_type)
    if f.object_id:
        stmt = stmt.where(AuditEntry.object_id == f.object_id)
    if f.date_from:
        stmt = stmt.where(AuditEntry.at >= _utc(f.date_from))
    if f.date_to:
        stmt = stmt.where(AuditEntry.at < _utc(f.date_to + timedelta(days=1)))
    return stmt


def page(session: Session, scope: Scope, f: AuditFilter, *, after: int | None = None,
         before: int | None = None, limit: int = DEFAULT_LIMIT, newest_first: bool = False,
         ) -> tuple[list[AuditEntry], bool]:
    """One page of matching entries and whether there are more beyond it."""
    stmt = statement(session, scope, f)
    if after is not None:
        stmt = stmt.where(AuditEntry.seq > after)
    if before is not None:
        stmt = stmt.where(AuditEntry.seq < before)
    stmt = stmt.order_by(AuditEntry.seq.desc() if newest_first else AuditEntry.seq).limit(limit + 1)
    rows = list(session.scalars(stmt).all())
    return rows[:limit], len(rows) > limit


def post_entries(session: Session, post_id: int) -> list[AuditEntry]:
    """The audit entries of a post and of its dispatches, in sequence order."""
    dispatch_ids = [str(i) for i in session.scalars(select(Dispatch.id).where(Dispatch.post_id == post_id))]
    cond = (AuditEntry.object_type == "post") & (AuditEntry.object_id == str(post_id))
    if dispatch_ids:
        cond = cond | ((AuditEntry.object_type == "dispatch") & AuditEntry.object_id.in_(dispatch_ids))
    return list(session.scalars(select(AuditEntry).where(cond).order_by(AuditEntry.seq)).all())


def object_links(session: Session, entries: list[AuditEntry]) -> dict[int, tuple[str, dict[str, Any]]]:
    """For each entry seq, the (endpoint, values) of the page of its object, where one exists."""
    dispatch_ids = {int(e.object_id) for e in entries if e.object_type == "dispatch" and e.object_id.isdigit()}
    post_of: dict[int, int] = {}
    if dispatch_ids:
        post_of = {int(d): int(p) for d, p in session.execute(
            select(Dispatch.id, Dispatch.post_id).where(Dispatch.id.in_(dispatch_ids)))}
    out: dict[int, tuple[str, dict[str, Any]]] = {}
    for e in entries:
        if e.object_type == "post" and e.object_id.isdigit():
            out[int(e.seq)] = ("web.posts.post_page", {"post_id": int(e.object_id)})
        elif e.object_type == "dispatch" and e.object_id.isdigit() and int(e.object_id) in post_of:
            out[int(e.seq)] = ("web.posts.post_page", {"post_id": post_of[int(e.object_id)]})
        elif e.object_type == "account" and e.object_id.isdigit():
            out[int(e.seq)] = ("web.accounts.account_page", {"account_id": int(e.object_id)})
        elif e.object_type == "audit":
            out[int(e.seq)] = ("web.audit.audit_page", {})
    return out
