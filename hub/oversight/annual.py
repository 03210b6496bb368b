"""The 年度报表 (annual report, 《政府网站与政务新媒体工作年度报表》): figures computed from the raw
records of a unit's subtree for one Beijing year, so that any template can be produced, and the
HTML, PDF (reportlab, built-in CID font STSong-Light) and XLSX (openpyxl) renderings.

Per account: publications (dispatches published that year), originals (of those, the revision was
marked 原创, ``Revision.is_original``), withdrawals (of those, withdrawn since), reads (the newest totals
the platforms gave for its publications, pulled in the year by hub/metrics) and followers (at the last
day of the year with a figure; both blank where the platform gives none). Per unit: review
figures (posts reviewed, posts returned), interaction figures (hub/interaction/stats.py),
rectifications, credential rotations and reveals (from the audit log). Also the reminder (1
January), the overdue alert (from 1 February) and the record that the report was published."""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any
from xml.sax.saxutils import escape

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub import audit
from hub.errors import BadRequest, Forbidden
from hub.metrics import service as metrics_svc
from hub.models import (
    Account,
    AnnualReport,
    Approval,
    AuditEntry,
    Dispatch,
    Post,
    QuarterlyInspection,
    Rectification,
    Revision,
    Unit,
    User,
    utcnow,
)
from hub.org.service import unit_by_code
from hub.oversight.monitor import accounts_of, day_end_utc, today
from hub.permissions import is_admin_of, is_supervisor_over, subtree_ids

ACCOUNT_COLUMNS = (("unit", "单位"), ("name", "账号"), ("platform", "平台"), ("publications", "发布数"),
                   ("originals", "原创数"), ("withdrawals", "撤稿数"), ("inspected", "巡检次数"),
                   ("inspection_failed", "巡检不合格次数"), ("reads", "阅读数"), ("followers", "年末粉丝数"))
TOTAL_LABELS = (("publications", "发布总数"), ("originals", "原创总数"), ("withdrawals", "撤稿数"),
                ("posts_reviewed", "审核稿件数"), ("posts_returned", "退回稿件数"),
                ("messages_received", "收到留言数"), ("messages_answered", "办结留言数"),
                ("answer_days_avg", "平均办理天数"), ("inspections", "巡检次数"),
                ("inspected_passed", "巡检合格账号次"), ("inspected_failed", "巡检不合格账号次"),
                ("rectifications", "整改数"), ("rectifications_accepted", "整改完成数"),
                ("rectifications_overdue", "整改逾期数"),
                ("credential_rotations", "凭据轮换次数"), ("credential_reveals", "凭据查看次数"),
                ("reads", "阅读总数"), ("followers", "粉丝总数"))
FORMATS = ("html", "pdf", "xlsx")


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """The Beijing year as naive-UTC [start, end)."""
    if not 2000 <= year <= 2100:
        raise BadRequest("year 应为 2000 到 2100 之间的年份", code="bad_year")
    return day_end_utc(date(year - 1, 12, 31)), day_end_utc(date(year, 12, 31))


def may_view(session: Session, user: User, unit: Unit) -> None:
    if not (is_supervisor_over(session, user, unit.id) or is_admin_of(session, user, unit.id)):
        raise Forbidden("只有主管单位或本单位管理员可以查看年度报表", code="forbidden")


def figures(session: Session, unit_code: str, year: int) -> dict[str, Any]:
    unit = unit_by_code(session, unit_code)
    start, end = year_bounds(year)
    ids = subtree_ids(session, unit.id)
    codes = {u.id: u.code for u in session.scalars(select(Unit).where(Unit.id.in_(ids)))}
    accounts = accounts_of(session, ids)
    rows = session.execute(
        select(Dispatch.account_id, Dispatch.status, Revision.is_original)
        .join(Revision, Revision.id == Dispatch.revision_id)
        .where(Dispatch.account_id.in_([a.id for a in accounts] or [-1]), Dispatch.published_at.is_not(None),
               Dispatch.published_at >= start, Dispatch.published_at < end)).all()
    per: dict[int, dict[str, int]] = {a.id: {"publications": 0, "originals": 0, "withdrawals": 0} for a in accounts}
    for aid, status, original in rows:
        per[aid]["publications"] += 1
        per[aid]["originals"] += 1 if original else 0
        per[aid]["withdrawals"] += 1 if status == "withdrawn" else 0
    inspected = _inspections(session, set(per), start, end)
    # Read counts and followers pulled from the platforms (hub/metrics); None where none came back.
    read = metrics_svc.year_figures(session, [a.id for a in accounts], year)
    out_accounts = [{"id": a.id, "unit": codes.get(a.unit_id, ""), "name": a.name, "platform": a.platform,
                     **per[a.id], **inspected["per"].get(a.id, {"inspected": 0, "inspection_failed": 0}),
                     **read[a.id]}
                    for a in accounts]

    def posts_with(decision: str | None) -> int:
        stmt = select(func.count(func.distinct(Approval.post_id))).join(Post, Post.id == Approval.post_id).where(
            Post.unit_id.in_(ids), Approval.at >= start, Approval.at < end)
        if decision:
            stmt = stmt.where(Approval.decision == decision)
        return int(session.scalar(stmt) or 0)

    def audited(action: str) -> int:
        return int(session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == action, AuditEntry.unit_code.in_(list(codes.values())),
            AuditEntry.at >= start, AuditEntry.at < end)) or 0)

    rects = list(session.scalars(select(Rectification).where(
        Rectification.unit_id.in_(ids), Rectification.received_on >= date(year, 1, 1),
        Rectification.received_on <= date(year, 12, 31))).unique())
    totals: dict[str, Any] = {k: sum(per[a.id][k] for a in accounts)
                              for k in ("publications", "originals", "withdrawals")}
    totals.update({
        "posts_reviewed": posts_with(None), "posts_returned": posts_with("rejected"),
        **_messages(session, ids, year),
        "inspections": inspected["count"],
        "inspected_passed": sum(v["inspected"] - v["inspection_failed"] for v in inspected["per"].values()),
        "inspected_failed": sum(v["inspection_failed"] for v in inspected["per"].values()),
        "rectifications": len(rects),
        "rectifications_accepted": sum(1 for r in rects if r.status == "accepted"),
        "rectifications_overdue": sum(1 for r in rects if r.status != "accepted" and r.due_on < today()),
        "credential_rotations": audited("account.credential_rotate"),
        "credential_reveals": audited("account.credential_reveal"),
        "reads": _sum_known(a["reads"] for a in out_accounts),
        "followers": _sum_known(a["followers"] for a in out_accounts),
    })
    rec = session.scalars(select(AnnualReport).where(AnnualReport.unit_id == unit.id,
                                                     AnnualReport.year == year)).first()
    return {"year": year, "unit": unit.code, "unit_name": unit.name, "accounts": out_accounts, "totals": totals,
            "published_url": rec.url if rec and rec.published_at else None}


def _sum_known(values: Any) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def _cell(value: Any) -> str:
    return "—" if value is None else str(value)


def _messages(session: Session, unit_ids: set[int], year: int) -> dict[str, Any]:
    """政民互动 figures of the year (hub/interaction/stats.py): received, answered, average working days."""
    from hub.interaction.stats import figures as message_figures

    f = message_figures(session, unit_ids, date(year, 1, 1), date(year + 1, 1, 1))
    return {"messages_received": f["received"], "messages_answered": f["answered"],
            "answer_days_avg": f["average_working_days"]}


def _inspections(session: Session, account_ids: set[int], start: datetime, end: datetime) -> dict[str, Any]:
    """The quarterly inspections carried out in the year (by ``created_at``, not the reference date)
    that hold an item on one of ``account_ids`` (an inspection of a unit above counts too), and per
    account how often it was inspected and failed. Bounded by the year: one query."""
    rows = session.scalars(select(QuarterlyInspection).where(
        QuarterlyInspection.created_at >= start, QuarterlyInspection.created_at < end)).unique().all()
    count = 0
    per: dict[int, dict[str, int]] = {}
    for insp in rows:
        mine = [i for i in insp.items or [] if i.get("account_id") in account_ids]
        count += 1 if mine else 0
        for i in mine:
            d = per.setdefault(i["account_id"], {"inspected": 0, "inspection_failed": 0})
            d["inspected"] += 1
            d["inspection_failed"] += 0 if i.get("passed") else 1
    return {"count": count, "per": per}


# -- renderings ----------------------------------------------------------------------------------
def _title(f: dict[str, Any]) -> str:
    return f"{f['unit_name']} {f['year']} 年度政务新媒体工作报表"


def to_html(f: dict[str, Any]) -> bytes:
    head = "".join(f"<th>{escape(label)}</th>" for _, label in ACCOUNT_COLUMNS)
    body = "".join("<tr>" + "".join(f"<td>{escape(_cell(a[k]))}</td>" for k, _ in ACCOUNT_COLUMNS) + "</tr>"
                   for a in f["accounts"])
    totals = "".join(f"<tr><th>{escape(label)}</th><td>{_cell(f['totals'][k])}</td></tr>"
                     for k, label in TOTAL_LABELS)
    title = escape(_title(f))
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{title}</title></head>'
            f"<body><h1>{title}</h1><h2>汇总</h2><table>{totals}</table><h2>各账号</h2>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></body></html>").encode()


def to_xlsx(f: dict[str, Any]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "汇总"
    ws.append([_title(f)])
    ws["A1"].font = Font(bold=True)
    for k, label in TOTAL_LABELS:
        ws.append([label, f["totals"][k]])
    ws2 = wb.create_sheet("各账号")
    ws2.append([label for _, label in ACCOUNT_COLUMNS])
    for a in f["accounts"]:
        ws2.append([a[k] for k, _ in ACCOUNT_COLUMNS])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def to_pdf(f: dict[str, Any]) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = "STSong-Light"
    if font not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(font))
    style = ParagraphStyle("t", fontName=font, fontSize=14, leading=20)
    grid = TableStyle([("FONTNAME", (0, 0), (-1, -1), font), ("FONTSIZE", (0, 0), (-1, -1), 9),
                       ("GRID", (0, 0), (-1, -1), 0.5, colors.grey)])
    totals = Table([[label, _cell(f["totals"][k])] for k, label in TOTAL_LABELS], colWidths=[60 * mm, 30 * mm])
    totals.setStyle(grid)
    rows = [[label for _, label in ACCOUNT_COLUMNS]] + [[_cell(a[k]) for k, _ in ACCOUNT_COLUMNS]
                                                         for a in f["accounts"]]
    accounts = Table(rows, repeatRows=1)
    accounts.setStyle(grid)
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, title=_title(f))
    doc.build([Paragraph(escape(_title(f)), style), Spacer(1, 6 * mm), totals, Spacer(1, 6 * mm), accounts])
    return buf.getvalue()


def render(f: dict[str, Any], fmt: str) -> bytes:
    return {"html": to_html, "pdf": to_pdf, "xlsx": to_xlsx}[fmt](f)


# -- reminder, overdue alert, published record -------------------------------------------------
def _record(session: Session, unit: Unit, year: int) -> AnnualReport:
    rec = session.scalars(select(AnnualReport).where(AnnualReport.unit_id == unit.id,
                                                     AnnualReport.year == year)).first()
    if rec is None:
        rec = AnnualReport(unit_id=unit.id, year=year)
        session.add(rec)
        session.flush()
    return rec


def record_published(session: Session, user: User, unit_code: str, year: int, url: str) -> AnnualReport:
    unit = unit_by_code(session, unit_code)
    if not is_admin_of(session, user, unit.id):
        raise Forbidden("只有本单位管理员可以登记年度报表发布", code="not_admin")
    if not url.startswith(("https://", "http://")) or len(url) > 500:
        raise BadRequest("url 应为 http(s) 网址", code="bad_url")
    year_bounds(year)
    rec = _record(session, unit, year)
    rec.url, rec.published_at, rec.published_by_id = url, utcnow(), user.id
    audit.record(session, "annual_report.published", object_type="annual_report", object_id=rec.id, unit=unit,
                 summary=f"{year} 年度报表已公开", details={"year": year, "url": url})
    return rec


def remind(session: Session, as_of: date) -> int:
    """On 1 January remind each unit that holds accounts; from 1 February alert the unpublished."""
    if as_of.month not in (1, 2):
        return 0
    year = as_of.year - 1
    n = 0
    holders = set(session.scalars(select(Unit).join(Account, Account.unit_id == Unit.id)).unique())
    for unit in sorted(holders, key=lambda u: u.id):
        rec = _record(session, unit, year)
        if as_of.month == 1 and rec.reminded_at is None:
            rec.reminded_at = utcnow()
            audit.record(session, "annual_report.reminder", object_type="annual_report", object_id=rec.id, unit=unit,
                         summary=f"请于 1 月 31 日前公开 {year} 年度报表", details={"year": year})
            n += 1
        elif as_of.month == 2 and rec.published_at is None and rec.overdue_at is None:
            rec.overdue_at = utcnow()
            audit.record(session, "annual_report.overdue", object_type="annual_report", object_id=rec.id, unit=unit,
                         summary=f"{year} 年度报表逾期未公开", details={"year": year})
            n += 1
    return n
