"""The 监测台 page (issue 15), server side: the supervisor's home, filters, sorting, XLSX export; an
editor never sees it nor its menu item."""

from __future__ import annotations

import io
import re

from oversight_helpers import login, publish


def test_supervisor_home_is_the_monitor_and_exports(app, world, client):
    publish(app, world["api"], [world["accounts"][0]], is_original=True)
    login(client, "supervisor")
    r = client.get("/")
    assert r.status_code == 200 and 'id="monitor-table"' in r.get_data(as_text=True)  # the home page
    html = client.get("/monitor").get_data(as_text=True)
    assert "监测台" in html and "陈巴尔虎旗发布" in html and "陈巴尔虎旗政务" in html and "<svg" in html
    assert "100%" in html  # the one publication was an original
    html = client.get("/monitor?platform=weibo").get_data(as_text=True)
    assert "陈巴尔虎旗发布" not in html
    html = client.get("/monitor?sort=posts_30d&dir=asc").get_data(as_text=True)
    assert html.index("陈巴尔虎旗政务") < html.index("陈巴尔虎旗发布")
    html = client.get("/monitor?sort=posts_30d&dir=desc").get_data(as_text=True)
    assert html.index("陈巴尔虎旗发布") < html.index("陈巴尔虎旗政务")
    r = client.get("/monitor.xlsx")
    assert r.status_code == 200
    from openpyxl import load_workbook

    rows = list(load_workbook(io.BytesIO(r.data)).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("单位", "账号", "平台") and {x[1] for x in rows[1:]} == {"陈巴尔虎旗发布", "陈巴尔虎旗政务"}


def test_an_editor_never_sees_the_monitor(app, world, client):
    login(client, "editor")
    html = client.get("/").get_data(as_text=True)
    assert "监测台" not in html and not re.search(r'href="/monitor"', html)
    assert client.get("/monitor").status_code == 404
    assert client.get("/monitor.xlsx").status_code == 404


def _cells(html, account_id):
    row = re.search(rf'<tr data-account="{account_id}">(.*?)</tr>', html, re.S).group(1)
    return {k: re.sub(r"<[^>]+>", "", v).strip()
            for k, v in re.findall(r'<td class="(filings|credentials)">(.*?)</td>', row, re.S)}


def test_the_monitor_shows_filings_in_review_due_credentials_and_open_rectifications(app, world, client):
    from datetime import timedelta

    from openpyxl import load_workbook

    from hub.db import db
    from hub.models import Credential, utcnow

    api, (a1, a2) = world["api"], world["accounts"]
    login(client, "supervisor")
    html = client.get("/monitor").get_data(as_text=True)
    assert _cells(html, a1) == {"filings": "", "credentials": ""}
    # a change filing awaits the supervisor; a credential is past its maximum age; a 通报 opens a rectification
    r = api["admin"].patch(f"/accounts/{a1}", json={"responsible_person": "张三"})
    assert r.status_code == 200, r.get_json()
    with db.transaction() as s:  # the age of a credential has no other way in (as in tests/accounts)
        s.query(Credential).filter_by(account_id=a2, field="app_secret").one().changed_at = \
            utcnow() - timedelta(days=120)
    assert api["supervisor"].post("/notices", json={"unit": "cbeh", "account_id": a2, "text": "抽查通报：更新不及时",
                                                    "received_on": "2025-09-26"}).status_code == 201
    html = client.get("/monitor").get_data(as_text=True)
    assert "备案待审" in html and "凭据待轮换" in html
    assert _cells(html, a1) == {"filings": "1", "credentials": ""}
    assert _cells(html, a2) == {"filings": "", "credentials": "1"}
    html = client.get("/monitor?sort=credentials&dir=desc").get_data(as_text=True)
    assert html.index(f'data-account="{a2}"') < html.index(f'data-account="{a1}"')
    rows = list(load_workbook(io.BytesIO(client.get("/monitor.xlsx").data)).active.iter_rows(values_only=True))
    head = rows[0]
    by_name = {x[1]: dict(zip(head, x, strict=True)) for x in rows[1:]}
    assert by_name["陈巴尔虎旗发布"]["备案待审"] == 1 and by_name["陈巴尔虎旗发布"]["凭据待轮换"] == 0
    assert by_name["陈巴尔虎旗政务"]["凭据待轮换"] == 1 and by_name["陈巴尔虎旗政务"]["整改中"] == 1
    assert by_name["陈巴尔虎旗政务"]["整改逾期"] == 1 and by_name["陈巴尔虎旗发布"]["整改中"] == 0
