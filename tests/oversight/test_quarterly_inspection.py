"""The quarterly inspection (巡检, issue 15) of a league against the 19号 indicators: each account
scored, the silent one failed on the veto, failed items open rectifications, a late one escalates,
a re-inspection is its own record, and the published page is readable without logging in."""

from __future__ import annotations

from oversight_helpers import hub_cli, plus, publish, today
from sqlalchemy import select

from hub.db import db


def test_a_league_inspection_scores_fails_the_silent_and_publishes(app, world, instance):
    api, (a1, a2) = world["api"], world["accounts"]
    publish(app, api, [a1])
    sup = api["supervisor"]

    r = sup.post("/inspections", json={"unit": "hlbe", "period": "2026Q4", "as_of": plus(13)})
    assert r.status_code == 201, r.get_json()
    first = r.get_json()
    assert first["status"] == "done" and first["unit"] == "hlbe" and first["period"] == "2026Q4"
    items = {i["account_id"]: i for i in first["items"]}
    assert set(items) == {a1, a2}
    assert all(i["score"] == 100 and i["passed"] and not i["veto"] for i in items.values())

    # the inspector records deductions the hub's data does not hold: below 60 fails
    r = sup.post(f"/inspections/{first['id']}/items", json={"account_id": a2, "code": "D1", "count": 9,
                                                            "note": "未转发重大政策解读"})
    assert r.status_code == 200, r.get_json()
    item = {i["account_id"]: i for i in r.get_json()["items"]}[a2]
    assert item["score"] == 55 and not item["passed"] and not item["veto"]
    assert item["rectification_id"] and any("扣 45 分" in p for p in item["problems"])
    assert sup.post(f"/inspections/{first['id']}/items", json={"account_id": a2, "code": "X9"}).status_code == 400

    # as of 14 days after the last publication: the silent account fails on the veto (re-inspection)
    r = sup.post("/inspections", json={"unit": "hlbe", "period": "2026Q4", "as_of": plus(14)})
    assert r.status_code == 201
    second = r.get_json()
    assert second["id"] != first["id"]
    got = {i["account_id"]: i for i in sup.get(f"/inspections/{second['id']}").get_json()["items"]}
    assert got[a1]["veto"] and not got[a1]["passed"]
    assert any("2周内无更新" in p for p in got[a1]["problems"])
    assert got[a1]["rectification_id"]
    rects = {x["id"]: x for x in sup.get("/rectifications?unit=hlbe").get_json()["rectifications"]}
    assert rects[got[a1]["rectification_id"]]["source"] == "inspection"
    assert rects[got[a1]["rectification_id"]]["account_id"] == a1

    # publish: a public page without login
    assert api["admin"].post(f"/inspections/{second['id']}/publish").status_code == 404  # the league's, not theirs
    r = sup.post(f"/inspections/{second['id']}/publish")
    assert r.status_code == 200 and r.get_json()["status"] == "published"
    url = r.get_json()["public_url"]
    assert url and "/public/inspections/" in url
    anon = app.test_client()
    page = anon.get(url.split("localhost", 1)[-1])
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "陈巴尔虎旗发布" in html and "不合格（单项否决）" in html and "2周内无更新" in html
    assert anon.get("/public/inspections/not-a-key").status_code == 404
    assert sup.get(f"/inspections/{first['id']}").get_json()["public_url"] is None  # unpublished: none

    # a late rectification escalates to the level above
    rid = got[a1]["rectification_id"]
    due = rects[rid]["due_on"]
    from datetime import date, timedelta

    after = (date.fromisoformat(due) + timedelta(days=1)).isoformat()
    p = hub_cli(instance, "monitor", "run", "--as-of", after)
    assert p.returncode == 0, p.stderr
    assert {x["id"]: x for x in sup.get("/rectifications?unit=hlbe").get_json()["rectifications"]}[rid]["escalated"]
    from hub.models import AuditEntry

    s = db.session()
    actions = {e.action for e in s.scalars(select(AuditEntry).where(AuditEntry.object_type.in_(
        ("quarterly_inspection", "rectification"))))}
    s.rollback()
    assert {"inspection.quarterly", "inspection.item", "inspection.publish", "rectification.open",
            "rectification.escalate"} <= actions


def test_inspection_bad_input_and_access(app, world):
    api = world["api"]
    assert api["admin"].post("/inspections", json={"unit": "cbeh", "period": "2026Q4"}).status_code == 403
    assert api["editor"].post("/inspections", json={"unit": "cbeh", "period": "2026Q4"}).status_code == 403
    r = api["supervisor"].post("/inspections", json={"unit": "hlbe", "period": "2026Q5"})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "bad_period"
    r = api["supervisor"].post("/inspections", json={"unit": "hlbe", "period": "2026Q4", "as_of": "tomorrow"})
    assert r.status_code == 400
    assert api["supervisor"].post("/inspections", json={"unit": "nope", "period": "2026Q4"}).status_code == 404
    r = api["supervisor"].post("/inspections", json={"unit": "hlbe", "period": "2026Q4"})
    assert r.status_code == 201 and r.get_json()["as_of"] == today().isoformat()
    assert api["outsider"].get(f"/inspections/{r.get_json()['id']}").status_code == 404
    assert api["supervisor"].get("/inspections/999999").status_code == 404
