"""The golden path in a real browser: an editor writes, three reviewers approve, the
dispatch turns 已发布 and the simulator holds exactly one publication."""

from __future__ import annotations

import re

from browser_helpers import login, logout
from support import wait_for


def test_golden_path_in_browser(world, live_server, page, worker_process):
    base = live_server
    login(page, base, "editor")
    page.click("text=写稿")
    page.fill("input[name=title]", "关于做好2026年冬季森林草原防火工作的通知")
    page.wait_for_selector("#editor[data-ready='1']")
    page.click("#editor .ql-editor")
    page.keyboard.type("各苏木镇人民政府，旗直各部门：请切实做好冬季防火工作。")
    # Only the main account.
    boxes = page.locator("input[name=account_ids]")
    for i in range(boxes.count()):
        boxes.nth(i).set_checked(i == 0)
    page.click("#save-post")
    page.wait_for_url(re.compile(r"/posts/\d+$"))
    assert page.locator(".flash-success").is_visible()
    post_url = page.url
    page.click("#submit-review")
    page.wait_for_selector("[data-status=in_review]")
    logout(page)

    for reviewer in ("r1", "r2", "r3"):
        login(page, base, reviewer)
        assert page.locator("[data-testid=review-badge] .badge").inner_text() == "1"
        page.goto(post_url)
        for box in page.locator("#review-box input[type=checkbox]").all():
            box.check()
        page.click("#approve-btn")
        page.wait_for_selector(".flash-success")
        logout(page)

    login(page, base, "editor")
    page.goto(post_url)
    page.wait_for_selector("#dispatches [data-status=published]", timeout=30000)
    assert "已发布" in page.locator("#dispatches").inner_text()
    published = wait_for(lambda: world["sim"].state()["published"])
    assert len(published) == 1
    assert published[0]["title"] == "关于做好2026年冬季森林草原防火工作的通知"


def test_login_failure_shows_chinese_error(world, live_server, page):
    page.goto(live_server + "/login")
    page.fill("input[name=username]", "editor")
    page.fill("input[name=password]", "wrong-password")
    page.click("button[type=submit]")
    assert "用户名或密码错误" in page.locator(".flash-error").inner_text()


def test_language_switch_to_english(world, live_server, page):
    login(page, live_server, "editor")
    page.click("text=English")
    page.wait_for_selector("text=Dashboard")
    assert page.locator("html").get_attribute("lang") == "en"
