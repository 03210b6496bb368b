"""The daily inspection (巡检, issue 6): current lexicons over published content, outbound links
checked on loopback servers only, new findings, alerts for unit admins, one run per day kept."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from checks_helpers import csrf_token, draft, login, publish  # type: ignore[import-not-found]
from sqlalchemy import select, update
from support import run_burst_worker, serving  # type: ignore[import-not-found]

from hub.db import db
from hub.models import AuditEntry, Dispatch, InspectionRun


class _Handler(BaseHTTPRequestHandler):
    seen: list[tuple[str, str]] = []

    def _answer(self) -> None:
        type(self).seen.append((self.command, self.path))
        path = self.path
        if path == "/ok":
            self.send_response(200)
        elif path == "/gone":
            self.send_response(404)
        elif path == "/moved":
            self.send_response(302)
            self.send_header("Location", "http://hijacked.example.invalid/casino")
        elif path == "/moved-ok":
            self.send_response(301)
            self.send_header("Location", "/ok")
        elif path == "/nohead":
            self.send_response(405 if self.command == "HEAD" else 200)
        elif path == "/slow":
            time.sleep(1.5)
            self.send_response(200)
        else:
            self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_HEAD = _answer
    do_GET = _answer

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def links_server():
    _Handler.seen = []
    with serving(lambda host, port: ThreadingHTTPServer((host, port), _Handler)) as url:
        yield url


def test_check_link_outcomes(links_server):
    from hub.checks.jobs import check_link

    allowed = ("127.0.0.1",)
    assert check_link(links_server + "/ok", allowed, 2) is None
    assert check_link(links_server + "/moved-ok", allowed, 2) is None
    assert check_link(links_server + "/nohead", allowed, 2) is None  # HEAD refused, GET answers
    assert check_link(links_server + "/gone", allowed, 2)[:2] == ("link.broken", "warn")
    rule, severity, message = check_link(links_server + "/moved", allowed, 2)
    assert (rule, severity) == ("link.redirect_external", "block") and "hijacked.example.invalid" in message
    assert check_link(links_server + "/slow", allowed, 0.3)[0] == "link.unreachable"
    assert check_link("http://127.0.0.1:9/closed", allowed, 1)[0] == "link.unreachable"
    assert ("GET", "/nohead") in _Handler.seen


def test_outbound_links_in_attributes_and_text():
    from hub.checks.jobs import outbound_links

    html = '<p>见 <a href="https://www.gov.cn/a">此处</a>，或访问 http://www.nmg.gov.cn/b 。</p><img src="/local.png">'
    got = outbound_links(html)
    assert [u for u, _s, _e in got] == ["https://www.gov.cn/a", "http://www.nmg.gov.cn/b"]
    assert all(html[s:e] == u for u, s, e in got)


def test_inspection_finds_new_problems_alerts_admins_and_keeps_each_run(world, app, client, links_server):
    app.config["HUB_ALLOWED_DOMAINS"] = "127.0.0.1"
    app.config["HUB_LINK_TIMEOUT"] = "2"
    api = world["api"]
    content = (f'<p>巴彦淖儿市召开森林防火会议。</p><p><a href="{links_server}/ok">通知原文</a>'
               f'<a href="{links_server}/gone">附件</a><a href="{links_server}/moved">报名</a>'
               f'<a href="{links_server}/nohead">说明</a></p>')
    post = publish(world, app, content)
    # Clean at publication time: only the WeChat rendering's note that WeChat drops external link targets.
    stripped = [f for f in post["findings"] if f["rule"] == "platform.wechat.stripped"]
    assert [f["severity"] for f in stripped] == ["warn"] and "外部链接" in stripped[0]["message"]
    assert [f for f in post["findings"] if f not in stripped] == []
    old = publish(world, app, f'<p>巴彦淖儿旧闻。<a href="{links_server}/gone">x</a></p>', title="一个月前的旧闻")
    with db.transaction() as s:
        s.execute(update(Dispatch).where(Dispatch.post_id == old["id"])
                  .values(published_at=datetime.now(UTC).replace(tzinfo=None) - timedelta(days=40)))
    draft(world, content=f'<p><a href="{links_server}/draft-only">草稿链接</a></p>', title="草稿")
    # The lexicon changes after publication.
    assert api["admin"].post("/lexicon/entries", json={"unit": "cbeh", "category": "typo", "wrong": "巴彦淖儿",
                                                       "right": "巴彦淖尔"}).status_code == 201
    assert api["editor"].post("/scans").status_code == 403
    r = api["admin"].post("/scans")
    assert r.status_code == 202, r.get_json()
    run_id = r.get_json()["id"]
    assert r.get_json()["status"] == "queued"
    run_burst_worker(app)
    run = api["admin"].get(f"/scans/{run_id}").get_json()
    assert run["status"] == "done", run
    assert run["posts_checked"] == 1 and run["lexicon_version"].endswith("+1")
    got = {(f["rule"], f["url"] or f["text"]): f for f in run["findings"]}
    assert set(got) == {("typo.巴彦淖儿", "巴彦淖儿"), ("link.broken", f"{links_server}/gone"),
                        ("link.redirect_external", f"{links_server}/moved")}
    assert all(f["is_new"] and f["post_id"] == post["id"] for f in run["findings"])
    stored = post["revision"]["content"]  # offsets index the published revision's HTML
    broken = got[("link.broken", f"{links_server}/gone")]
    assert stored[broken["start"]:broken["end"]] == f"{links_server}/gone"
    paths = {p for _m, p in _Handler.seen}
    assert "/draft-only" not in paths  # only published content is fetched
    assert not any("casino" in p for p in paths)  # a redirect off the allow-list is never followed

    alerts = api["admin"].get("/inspection-alerts").get_json()["alerts"]
    assert len(alerts) == 1 and alerts[0]["post_id"] == post["id"] and alerts[0]["findings"] == 3
    assert alerts[0]["unit"] == "cbeh"
    assert api["r1"].get("/inspection-alerts").get_json()["alerts"] == []  # admins only
    login(client, "admin")
    page = client.get("/").get_data(as_text=True)
    assert 'id="inspection-alerts"' in page and "3 个新问题" in page

    # The next day's run keeps its own findings; nothing is new, so nobody is alerted again.
    r = api["admin"].post("/scans")
    run_burst_worker(app)
    second = api["admin"].get(f"/scans/{r.get_json()['id']}").get_json()
    assert second["status"] == "done" and len(second["findings"]) == 3 and second["new_findings"] == 0
    assert not any(f["is_new"] for f in second["findings"])
    assert [x["id"] for x in api["admin"].get("/scans").get_json()["runs"]] == [second["id"], run_id]
    assert len(api["admin"].get("/inspection-alerts").get_json()["alerts"]) == 1
    assert api["admin"].get(f"/scans/{run_id}?new=1").get_json()["findings"]

    # Acknowledged alerts leave the dashboard; the ack is audited.
    aid = alerts[0]["id"]
    assert api["r1"].post(f"/inspection-alerts/{aid}/ack").status_code == 404
    assert api["admin"].post(f"/inspection-alerts/{aid}/ack").status_code == 200
    assert api["admin"].post(f"/inspection-alerts/{aid}/ack").status_code == 409
    assert api["admin"].get("/inspection-alerts").get_json()["alerts"] == []
    actions = [e.action for e in db.session().scalars(select(AuditEntry))]
    assert actions.count("check.rescan") == 2 and "post.rescan_alert" in actions and "check.alert_ack" in actions

    page = client.get("/inspections").get_data(as_text=True)
    assert "巡检记录" in page and 'id="start-inspection"' in page
    page = client.get(f"/inspections/{run_id}?new=1").get_data(as_text=True)
    assert "巴彦淖儿" in page and "link.redirect_external" in page
    login(client, "editor")
    assert client.get("/inspections").status_code == 404


def test_daily_trigger_creates_one_run_per_day(world, app):
    from hub.checks.jobs import schedule_daily

    app.config["HUB_RESCAN_AT"] = "06:30"
    early = datetime(2025, 3, 10, 6, 29, tzinfo=UTC) - timedelta(hours=8)  # 06:29 in Shanghai
    assert schedule_daily(app, now=early) is None
    late = early + timedelta(minutes=2)
    run_id = schedule_daily(app, now=late)
    assert run_id is not None
    assert schedule_daily(app, now=late + timedelta(hours=3)) is None  # once a day
    run_burst_worker(app)
    s = db.session()
    (run,) = s.scalars(select(InspectionRun)).all()
    assert (run.run_key, run.trigger, run.status) == ("daily-2025-03-10", "daily", "done")
    assert schedule_daily(app, now=late + timedelta(days=1)) not in (None, run_id)
    db.session.remove()


def test_inspection_started_and_alert_acknowledged_from_the_pages(world, app, client):
    api = world["api"]
    post = publish(world, app, "<p>巴彦淖儿市召开森林防火会议。</p>")
    assert api["admin"].post("/lexicon/entries", json={"unit": "cbeh", "category": "typo", "wrong": "巴彦淖儿",
                                                       "right": "巴彦淖尔"}).status_code == 201
    login(client, "admin")
    token = csrf_token(client.get("/inspections").get_data(as_text=True))
    r = client.post("/inspections/run", data={"csrf_token": token})
    assert r.status_code == 302 and r.location.endswith("/inspections")
    assert "巡检已开始，完成后结果显示在此页" in client.get("/inspections").get_data(as_text=True)
    (run,) = db.session().scalars(select(InspectionRun)).all()
    assert run.trigger == "manual" and run.status == "queued"
    db.session.remove()
    run_burst_worker(app)  # the start enqueued the inspection: a real worker runs it
    assert db.session().get(InspectionRun, run.id).status == "done"
    db.session.remove()
    (alert,) = api["admin"].get("/inspection-alerts").get_json()["alerts"]
    assert alert["post_id"] == post["id"]

    page = client.get("/inspections").get_data(as_text=True)
    form = {"csrf_token": csrf_token(page), "next": "inspections"}
    r = client.post(f"/inspections/alerts/{alert['id']}/ack", data=form)
    assert r.status_code == 302 and r.location.endswith("/inspections")
    assert "告警已标记为已处理" in client.get("/inspections").get_data(as_text=True)
    assert api["admin"].get("/inspection-alerts").get_json()["alerts"] == []
    # A second click (another tab) says so instead of failing.
    r = client.post(f"/inspections/alerts/{alert['id']}/ack", data={**form, "next": "dashboard"})
    assert r.status_code == 302 and r.location.endswith("/")
    assert "该告警已处理" in client.get("/").get_data(as_text=True)


@pytest.fixture
def inspect_now(monkeypatch):
    """Make the daily time 00:00 and the sweeper fast, for a worker process started after this."""
    monkeypatch.setenv("HUB_RESCAN_AT", "00:00")
    monkeypatch.setenv("HUB_SWEEP_SECONDS", "1")


def test_worker_sweeper_runs_the_daily_inspection(world, app, inspect_now, worker_process):
    from support import wait_for  # type: ignore[import-not-found]

    def done():
        s = db.session()
        try:
            return s.scalars(select(InspectionRun).where(InspectionRun.trigger == "daily",
                                                         InspectionRun.status == "done")).all()
        finally:
            db.session.remove()

    (run,) = wait_for(done, timeout=60)
    assert run.run_key.startswith("daily-")
