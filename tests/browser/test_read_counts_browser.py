"""Read counts in a real browser: the post page shows each account's 阅读 / 转发 / 评论 / 点赞 with their
date, on a phone (390×844) as on a desktop, within the screen's width."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import requests
from browser_helpers import login
from support import run_burst_worker

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dispatch"))
from dispatch_helpers import approve_post  # noqa: E402


def test_the_post_page_shows_the_figures_on_a_phone(app, world, live_server, page):
    from hub.metrics import jobs

    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    pid = approve_post(world["api"], [world["accounts"][0]])
    run_burst_worker(app)
    wx = world["sim"].base
    requests.post(wx + "/_sim/clock", json={"advance": 86400}, timeout=5).raise_for_status()
    state = requests.get(wx + "/_sim/state", timeout=5).json()
    msgid = f"{state['published'][0]['msg_data_id']}_1"
    requests.post(wx + "/_sim/metrics", json={"appid": "wx_main", "msgid": msgid, "read_user": 3456,
                                              "share_user": 78, "comment_count": 9, "like_user": 120},
                  timeout=5).raise_for_status()
    today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date()
    result = jobs.run(app, today)
    assert not result.failed and result.publications == 1

    login(page, live_server, "editor")
    for width, height in ((390, 844), (1366, 900)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"{live_server}/posts/{pid}")
        box = page.locator("#read-figures")
        box.scroll_into_view_if_needed()
        assert box.is_visible()
        block = box.locator(".figures", has_text="陈巴尔虎旗发布")
        labels = block.locator("dt").all_inner_texts()
        values = block.locator("dd").all_inner_texts()
        assert labels == ["阅读", "转发", "评论", "点赞"] and values == ["3456", "78", "9", "120"]
        assert f"数据截至 {today.isoformat()}" in block.inner_text()
        # Nothing pushes the page wider than the screen; the four figures stay inside the card.
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        card = box.bounding_box()
        for i in range(4):
            cell = block.locator(".figures-grid > div").nth(i).bounding_box()
            assert cell["x"] >= card["x"] and cell["x"] + cell["width"] <= card["x"] + card["width"] + 1
        if width == 390:  # two by two on a phone
            first, third = (block.locator(".figures-grid > div").nth(i).bounding_box() for i in (0, 2))
            assert third["y"] > first["y"]
    assert not errors
