"""The account register (政务新媒体备案登记表): the rows a supervisor files upward, filtered
by unit subtree, platform and status, exported as CSV or XLSX (openpyxl)."""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.accounts import filing as filing_svc
from hub.errors import BadRequest, NotFound
from hub.i18n_marks import N_, PLATFORM_LABELS, platform_text
from hub.models import ACCOUNT_STATUSES, Account, Unit, User
from hub.permissions import overseen_unit_ids, subtree_ids

COLUMNS = [
    ("id", N_("编号")), ("name", N_("账号名称")), ("platform", N_("平台")), ("unit", N_("所属单位")), ("unit_code", N_("单位代码")),
    ("host_unit", N_("主办单位")), ("operating_unit", N_("承办单位")), ("is_main", N_("主账号")),
    ("justification", N_("非主账号开设理由")), ("responsible_person", N_("负责人")), ("responsible_phone", N_("联系电话")),
    ("certification_name", N_("认证主体")), ("launch_date", N_("开通日期")), ("ipv6", N_("支持IPv6")), ("status", N_("状态")),
    ("filing", N_("最近备案")), ("filing_status", N_("备案状态")), ("activated_at", N_("启用时间")),
    ("closure_notice_date", N_("停更公告日期")), ("closure_notice_text", N_("停更公告")), ("warnings", N_("命名提示")),
]
PLATFORMS = PLATFORM_LABELS  # every platform an account may be on (hub/i18n_marks.py)
STATUSES = {"pending": N_("备案中"), "active": N_("启用"), "suspended": N_("暂停"), "closed": N_("已关闭")}


def may_view(session: Session, user: User) -> bool:
    """Admins and supervisors see the register of the units they oversee."""
    return bool(overseen_unit_ids(session, user))


def accounts(session: Session, user: User, unit: str | None = None, platform: str | None = None,
             status: str | None = None) -> list[Account]:
    """Accounts in the register the user may see, with the filters applied (bad filters are 400/404)."""
    units = overseen_unit_ids(session, user)
    if unit:
        root = session.scalars(select(Unit).where(Unit.code == unit)).first()
        if root is None or root.id not in units:
            raise NotFound(f"单位 {unit} 不存在或不在您的管辖范围内", code="unit_not_found")
        units = units & subtree_ids(session, root.id)
    stmt = select(Account).where(Account.unit_id.in_(units or [0]))
    if platform:
        if len(platform) > 20:
            raise BadRequest("platform 参数无效", code="invalid_platform")
        stmt = stmt.where(Account.platform == platform)
    if status:
        if status not in ACCOUNT_STATUSES:
            raise BadRequest(f"status 必须是 {', '.join(ACCOUNT_STATUSES)} 之一", code="invalid_status")
        stmt = stmt.where(Account.status == status)
    return list(session.scalars(stmt.order_by(Account.unit_id, Account.platform, Account.id)).unique())


def row(session: Session, a: Account) -> dict[str, Any]:
    """One register row (plain values, zh-CN labels)."""
    f = filing_svc.latest(session, a)
    return {
        "id": a.id, "name": a.name, "platform": platform_text(a.platform, a.platform_name), "unit": a.unit.name,
        "unit_code": a.unit.code, "host_unit": a.host_unit or "", "operating_unit": a.operating_unit or "",
        "is_main": "是" if a.is_main else "否", "justification": a.justification or "",
        "responsible_person": a.responsible_person or "", "responsible_phone": a.responsible_phone or "",
        "certification_name": a.certification_name or "",
        "launch_date": a.launch_date.isoformat() if a.launch_date else "",
        "ipv6": "" if a.ipv6 is None else ("是" if a.ipv6 else "否"),
        "status": STATUSES.get(a.status, a.status),
        "filing": filing_svc.KIND_LABELS.get(f.kind, f.kind) if f else "",
        "filing_status": filing_svc.STATUS_LABELS.get(f.status, f.status) if f else "",
        "activated_at": a.activated_at.strftime("%Y-%m-%d") if a.activated_at else "",
        "closure_notice_date": a.closure_notice_date.isoformat() if a.closure_notice_date else "",
        "closure_notice_text": a.closure_notice_text or "",
        "warnings": "；".join(filing_svc.naming_warnings(session, a)),
    }


def _cell(v: Any) -> Any:
    # Spreadsheet formula injection: a text cell must never start a formula.
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + v
    return v


def to_csv(rows: list[dict[str, Any]]) -> bytes:
    """UTF-8 CSV with a BOM (so Excel opens Chinese text correctly)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([label for _k, label in COLUMNS])
    for r in rows:
        w.writerow([_cell(r[k]) for k, _label in COLUMNS])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(rows: list[dict[str, Any]]) -> bytes:
    """An XLSX workbook with one sheet 账号备案登记表."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "账号备案登记表"
    ws.append([label for _k, label in COLUMNS])
    for c in ws[1]:
        c.font = Font(bold=True)
    for r in rows:
        ws.append([_cell(r[k]) for k, _label in COLUMNS])
    ws.freeze_panes = "A2"
    for i, (_k, label) in enumerate(COLUMNS, start=1):
        ws.column_dimensions[ws.cell(row=1, column=i).column_letter].width = max(10, len(label) * 2 + 2)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
