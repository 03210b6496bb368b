"""Playwright: the publishing calendar. At 1366×900 an editor drags a scheduled post to another day and it
is rescheduled (same time of day) and audited; at 390×844 the 改期 button with a date-time input does the
same, and a refused time (in the past) is explained in Chinese."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from browser_helpers import login

from hub.db import db
from hub.models import Post

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "posts"))
from calendar_helpers import SHANGHAI, beijing_days_ahead, scheduled_post  # noqa: E402

PHONE = {"width": 390, "height": 844}


def _publish_at(pid: int) -> datetime:
    with db.session() as s:
        at = s.get(Post, pid).publish_at
    assert at is not None
    return at.replace(tzinfo=UTC).astimezone(SHANGHAI)


def _history(world, pid: int) -> list[dict]:
    return [e for e in world["api"]["editor"].get(f"/posts/{pid}/history").get_json()["entries"]
            if e["action"] == "post.reschedule"]


def test_drag_a_scheduled_post_to_another_day(world, live_server, browser):
    at = beijing_days_ahead(2, 9, 15)
    pid = scheduled_post(world, "春季防火工作安排", at)
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN",
                                  timezone_id="Asia/Shanghai")
    context.set_default_timeout(15000)
    page = context.new_page()
    try:
        login(page, live_server, "editor")
        page.click("[data-testid=calendar-menu]")
        page.goto(f"{live_server}/calendar?view=month&date={at.date().isoformat()}")
        item = page.locator(f"[data-testid=item-{pid}]")
        assert item.locator("[data-testid=item-time]").inner_text() == "09:15"
        # A day after, or (when that is outside the grid) a day before: both in the future.
        target = at + timedelta(days=1)
        if page.locator(f"[data-testid=day-{target.date().isoformat()}]").count() == 0:
            target = at - timedelta(days=1)
        cell = page.locator(f"[data-testid=day-{target.date().isoformat()}]")
        item.drag_to(cell)  # HTML5 drag and drop in Chromium
        message = page.locator("[data-testid=cal-message]")
        message.wait_for(state="visible")
        assert "发布时间已更新" in message.inner_text(), message.inner_text()
        assert target.strftime("%Y-%m-%d 09:15") in message.inner_text()
        assert cell.locator(f"[data-testid=item-{pid}]").count() == 1
        assert _publish_at(pid) == target
        assert any(target.strftime("%Y-%m-%d 09:15") in e["summary"] for e in _history(world, pid))
        # The page shown again has it on the new day.
        page.reload()
        assert page.locator(f"[data-testid=day-{target.date().isoformat()}] [data-testid=item-{pid}]").count() == 1
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    finally:
        context.close()


def test_reschedule_on_the_phone_with_the_button(world, live_server, browser):
    at = beijing_days_ahead(2, 9, 15)
    pid = scheduled_post(world, "春季防火工作安排", at)
    context = browser.new_context(viewport=PHONE, locale="zh-CN", timezone_id="Asia/Shanghai",
                                  is_mobile=True, has_touch=True)
    context.set_default_timeout(15000)
    page = context.new_page()
    try:
        login(page, live_server, "editor")
        page.goto(f"{live_server}/calendar?view=week&date={at.date().isoformat()}")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "horizontal scroll"
        item = page.locator(f"[data-testid=item-{pid}]")
        item.locator(f"[data-testid=move-{pid}]").click()
        box = item.locator("input[name=publish_at]")
        # A time in the past is refused by the schedule rules, with their reason.
        box.fill("2020-01-02T08:00")
        item.locator("button[type=submit]").click()
        message = page.locator("[data-testid=cal-message]")
        message.wait_for(state="visible")
        assert "未能改期" in message.inner_text() and "已过" in message.inner_text(), message.inner_text()
        assert _publish_at(pid) == at
        # A new day and time is taken.
        target = beijing_days_ahead(4, 16, 40)
        box.fill(target.strftime("%Y-%m-%dT%H:%M"))
        item.locator("button[type=submit]").click()
        page.locator("[data-testid=cal-message]", has_text="发布时间已更新").wait_for()
        assert target.strftime("%Y-%m-%d 16:40") in message.inner_text()
        assert _publish_at(pid) == target
        assert any(target.strftime("%Y-%m-%d 16:40") in e["summary"] for e in _history(world, pid))
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "horizontal scroll"
    finally:
        context.close()
