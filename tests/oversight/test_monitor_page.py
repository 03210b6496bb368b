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
