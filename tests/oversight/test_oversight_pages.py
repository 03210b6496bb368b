"""The staff pages of supervision (issue 15) with the Flask test client: a supervisor starts a
quarterly inspection from the page, records an item, publishes it and sees the public link; the
unit's admin reports on a rectification, the supervisor returns then accepts it; an editor gets
404 and sees no menu item."""

from __future__ import annotations

import re

from oversight_helpers import login, plus, publish
from sqlalchemy import select

from hub.db import db


def _csrf(html):
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _post(client, url, page, **form):
    return client.post(url, data={"csrf_token": _csrf(client.get(page).get_data(as_text=True)), **form},
                       follow_redirects=True)


def _inspections():
    from hub.models import QuarterlyInspection

    s = db.session()
    out = list(s.scalars(select(QuarterlyInspection).order_by(QuarterlyInspection.id)))
    s.rollback()
    return out


def test_a_supervisor_inspects_records_and_publishes_from_the_pages(app, world, client):
    a1, a2 = world["accounts"]
    publish(app, world["api"], [a1])
    login(client, "supervisor")
    home = client.get("/monitor").get_data(as_text=True)
    assert 'href="/oversight/inspections"' in home and 'href="/oversight/rectifications"' in home
    page = client.get("/oversight/inspections").get_data(as_text=True)
    assert "开展巡检" in page and "还没有巡检" in page

    # bad input: a clear message, nothing created
    html = _post(client, "/oversight/inspections", "/oversight/inspections", unit="hlbe", period="2026-4").get_data(
        as_text=True)
    assert "period 应为 YYYYQn" in html and _inspections() == []
    html = _post(client, "/oversight/inspections", "/oversight/inspections", unit="hlbe", period="2026Q4",
                 as_of="tomorrow").get_data(as_text=True)
    assert "参考日期应为 YYYY-MM-DD" in html and _inspections() == []

    r = _post(client, "/oversight/inspections", "/oversight/inspections", unit="hlbe", period="2026Q4",
              as_of=plus(1))
    assert r.status_code == 200
    (insp,) = _inspections()
    html = r.get_data(as_text=True)
    assert "巡检已完成" in html and "陈巴尔虎旗发布" in html and "记录巡检问题" in html and "公开巡检结果" in html
    page = f"/oversight/inspections/{insp.id}"

    html = _post(client, f"{page}/items", page, account_id=str(a2), code="D1", count="9",
                 note="未转发重大政策解读").get_data(as_text=True)
    assert "已记录巡检问题" in html
    row = re.search(rf'<tr data-account="{a2}">(.*?)</tr>', html, re.S).group(1)
    assert '<td class="score">55</td>' in row and "不合格" in row and "扣 45 分" in row
    html = _post(client, f"{page}/items", page, account_id="x", code="D1").get_data(as_text=True)
    assert "请选择账号" in html
    html = _post(client, f"{page}/items", page, account_id=str(a2), code="X9").get_data(as_text=True)
    assert "没有指标 X9" in html

    html = _post(client, f"{page}/publish", page).get_data(as_text=True)
    assert "巡检结果已公开" in html
    link = re.search(r'id="public-link">([^<]+)<', html).group(1)
    assert "/public/inspections/" in link and "记录巡检问题" not in html
    assert app.test_client().get(link.split("localhost", 1)[-1]).status_code == 200
    listing = client.get("/oversight/inspections").get_data(as_text=True)
    assert f'data-inspection="{insp.id}"' in listing and "已公开" in listing
    # the failed item opened a rectification, shown on the rectifications page
    html = client.get("/oversight/rectifications").get_data(as_text=True)
    assert "巡检不合格" in html and "待整改" in html


def test_admin_reports_supervisor_returns_then_accepts(app, world, client):
    api = world["api"]
    r = api["supervisor"].post("/notices", json={"unit": "cbeh", "text": "国务院办公厅抽查通报：更新不及时",
                                                 "received_on": "2025-09-26"})
    rid = r.get_json()["id"]
    admin = app.test_client()
    login(admin, "admin")
    page = "/oversight/rectifications"
    html = admin.get(page).get_data(as_text=True)
    assert "2025-10-16" in html and "待整改" in html and "已逾期" in html and "报送整改情况" in html
    assert "验收通过" not in html  # not the admin's to decide
    html = _post(admin, f"{page}/{rid}/report", page, rectification="", people="1").get_data(as_text=True)
    assert "请填写整改情况" in html
    html = _post(admin, f"{page}/{rid}/report", page, rectification="已更新", people="two").get_data(as_text=True)
    assert "问责人数应为整数" in html
    assert api["admin"].get("/rectifications?unit=cbeh").get_json()["rectifications"][0]["status"] == "open"
    html = _post(admin, f"{page}/{rid}/report", page, rectification="已完成栏目更新，建立每周更新制度", people="2",
                 measures="约谈运维责任人").get_data(as_text=True)
    assert "整改情况已报送" in html and "已报送，待验收" in html and "约谈运维责任人" in html

    login(client, "supervisor")
    html = _post(client, f"{page}/{rid}/return", page, reason="").get_data(as_text=True)
    assert "退回需要说明理由" in html
    html = _post(client, f"{page}/{rid}/return", page, reason="未说明长效机制").get_data(as_text=True)
    assert "整改已退回" in html and "未说明长效机制" in html and "已退回，待重新报送" in html
    _post(admin, f"{page}/{rid}/report", page, rectification="补充：已建立长效机制", people="2", measures="约谈")
    html = _post(client, f"{page}/{rid}/accept", page).get_data(as_text=True)
    assert "整改已通过" in html
    got = api["supervisor"].get("/rectifications?unit=cbeh").get_json()["rectifications"][0]
    assert got["status"] == "accepted" and got["report"] == "补充：已建立长效机制"
    # the admin may not decide
    html = _post(admin, f"{page}/{rid}/accept", page).get_data(as_text=True)
    assert "只有主管单位可以验收整改" in html


def test_a_supervisor_records_a_notice_from_the_page_and_the_page_reads_in_english(app, world, client):
    api, a1 = world["api"], world["accounts"][0]
    login(client, "supervisor")
    page = "/oversight/rectifications"
    html = client.get(page).get_data(as_text=True)
    assert "登记通报" in html and "陈巴尔虎旗发布" in html
    html = _post(client, "/oversight/notices", page, unit="cbeh", text="抽查通报", received_on="26/09/2025"
                 ).get_data(as_text=True)
    assert "收到日期应为 YYYY-MM-DD" in html
    html = _post(client, "/oversight/notices", page, unit="cbeh", account_id="abc", text="抽查通报",
                 received_on="2025-09-26").get_data(as_text=True)
    assert "请选择账号" in html
    assert api["supervisor"].get("/rectifications?unit=cbeh").get_json()["rectifications"] == []
    html = _post(client, "/oversight/notices", page, unit="cbeh", account_id=str(a1), text="抽查通报：更新不及时",
                 received_on="2025-09-26").get_data(as_text=True)
    assert "通报已登记" in html and "2025-10-16" in html
    (got,) = api["supervisor"].get("/rectifications?unit=cbeh").get_json()["rectifications"]
    assert got["account_id"] == a1 and got["due_on"] == "2025-10-16"
    # an admin has no notice form and may not record one
    admin = app.test_client()
    login(admin, "admin")
    html = admin.get(page).get_data(as_text=True)
    assert "登记通报" not in html
    html = _post(admin, "/oversight/notices", page, unit="cbeh", text="x", received_on="2025-09-26"
                 ).get_data(as_text=True)
    assert "只有主管单位可以登记通报" in html
    # English
    client.get("/lang/en")
    html = client.get(page).get_data(as_text=True)
    assert "Rectification and accountability" in html and "Record a notice" in html and "Overdue" in html
    assert "Quarterly inspections" in client.get("/oversight/inspections").get_data(as_text=True)


def test_an_editor_gets_404_and_no_menu(app, world, client):
    api = world["api"]
    rid = api["supervisor"].post("/notices", json={"unit": "cbeh", "text": "通报", "received_on": "2025-09-26"}
                                 ).get_json()["id"]
    iid = api["supervisor"].post("/inspections", json={"unit": "hlbe", "period": "2026Q4"}).get_json()["id"]
    login(client, "editor")
    home = client.get("/").get_data(as_text=True)
    assert "/oversight/" not in home and "季度巡检" not in home
    for url in ("/oversight/inspections", f"/oversight/inspections/{iid}", "/oversight/rectifications"):
        assert client.get(url).status_code == 404, url
    token = _csrf(home)
    for url in ("/oversight/inspections", "/oversight/notices", f"/oversight/inspections/{iid}/items",
                f"/oversight/inspections/{iid}/publish", f"/oversight/rectifications/{rid}/report",
                f"/oversight/rectifications/{rid}/accept", f"/oversight/rectifications/{rid}/return"):
        assert client.post(url, data={"csrf_token": token}).status_code == 404, url
    # an admin of another unit: the inspection of the league is not theirs
    other = app.test_client()
    login(other, "admin")
    assert other.get(f"/oversight/inspections/{iid}").status_code == 404
