"""The register (filters, CSV and XLSX export) and the account pages in the web UI."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from openpyxl import load_workbook
from support import PASSWORD, Api


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert m, "no csrf token on the page"
    return m.group(1)


def web_login(client: Any, username: str) -> str:
    token = csrf_of(client.get("/login").get_data(as_text=True))
    r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 302
    return csrf_of(client.get("/").get_data(as_text=True))


@pytest.fixture
def reg(world: dict[str, Any], factory: Any, client: Any) -> dict[str, Any]:
    factory.user("region", "nmg", "supervisor")
    factory.user("other_admin", "other", "admin")
    world["api"]["region"] = Api(client, factory.token("region"))
    world["api"]["other_admin"] = Api(client, factory.token("other_admin"))
    r = world["api"]["other_admin"].post("/accounts", {
        "platform": "wechat", "name": "=HYPERLINK(\"x\")", "unit": "other", "responsible_person": "李四",
        "responsible_phone": "0470-1111111"})
    assert r.status_code == 201
    world["pending"] = r.get_json()["id"]
    return world


def test_register_json_filters(reg: dict[str, Any]) -> None:
    sup = reg["api"]["supervisor"]
    rows = sup.get("/accounts/register").get_json()["accounts"]
    assert len(rows) == 3
    assert {r["status"] for r in rows} == {"启用", "备案中"}
    assert [r["id"] for r in sup.get("/accounts/register?status=pending").get_json()["accounts"]] == [reg["pending"]]
    assert len(sup.get("/accounts/register?unit=cbeh").get_json()["accounts"]) == 2
    assert sup.get("/accounts/register?platform=weibo").get_json()["accounts"] == []
    assert sup.get("/accounts/register?status=bogus").status_code == 400
    assert sup.get("/accounts/register?format=pdf").status_code == 400
    # Units outside the caller's subtree are not found; editors have no register.
    assert reg["api"]["admin"].get("/accounts/register?unit=other").status_code == 404
    assert len(reg["api"]["admin"].get("/accounts/register").get_json()["accounts"]) == 2
    assert reg["api"]["editor"].get("/accounts/register").status_code == 403


def test_register_csv_and_xlsx(reg: dict[str, Any]) -> None:
    sup = reg["api"]["region"]
    r = sup.get("/accounts/register?format=csv&unit=hlbe")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    text = r.get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["编号", "账号名称", "平台"] and "负责人" in rows[0] and "联系电话" in rows[0]
    names = [row[1] for row in rows[1:]]
    assert "陈巴尔虎旗发布" in names
    assert "'=HYPERLINK(\"x\")" in names  # no formula injection
    r = sup.get("/accounts/register?format=xlsx&status=active")
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.get_data()))
    ws = wb["账号备案登记表"]
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert values[0][1] == "账号名称" and len(values) == 3
    assert {v[1] for v in values[1:]} == {"陈巴尔虎旗发布", "陈巴尔虎旗政务"}


def test_web_register_and_export(reg: dict[str, Any], client: Any) -> None:
    web_login(client, "supervisor")
    page = client.get("/accounts/register?status=pending")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "账号备案登记表" in html and "李四" in html
    assert "陈巴尔虎旗发布" not in html
    r = client.get("/accounts/register.xlsx?unit=cbeh")
    assert r.status_code == 200 and load_workbook(io.BytesIO(r.get_data())).active.max_row == 3
    r = client.get("/accounts/register.csv")
    assert r.status_code == 200 and "陈巴尔虎旗发布" in r.get_data().decode("utf-8-sig")
    assert client.get("/accounts/register.pdf").status_code == 404


def test_web_filing_approval_by_supervisors(reg: dict[str, Any], client: Any, app: Any) -> None:
    pid = reg["pending"]
    token = web_login(client, "supervisor")
    dash = client.get("/").get_data(as_text=True)
    assert 'id="filings-due"' in dash
    html = client.get(f"/accounts/{pid}").get_data(as_text=True)
    assert 'id="filing-approve"' in html and 'data-state="current"' in html
    r = client.post(f"/accounts/{pid}/filing/reject", data={"csrf_token": token, "reason": ""})
    assert r.status_code == 302
    assert "必须填写理由" in client.get(f"/accounts/{pid}").get_data(as_text=True)
    client.post(f"/accounts/{pid}/filing/approve", data={"csrf_token": token, "comment": "同意开设"})
    html = client.get(f"/accounts/{pid}").get_data(as_text=True)
    assert "同意开设" in html and 'id="filing-approve"' not in html
    other = app.test_client()
    token2 = web_login(other, "region")
    other.post(f"/accounts/{pid}/filing/approve", data={"csrf_token": token2})
    html = other.get(f"/accounts/{pid}").get_data(as_text=True)
    assert 'data-status="active"' in html
    assert reg["api"]["other_admin"].get(f"/accounts/{pid}").get_json()["status"] == "active"


def test_web_admin_creates_and_manages_credentials(reg: dict[str, Any], client: Any) -> None:
    token = web_login(client, "admin")
    r = client.post("/accounts/new", data={"csrf_token": token, "unit": "cbeh", "platform": "wechat",
                                           "name": "陈巴尔虎旗服务", "is_main": "no", "justification": "",
                                           "api_base": "http://127.0.0.1:9"})
    assert r.status_code == 200 and "必须写明理由" in r.get_data(as_text=True)
    r = client.post("/accounts/new", data={"csrf_token": token, "unit": "cbeh", "platform": "wechat",
                                           "name": "陈巴尔虎旗服务", "is_main": "no", "justification": "办事服务",
                                           "responsible_phone": "0470-2222222", "launch_date": "2026-02-01",
                                           "ipv6": "yes", "api_base": "http://127.0.0.1:9"})
    assert r.status_code == 302
    aid = int(r.headers["Location"].rsplit("/", 1)[1])
    html = client.get(f"/accounts/{aid}").get_data(as_text=True)
    assert 'data-status="pending"' in html and "0470-2222222" in html
    client.post(f"/accounts/{aid}/credentials", data={"csrf_token": token, "cred_app_id": "wx_web",
                                                     "cred_app_secret": "web-secret-value"})
    html = client.get(f"/accounts/{aid}").get_data(as_text=True)
    assert "web-secret-value" not in html and html.count("cred-set") == 2
    r = client.post(f"/accounts/{aid}/credentials/console_password/rotate", data={"csrf_token": token})
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    pw = re.search(r'id="secret-value">([^<]+)<', r.get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    assert pw not in client.get(f"/accounts/{aid}").get_data(as_text=True)
    r = client.post(f"/accounts/{aid}/credentials/console_password/reveal",
                    data={"csrf_token": token, "password": "wrong", "reason": "登录"})
    assert r.status_code == 302
    assert "登录密码不正确" in client.get(f"/accounts/{aid}").get_data(as_text=True)
    r = client.post(f"/accounts/{aid}/credentials/console_password/reveal",
                    data={"csrf_token": token, "password": PASSWORD, "reason": "登录后台"})
    assert r.status_code == 200 and pw in r.get_data(as_text=True)
    r = client.post(f"/accounts/{aid}/edit", data={"csrf_token": token, "name": "陈巴尔虎旗政务服务",
                                                  "is_main": "no", "justification": "办事服务"})
    assert r.status_code == 302
    assert "陈巴尔虎旗政务服务" in client.get(f"/accounts/{aid}").get_data(as_text=True)


def test_editor_sees_no_filing_or_credentials(reg: dict[str, Any], client: Any) -> None:
    web_login(client, "editor")
    aid = reg["accounts"][0]
    html = client.get(f"/accounts/{aid}").get_data(as_text=True)
    assert 'id="credentials"' not in html and 'id="filed-data"' not in html
    assert client.get(f"/accounts/{reg['pending']}").status_code == 404
    assert client.get("/accounts/register").status_code == 404


def test_web_account_type_is_picked_and_credential_times_are_beijing(reg: dict[str, Any], client: Any) -> None:
    from datetime import datetime, timedelta

    token = web_login(client, "admin")
    aid = reg["accounts"][0]  # the unit's WeChat account
    html = client.get(f"/accounts/{aid}").get_data(as_text=True)
    # 公众号类型 is a choice between 订阅号 and 服务号, not a code to type.
    select = re.search(r'<select name="cred_account_type">(.*?)</select>', html, re.S).group(1)  # type: ignore[union-attr]
    assert 'value="subscription"' in select and "订阅号" in select and 'value="service"' in select
    assert "subscription 订阅号" not in html
    before = datetime.utcnow()
    client.post(f"/accounts/{aid}/credentials", data={"csrf_token": token, "cred_account_type": "service"})
    html = client.get(f"/accounts/{aid}").get_data(as_text=True)
    row = re.search(r'<tr data-field="account_type">(.*?)</tr>', html, re.S).group(1)  # type: ignore[union-attr]
    assert "cred-set" in row
    beijing = [(before + timedelta(hours=8, minutes=m)).strftime("%Y-%m-%d %H:%M") for m in (0, 1)]
    assert any(t in row for t in beijing), row
