"""备案 through the API: accounts start pending, supervisors approve level by level (lowest
first, levels without a supervisor skipped), out of turn 409, off the path 403, unseen 404."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from support import Api

from hub.db import db
from hub.models import Account, AuditEntry


@pytest.fixture
def org(factory: Any, client: Any) -> dict[str, Api]:
    factory.unit("nmg", "内蒙古自治区人民政府办公厅", kind="region")
    factory.unit("hlbe", "呼伦贝尔市人民政府办公室", parent="nmg", kind="league")
    factory.unit("cbeh", "陈巴尔虎旗人民政府办公室", parent="hlbe", kind="banner")
    factory.unit("other", "其他旗人民政府办公室", parent="hlbe", kind="banner")
    factory.unit("tl", "通辽市人民政府办公室", parent="nmg", kind="league")
    people = {"admin": ("cbeh", "admin"), "editor": ("cbeh", "editor"), "sup_l": ("hlbe", "supervisor"),
              "sup_l2": ("hlbe", "supervisor"), "sup_r": ("nmg", "supervisor"), "sup_tl": ("tl", "supervisor"),
              "other_admin": ("other", "admin")}
    apis = {}
    for name, (unit, role) in people.items():
        factory.user(name, unit, role)
        apis[name] = Api(client, factory.token(name))
    return apis


def _open(api: Api, **kw: Any) -> dict[str, Any]:
    body = {"platform": "wechat", "name": "陈巴尔虎旗发布", "unit": "cbeh", "api_base": "http://127.0.0.1:9",
            "responsible_person": "张三", "responsible_phone": "0470-1234567", "launch_date": "2026-03-01"}
    body.update(kw)
    r = api.post("/accounts", body)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def test_account_is_pending_until_filed_up_the_tree(org: dict[str, Api]) -> None:
    acc = _open(org["admin"])
    aid = acc["id"]
    assert acc["status"] == "pending"
    steps = acc["filing"]["steps"]
    assert [s["unit"]["code"] for s in steps] == ["cbeh", "hlbe", "nmg"]
    assert [s["state"] for s in steps] == ["skipped", "current", "waiting"]
    # Editors of the unit do not see a pending account; posts cannot target it.
    assert org["editor"].get(f"/accounts/{aid}").status_code == 404
    r = org["editor"].post("/posts", {"title": "t", "content": "<p>x</p>", "account_ids": [aid]})
    assert r.status_code in (404, 409, 422)
    # Credentials may be written while the account is being filed.
    assert org["admin"].put(f"/accounts/{aid}/credentials", {"app_id": "wx1", "app_secret": "s"}).status_code == 200
    # Out of turn: the region before the league.
    r = org["sup_r"].post(f"/accounts/{aid}/filing/approve")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "filing_out_of_turn"
    # Not a supervisor on the path: 403 (the admin sees it) / 404 (another league cannot see it).
    assert org["admin"].post(f"/accounts/{aid}/filing/approve").status_code == 403
    assert org["sup_tl"].post(f"/accounts/{aid}/filing/approve").status_code == 404
    r = org["sup_l"].post(f"/accounts/{aid}/filing/approve", {"comment": "同意"})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == "pending"
    assert [s["state"] for s in body["filing"]["steps"]] == ["skipped", "approved", "current"]
    # The league's step is taken: the second league supervisor is out of turn now.
    assert org["sup_l2"].post(f"/accounts/{aid}/filing/approve").status_code == 409
    r = org["sup_r"].post(f"/accounts/{aid}/filing/approve", {})
    assert r.status_code == 200
    assert r.get_json()["status"] == "active" and r.get_json()["filing"]["status"] == "approved"
    assert org["sup_r"].post(f"/accounts/{aid}/filing/approve").status_code == 409
    with db.transaction() as s:
        actions = [e.action for e in s.query(AuditEntry).filter(AuditEntry.object_id == str(aid))
                   .order_by(AuditEntry.seq)]
    assert actions.count("account.filing_approve") == 2 and "account.filing_complete" in actions
    # Now editors see it.
    assert org["editor"].get(f"/accounts/{aid}").status_code == 200


def test_reject_needs_reason_then_resubmit(org: dict[str, Api]) -> None:
    aid = _open(org["admin"])["id"]
    r = org["sup_l"].post(f"/accounts/{aid}/filing/reject", {})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "missing_reason"
    r = org["sup_l"].post(f"/accounts/{aid}/filing/reject", data="not json", content_type="application/json")
    assert r.status_code == 400
    r = org["sup_l"].post(f"/accounts/{aid}/filing/reject", {"reason": "负责人电话缺失"})
    assert r.status_code == 200
    body = r.get_json()
    assert body["status"] == "pending" and body["filing"]["status"] == "rejected"
    assert body["filing"]["reason"] == "负责人电话缺失"
    assert org["sup_l2"].post(f"/accounts/{aid}/filing/approve").status_code == 409
    # Editing a pending account resubmits its opening filing.
    r = org["admin"].patch(f"/accounts/{aid}", {"responsible_phone": "0470-7654321"})
    assert r.status_code == 200 and r.get_json()["filing"]["status"] == "in_review"
    assert r.get_json()["responsible_phone"] == "0470-7654321"
    assert org["admin"].post(f"/accounts/{aid}/filing/resubmit").status_code == 409
    hist = org["sup_l"].get(f"/accounts/{aid}/filings").get_json()["filings"]
    assert [f["status"] for f in hist] == ["in_review", "rejected"]


def test_filer_cannot_approve_own_and_one_person_one_level(org: dict[str, Api], factory: Any) -> None:
    factory.user("both", "hlbe", "admin", "supervisor")
    factory.user("mixed", "nmg", "supervisor")
    both = Api(org["admin"].client, factory.token("both"))
    aid = _open(both, unit="other", name="其他旗发布")["id"]
    r = both.post(f"/accounts/{aid}/filing/approve")
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "own_filing"


def test_two_supervisors_racing_only_one_wins(org: dict[str, Api], app: Any) -> None:
    aid = _open(org["admin"])["id"]
    results: list[int] = []
    barrier = threading.Barrier(2)

    def go(name: str) -> None:
        client = app.test_client()
        api = Api(client, org[name].token)
        barrier.wait()
        results.append(api.post(f"/accounts/{aid}/filing/approve").status_code)

    threads = [threading.Thread(target=go, args=(n,)) for n in ("sup_l", "sup_l2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200, 409]


def test_change_and_close_are_filings(org: dict[str, Api], factory: Any) -> None:
    acc = factory.account("cbeh", "陈巴尔虎旗发布")
    aid = acc.id
    r = org["admin"].patch(f"/accounts/{aid}", {"name": "陈巴尔虎旗政务", "host_unit": "陈巴尔虎旗人民政府"})
    assert r.status_code == 200
    body = r.get_json()
    assert body["name"] == "陈巴尔虎旗发布" and body["status"] == "active"
    assert body["filing"]["kind"] == "change" and body["filing"]["snapshot"]["name"] == "陈巴尔虎旗政务"
    org["sup_l"].post(f"/accounts/{aid}/filing/approve")
    body = org["sup_r"].post(f"/accounts/{aid}/filing/approve").get_json()
    assert body["name"] == "陈巴尔虎旗政务" and body["host_unit"] == "陈巴尔虎旗人民政府"
    # api_base is not filed: it changes at once.
    r = org["admin"].patch(f"/accounts/{aid}", {"api_base": "https://api.weixin.qq.com"})
    assert r.get_json()["api_base"] == "https://api.weixin.qq.com" and r.get_json()["filing"]["status"] == "approved"
    assert org["admin"].patch(f"/accounts/{aid}", {"status": "closed"}).status_code == 400
    # Closing needs the public notice.
    r = org["admin"].post(f"/accounts/{aid}/close", {"notice_text": "本账号停止更新"})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "missing_notice_date"
    r = org["admin"].post(f"/accounts/{aid}/close", {"notice_text": "本账号停止更新", "notice_date": "2026-13-01"})
    assert r.status_code == 400
    r = org["admin"].post(f"/accounts/{aid}/close", {"notice_text": "本账号于 6 月 1 日起停止更新",
                                                      "notice_date": "2026-05-20", "reason": "机构调整"})
    assert r.status_code == 200 and r.get_json()["status"] == "active"
    # While the closure is in review the main slot is still taken.
    r = org["admin"].post("/accounts", {"platform": "wechat", "name": "新号", "unit": "cbeh"})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "main_account_exists"
    org["sup_l"].post(f"/accounts/{aid}/filing/approve")
    body = org["sup_r"].post(f"/accounts/{aid}/filing/approve").get_json()
    assert body["status"] == "closed"
    assert body["closure_notice"] == {"text": "本账号于 6 月 1 日起停止更新", "date": "2026-05-20"}
    assert org["admin"].post(f"/accounts/{aid}/close", {"notice_text": "x", "notice_date": "2026-05-20"}
                             ).status_code == 409
    assert org["admin"].put(f"/accounts/{aid}/credentials", {"app_id": "x"}).status_code == 409
    _open(org["admin"], name="陈巴尔虎旗发布（新）")


def test_main_and_secondary_rules(org: dict[str, Api]) -> None:
    _open(org["admin"])
    r = org["admin"].post("/accounts", {"platform": "wechat", "name": "陈巴尔虎旗二号", "unit": "cbeh"})
    assert r.status_code == 409
    r = org["admin"].post("/accounts", {"platform": "wechat", "name": "陈巴尔虎旗二号", "unit": "cbeh",
                                        "is_main": False})
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "missing_justification"
    acc = _open(org["admin"], name="陈巴尔虎旗服务", is_main=False, justification="办事服务单独发布")
    assert acc["status"] == "pending" and acc["filing"]["kind"] == "open"


@pytest.mark.parametrize("field,value,code", [
    ("responsible_phone", "call me", "invalid_phone"), ("launch_date", "2026/01/01", "invalid_date"),
    ("ipv6", "yes", "invalid_field"), ("host_unit", "x" * 201, "field_too_long"), ("name", "", "missing_name"),
])
def test_bad_filing_fields_are_refused(org: dict[str, Api], field: str, value: Any, code: str) -> None:
    body = {"platform": "wechat", "name": "陈巴尔虎旗发布", "unit": "cbeh", field: value}
    r = org["admin"].post("/accounts", body)
    assert r.status_code in (400, 422) and r.get_json()["error"]["code"] == code
    with db.transaction() as s:
        assert s.query(Account).count() == 0


def test_naming_warnings(org: dict[str, Api]) -> None:
    acc = _open(org["admin"], name="宣传科")
    warnings = acc["naming_warnings"]
    assert any("未包含主办单位名称「陈巴尔虎旗」" in w for w in warnings)
    assert any("内设机构" in w for w in warnings)
    ok = _open(org["other_admin"], name="其他旗发布", unit="other")
    assert ok["naming_warnings"] == []


def test_who_sees_filing_data(org: dict[str, Api], factory: Any) -> None:
    aid = factory.account("cbeh", "陈巴尔虎旗发布").id
    sup = org["sup_l"].get(f"/accounts/{aid}").get_json()
    assert "responsible_person" in sup and sup["filing"]["status"] == "approved"
    ed = org["editor"].get(f"/accounts/{aid}").get_json()
    assert "responsible_person" not in ed and "filing" not in ed
    assert org["editor"].get(f"/accounts/{aid}/filings").status_code == 403
    # Supervisors never manage secrets.
    assert org["sup_l"].put(f"/accounts/{aid}/credentials", {"app_id": "x"}).status_code == 403
    assert org["sup_l"].post(f"/accounts/{aid}/credentials/console_password/rotate").status_code == 403


def test_no_supervisor_on_path_waits(factory: Any, client: Any) -> None:
    factory.unit("solo", "独立单位", kind="region")
    factory.user("solo_admin", "solo", "admin")
    api = Api(client, factory.token("solo_admin"))
    r = api.post("/accounts", {"platform": "wechat", "name": "独立单位发布", "unit": "solo"})
    assert r.status_code == 201
    f = r.get_json()["filing"]
    assert f["status"] == "in_review" and f["current_level"] is None
    # A supervisor appointed later can take the step.
    factory.user("solo_sup", "solo", "supervisor")
    sup = Api(client, factory.token("solo_sup"))
    r = sup.post(f"/accounts/{r.get_json()['id']}/filing/approve")
    assert r.status_code == 200 and r.get_json()["status"] == "active"


def test_names_differing_across_platforms_are_flagged(org: dict[str, Api]) -> None:
    _open(org["admin"], name="陈巴尔虎旗发布")
    weibo = org["admin"].post("/accounts", {"platform": "weibo", "name": "陈巴尔虎旗微发布", "unit": "cbeh",
                                            "api_base": "http://127.0.0.1:9"})
    assert weibo.status_code == 201
    assert any("其他平台主账号名称不一致：陈巴尔虎旗发布" in w for w in weibo.get_json()["naming_warnings"])
    rows = org["sup_l"].get("/accounts/register?platform=weibo").get_json()["accounts"]
    assert len(rows) == 1 and "名称不一致" in rows[0]["warnings"]
