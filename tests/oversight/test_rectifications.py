"""通报 and rectifications (issue 15): due 10 working days after receipt (chinese-calendar), the
unit's report with its 问责 record, the supervisor's accept/return, escalation when overdue."""

from __future__ import annotations

from datetime import date

from oversight_helpers import hub_cli
from sqlalchemy import select

from hub.db import db
from hub.oversight.workdays import add_working_days, rectification_due


def _notice(api, received_on, who="supervisor", **kw):
    body = {"unit": "cbeh", "text": "国务院办公厅抽查通报：账号内容更新不及时", "received_on": received_on, **kw}
    return api[who].post("/notices", json=body)


def test_due_dates_count_working_days():
    assert rectification_due(date(2025, 9, 26)) == date(2025, 10, 16)  # National Day + 调休 of 2025
    assert rectification_due(date(2026, 3, 2)) == date(2026, 3, 16)  # an ordinary Monday
    assert rectification_due(date(2025, 6, 9)) == date(2025, 6, 23)
    assert add_working_days(date(2025, 9, 26), 1) == date(2025, 9, 28)  # Sunday 28 Sep 2025 is a working day


def test_a_notice_opens_a_rectification_due_in_ten_working_days(app, world):
    api = world["api"]
    r = _notice(api, "2025-09-26", account_id=world["accounts"][0])
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["due_on"] == "2025-10-16" and r.get_json()["status"] == "open"
    r = _notice(api, "2026-03-02")
    assert r.status_code == 201 and r.get_json()["due_on"] == "2026-03-16"
    listed = api["admin"].get("/rectifications?unit=cbeh").get_json()["rectifications"]
    assert [(x["unit"], x["due_on"]) for x in listed] == [("cbeh", "2025-10-16"), ("cbeh", "2026-03-16")]
    assert listed[0]["account_id"] == world["accounts"][0]


def test_bad_notices_are_refused_and_change_nothing(app, world):
    api = world["api"]
    assert _notice(api, "2025-09-26", who="admin").status_code == 403
    assert _notice(api, "2025-09-26", who="editor").status_code == 403
    r = _notice(api, "26/09/2025")
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "bad_date"
    r = _notice(api, "2040-01-02")
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "calendar_year_unknown"
    assert api["supervisor"].post("/notices", json={"unit": "cbeh"}).status_code == 400
    assert _notice(api, "2025-09-26", unit="nope").status_code == 404
    assert _notice(api, "2025-09-26", account_id=999999).status_code == 404
    assert api["supervisor"].get("/rectifications?unit=cbeh").get_json()["rectifications"] == []
    assert api["editor"].get("/rectifications?unit=cbeh").status_code == 403


def test_report_return_report_accept(app, world):
    from hub.models import AuditEntry

    api = world["api"]
    rid = _notice(api, "2026-03-02").get_json()["id"]
    report = {"rectification": "已完成栏目内容更新，建立每周更新制度",
              "accountability": {"people": 2, "measures": "约谈运维责任人"}}
    assert api["supervisor"].post(f"/rectifications/{rid}/report", json=report).status_code == 403
    assert api["supervisor"].post(f"/rectifications/{rid}/accept").status_code == 409
    r = api["admin"].post(f"/rectifications/{rid}/report", json=report)
    assert r.status_code == 200 and r.get_json()["status"] == "reported"
    assert r.get_json()["accountability"] == {"people": 2, "measures": "约谈运维责任人"}
    assert api["admin"].post(f"/rectifications/{rid}/report", json=report).status_code == 409
    assert api["supervisor"].post(f"/rectifications/{rid}/return", json={}).status_code == 400
    assert api["admin"].post(f"/rectifications/{rid}/return", json={"reason": "x"}).status_code == 403
    r = api["supervisor"].post(f"/rectifications/{rid}/return", json={"reason": "问责情况不具体"})
    assert r.status_code == 200 and r.get_json()["status"] == "returned"
    assert r.get_json()["return_reason"] == "问责情况不具体"
    assert api["admin"].post(f"/rectifications/{rid}/report", json=report).status_code == 200
    r = api["supervisor"].post(f"/rectifications/{rid}/accept")
    assert r.status_code == 200 and r.get_json()["status"] == "accepted"
    assert api["outsider"].post(f"/rectifications/{rid}/accept").status_code == 404
    s = db.session()
    actions = [e.action for e in s.scalars(select(AuditEntry).where(AuditEntry.object_type == "rectification")
                                            .order_by(AuditEntry.seq))]
    s.rollback()
    assert actions == ["rectification.open", "rectification.report", "rectification.return",
                       "rectification.report", "rectification.accept"]


def test_an_overdue_rectification_escalates_to_the_level_above(app, world, instance):
    from hub.models import AuditEntry

    api = world["api"]
    late = _notice(api, "2025-09-26").get_json()["id"]
    on_time = _notice(api, "2026-03-02").get_json()["id"]
    p = hub_cli(instance, "monitor", "run", "--as-of", "2026-03-10")
    assert p.returncode == 0, p.stderr
    assert "整改逾期上报 1" in p.stdout
    listed = {x["id"]: x for x in api["supervisor"].get("/rectifications?unit=cbeh").get_json()["rectifications"]}
    assert listed[late]["escalated"] and listed[late]["overdue"]
    assert not listed[on_time]["escalated"]
    s = db.session()
    esc = [(e.object_id, e.unit_code) for e in s.scalars(select(AuditEntry).where(
        AuditEntry.action == "rectification.escalate"))]
    s.rollback()
    assert esc == [(str(late), "hlbe")]  # the level above the unit
    p = hub_cli(instance, "monitor", "run", "--as-of", "2026-03-11")
    assert "整改逾期上报 0" in p.stdout  # once
