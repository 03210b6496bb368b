"""The annual report (issue 15): ``hub report annual`` writes a valid PDF, XLSX and HTML whose figures
equal the database's (posts published per account in that year only, originals counted), and the
API gives the same figures; the published record; the January reminder and February alert."""

from __future__ import annotations

import io

from oversight_helpers import hub_cli, publish, today
from sqlalchemy import func, select

from hub.db import db


def _db_counts(account_id, year):
    from hub.models import Dispatch, Revision
    from hub.oversight.annual import year_bounds

    start, end = year_bounds(year)
    s = db.session()
    base = select(func.count()).select_from(Dispatch).join(Revision, Revision.id == Dispatch.revision_id).where(
        Dispatch.account_id == account_id, Dispatch.published_at >= start, Dispatch.published_at < end)
    out = (s.scalar(base), s.scalar(base.where(Revision.is_original.is_(True))))
    s.rollback()
    return out


def test_annual_report_figures_in_pdf_xlsx_html_and_api(app, world, instance, tmp_path):
    from openpyxl import load_workbook

    api, (a1, a2) = world["api"], world["accounts"]
    publish(app, api, [a1, a2], is_original=True)
    publish(app, api, [a1], title="关于冬季防火的补充通知", is_original=False)
    year = today().year
    assert _db_counts(a1, year) == (2, 1) and _db_counts(a2, year) == (1, 1)

    r = api["supervisor"].get(f"/reports/annual?year={year}&unit=hlbe")
    assert r.status_code == 200, r.get_json()
    got = {a["id"]: (a["publications"], a["originals"]) for a in r.get_json()["accounts"]}
    assert got == {a1: _db_counts(a1, year), a2: _db_counts(a2, year)}
    totals = r.get_json()["totals"]
    assert totals["publications"] == 3 and totals["originals"] == 2
    assert totals["posts_reviewed"] == 2 and totals["posts_returned"] == 0
    assert totals["messages_received"] == 0
    # another year holds none of it
    other = api["supervisor"].get(f"/reports/annual?year={year - 1}&unit=hlbe").get_json()
    assert other["totals"]["publications"] == 0

    pdf, xlsx, html = tmp_path / "r.pdf", tmp_path / "r.xlsx", tmp_path / "r.html"
    for fmt, path in (("pdf", pdf), ("xlsx", xlsx), ("html", html)):
        p = hub_cli(instance, "report", "annual", "--year", str(year), "--unit", "hlbe", "--format", fmt,
                    "--output", str(path))
        assert p.returncode == 0, p.stderr
    assert pdf.read_bytes().startswith(b"%PDF-") and b"%%EOF" in pdf.read_bytes()[-1024:]
    wb = load_workbook(io.BytesIO(xlsx.read_bytes()))
    sheet = wb["各账号"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("单位", "账号", "平台", "发布数", "原创数", "撤稿数", "巡检次数", "巡检不合格次数",
                       "阅读数", "年末粉丝数")
    by_name = {r[1]: (r[3], r[4]) for r in rows[1:]}
    assert by_name == {"陈巴尔虎旗发布": _db_counts(a1, year), "陈巴尔虎旗政务": _db_counts(a2, year)}
    summary = {r[0]: r[1] for r in wb["汇总"].iter_rows(values_only=True) if len(r) > 1}
    assert summary["发布总数"] == 3 and summary["原创总数"] == 2
    text = html.read_text(encoding="utf-8")
    assert "陈巴尔虎旗发布" in text and "年度政务新媒体工作报表" in text


def test_annual_report_bad_input_and_access(app, world, instance, tmp_path):
    api = world["api"]
    assert api["editor"].get("/reports/annual?year=2026&unit=cbeh").status_code == 403
    assert api["supervisor"].get("/reports/annual?year=abc&unit=hlbe").status_code == 400
    assert api["supervisor"].get("/reports/annual?year=1900&unit=hlbe").status_code == 400
    assert api["supervisor"].get("/reports/annual?year=2026").status_code == 400
    p = hub_cli(instance, "report", "annual", "--year", "2026", "--unit", "nope", "--format", "pdf",
                "--output", str(tmp_path / "x.pdf"))
    assert p.returncode == 1 and "nope" in p.stderr and not (tmp_path / "x.pdf").exists()
    p = hub_cli(instance, "report", "annual", "--year", "2026", "--unit", "hlbe", "--format", "doc",
                "--output", str(tmp_path / "x.doc"))
    assert p.returncode == 2


def test_reminder_overdue_and_published_record(app, world, instance):
    from hub.models import AuditEntry

    api = world["api"]
    p = hub_cli(instance, "monitor", "run", "--as-of", "2027-01-01")
    assert p.returncode == 0, p.stderr
    p = hub_cli(instance, "monitor", "run", "--as-of", "2027-01-02")  # reminded once
    r = api["admin"].post("/reports/annual/published", json={"unit": "cbeh", "year": 2026, "url": "javascript:x"})
    assert r.status_code == 400
    assert api["editor"].post("/reports/annual/published",
                              json={"unit": "cbeh", "year": 2026, "url": "https://x.gov.cn/a"}).status_code == 403
    r = api["admin"].post("/reports/annual/published",
                          json={"unit": "cbeh", "year": 2026, "url": "https://www.cbeh.gov.cn/ndbb/2026.html"})
    assert r.status_code == 201, r.get_json()
    p = hub_cli(instance, "monitor", "run", "--as-of", "2027-02-01")
    assert p.returncode == 0, p.stderr
    s = db.session()
    entries = [(e.action, e.unit_code) for e in s.scalars(select(AuditEntry).where(
        AuditEntry.action.like("annual_report.%")).order_by(AuditEntry.seq))]
    s.rollback()
    # cbeh holds the accounts: reminded on 1 January, published, so no overdue alert on 1 February
    assert entries == [("annual_report.reminder", "cbeh"), ("annual_report.published", "cbeh")]
    got = api["supervisor"].get("/reports/annual?year=2026&unit=cbeh").get_json()
    assert got["published_url"] == "https://www.cbeh.gov.cn/ndbb/2026.html"


def test_an_unpublished_report_is_overdue_on_1_february(app, world, instance):
    from hub.models import AuditEntry

    assert hub_cli(instance, "monitor", "run", "--as-of", "2027-02-01").returncode == 0
    assert hub_cli(instance, "monitor", "run", "--as-of", "2027-02-02").returncode == 0
    s = db.session()
    entries = [(e.action, e.unit_code) for e in s.scalars(select(AuditEntry).where(
        AuditEntry.action.like("annual_report.%")))]
    s.rollback()
    assert entries == [("annual_report.overdue", "cbeh")]


def _db_inspections(year, account_ids):
    """The database's own count: inspections carried out in the year holding an item on the accounts,
    and the failed items among them."""
    from hub.models import QuarterlyInspection
    from hub.oversight.annual import year_bounds

    start, end = year_bounds(year)
    s = db.session()
    rows = s.scalars(select(QuarterlyInspection).where(QuarterlyInspection.created_at >= start,
                                                       QuarterlyInspection.created_at < end)).all()
    items = [i for r in rows for i in r.items if i["account_id"] in account_ids]
    out = (len({r.id for r in rows if any(i["account_id"] in account_ids for i in r.items)}),
           sum(1 for i in items if i["passed"]), sum(1 for i in items if not i["passed"]))
    s.rollback()
    return out


def test_annual_report_counts_the_inspections_of_the_year(app, world, instance, tmp_path):
    from openpyxl import load_workbook
    from oversight_helpers import plus

    api, (a1, a2) = world["api"], world["accounts"]
    sup = api["supervisor"]
    publish(app, api, [a1])
    year = today().year
    before = sup.get(f"/reports/annual?year={year}&unit=hlbe").get_json()["totals"]
    assert before["inspections"] == 0 and before["inspected_failed"] == 0
    # two inspections of the league: the second one 14 days on fails both accounts on the veto;
    # a2 never published, so it fails both times
    first = sup.post("/inspections", json={"unit": "hlbe", "period": "2026Q4", "as_of": plus(1)}).get_json()
    second = sup.post("/inspections", json={"unit": "hlbe", "period": "2026Q4", "as_of": plus(14)}).get_json()
    assert first["id"] != second["id"]
    expected = _db_inspections(year, {a1, a2})
    assert expected[0] == 2 and expected[1] + expected[2] == 4 and expected[2] >= 1

    got = sup.get(f"/reports/annual?year={year}&unit=hlbe").get_json()
    totals = got["totals"]
    assert (totals["inspections"], totals["inspected_passed"], totals["inspected_failed"]) == expected
    per = {a["id"]: (a["inspected"], a["inspection_failed"]) for a in got["accounts"]}
    assert per[a1][0] == 2 and per[a2][0] == 2
    assert per[a1][1] + per[a2][1] == expected[2]
    # failed items opened rectifications received today: counted, none overdue yet
    assert totals["rectifications"] == expected[2] and totals["rectifications_overdue"] == 0
    # the unit below sees the league's inspections of its accounts too
    assert api["admin"].get(f"/reports/annual?year={year}&unit=cbeh").get_json()["totals"]["inspections"] == 2
    # another year: none
    assert sup.get(f"/reports/annual?year={year - 1}&unit=hlbe").get_json()["totals"]["inspections"] == 0

    xlsx = tmp_path / "r.xlsx"
    p = hub_cli(instance, "report", "annual", "--year", str(year), "--unit", "hlbe", "--format", "xlsx",
                "--output", str(xlsx))
    assert p.returncode == 0, p.stderr
    summary = {r[0]: r[1] for r in load_workbook(io.BytesIO(xlsx.read_bytes()))["汇总"].iter_rows(values_only=True)
               if len(r) > 1}
    assert summary["巡检次数"] == 2 and summary["巡检不合格账号次"] == expected[2]
