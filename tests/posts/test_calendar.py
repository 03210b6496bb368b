"""The publishing calendar (/calendar): month and week show the scheduled posts at their Beijing day and
time and the published ones on the day they were published; filters by unit and account; moving a post
posts the schedule form (JSON), which re-runs the schedule rules and is audited as post.reschedule."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from calendar_helpers import SHANGHAI, beijing_days_ahead, csrf_of, scheduled_post, web_login
from support import run_burst_worker

from hub.db import db
from hub.models import Post


def _day_html(html: str, day: str) -> str:
    m = re.search(rf'data-day="{day}".*?</section>', html, re.S)
    assert m, f"no cell for {day}"
    return m.group(0)


def test_month_and_week_show_scheduled_and_published_posts(world, app):
    at = beijing_days_ahead(2, 9, 15)
    later = beijing_days_ahead(70)  # another month
    sched = scheduled_post(world, "春季防火工作安排", at)
    far = scheduled_post(world, "远期会议通知", later)
    pending = scheduled_post(world, "待审的定时稿件", beijing_days_ahead(3), approve=False)
    now_post = scheduled_post(world, "已经发布的消息", None)  # approved without a time: published now
    run_burst_worker(app, timeout=30)
    with db.session() as s:
        assert s.get(Post, now_post).status == "published"

    client = app.test_client()
    web_login(client, "editor")
    month = at.strftime("%Y-%m-%d")
    html = client.get(f"/calendar?view=month&date={month}").get_data(as_text=True)
    assert "发布日历" in html and f"{at.year}年{at.month}月" in html
    cell = _day_html(html, at.date().isoformat())
    assert "春季防火工作安排" in cell and "09:15" in cell and "陈巴尔虎旗发布" in cell
    assert f'href="/posts/{sched}"' in cell and 'draggable="true"' in cell and "改期" in cell
    assert "远期会议通知" not in html  # outside the month shown
    today = datetime.now(SHANGHAI).date()
    if today.month == at.month:
        published = _day_html(html, today.isoformat())
        assert "已经发布的消息" in published and "已发布" in published and 'draggable' not in published
    assert "待审的定时稿件" in html or beijing_days_ahead(3).month != at.month

    week = client.get(f"/calendar?view=week&date={month}").get_data(as_text=True)
    assert "春季防火工作安排" in _day_html(week, at.date().isoformat())
    assert "远期会议通知" not in week
    assert week.count('class="cal-day') == 7
    assert "远期会议通知" in client.get(f"/calendar?date={later.date().isoformat()}").get_data(as_text=True)

    # Filters: the other account shows none of these; another unit's editor sees nothing of cbeh.
    other = client.get(f"/calendar?view=month&date={month}&account={world['accounts'][1]}").get_data(as_text=True)
    assert "春季防火工作安排" not in other
    outsider = app.test_client()
    web_login(outsider, "outsider")
    assert "春季防火工作安排" not in outsider.get(f"/calendar?date={month}").get_data(as_text=True)
    # A reviewer sees it but may not move it; the supervisor above sees it with the unit filter.
    rev = app.test_client()
    web_login(rev, "r1")
    cell = _day_html(rev.get(f"/calendar?date={month}").get_data(as_text=True), at.date().isoformat())
    assert "春季防火工作安排" in cell and "draggable" not in cell
    sup = app.test_client()
    web_login(sup, "supervisor")
    assert "春季防火工作安排" in sup.get(f"/calendar?date={month}&unit=cbeh").get_data(as_text=True)
    assert far and pending


def test_moving_reschedules_through_the_rules_and_is_audited(world, app):
    at = beijing_days_ahead(2, 9, 15)
    pid = scheduled_post(world, "春季防火工作安排", at)
    client = app.test_client()
    web_login(client, "editor")
    token = csrf_of(client.get("/calendar").get_data(as_text=True))
    target = beijing_days_ahead(5, 9, 15)
    r = client.post(f"/posts/{pid}/schedule", data={"csrf_token": token, "publish_at": target.strftime("%Y-%m-%dT%H:%M")},
                    headers={"Accept": "application/json"})
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.get_json()["publish_at_local"] == target.strftime("%Y-%m-%d %H:%M")
    with db.session() as s:
        post = s.get(Post, pid)
        assert post.publish_at.replace(tzinfo=UTC) == target.astimezone(UTC)
    entries = world["api"]["editor"].get(f"/posts/{pid}/history").get_json()["entries"]
    moves = [e for e in entries if e["action"] == "post.reschedule"]
    assert moves and any(target.strftime("%Y-%m-%d %H:%M") in e["summary"] for e in moves), moves
    html = client.get(f"/calendar?view=week&date={target.date().isoformat()}").get_data(as_text=True)
    assert "春季防火工作安排" in _day_html(html, target.date().isoformat())

    # The rules refuse a time in the past, in Chinese, as JSON for the calendar's script.
    r = client.post(f"/posts/{pid}/schedule", data={"csrf_token": token, "publish_at": "2020-01-02T08:00"},
                    headers={"Accept": "application/json"})
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "publish_at_past"
    assert "已过" in r.get_json()["error"]["message"]
    # A reviewer may not move it.
    rev = app.test_client()
    web_login(rev, "r1")
    token = csrf_of(rev.get("/calendar").get_data(as_text=True))
    r = rev.post(f"/posts/{pid}/schedule", data={"csrf_token": token, "publish_at": target.strftime("%Y-%m-%dT%H:%M")},
                 headers={"Accept": "application/json"})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "not_editor"


def test_bad_parameters_fall_back_to_this_month(world, app):
    client = app.test_client()
    web_login(client, "editor")
    for q in ("?date=junk", "?view=year", "?unit=nosuch", "?account=abc", "?date=1999-01-01", "?account=99999999999"):
        r = client.get("/calendar" + q)
        assert r.status_code == 200, q
        assert "发布日历" in r.get_data(as_text=True)


def test_calendar_api(world, app):
    at = beijing_days_ahead(2, 9, 15)
    pid = scheduled_post(world, "春季防火工作安排", at)
    api = world["api"]
    day = at.date().isoformat()
    r = api["editor"].get(f"/calendar?from={day}&to={day}")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["first_day"] == day and body["last_day"] == day
    [item] = [i for i in body["items"] if i["post_id"] == pid]
    assert item["kind"] == "scheduled" and item["day"] == day and item["movable"] is True
    assert item["accounts"] == ["陈巴尔虎旗发布"] and item["title"] == "春季防火工作安排"
    assert api["r1"].get(f"/calendar?from={day}&to={day}").get_json()["items"][0]["movable"] is False
    assert api["outsider"].get(f"/calendar?from={day}&to={day}").get_json()["items"] == []
    assert [i["post_id"] for i in api["supervisor"].get(f"/calendar?from={day}&unit=cbeh").get_json()["items"]] \
        == [pid]
    assert api["editor"].get(f"/calendar?from={day}&account={world['accounts'][1]}").get_json()["items"] == []
    for q, code in (("from=junk", "invalid_date"), ("from=2026-02-01&to=2026-01-01", "invalid_range"),
                    ("from=2026-01-01&to=2026-06-01", "range_too_long"), ("unit=nosuch", "unknown_unit"),
                    ("account=x", "invalid_account"), ("account=999999", "unknown_account")):
        r = api["editor"].get(f"/calendar?{q}")
        assert r.status_code == 400 and r.get_json()["error"]["code"] == code, (q, r.get_json())
