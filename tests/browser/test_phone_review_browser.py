"""Playwright at 390×844: a leader approves on the phone. A signed-out reviewer following a link to
the review page is sent to sign in and comes back to it; the page shows the rendering first, the five
confirmations, and 通过 / 退回 stay at the bottom of the screen (one thumb) without horizontal scroll."""

from __future__ import annotations

import re

from browser_helpers import PASSWORD

PHONE = {"width": 390, "height": 844}
CONFIRMATIONS = ("political", "legal", "policy", "secrecy", "wording")


def _submitted_post(world) -> int:
    api = world["api"]
    post = api["editor"].post("/posts", json={
        "title": "关于做好冬季安全生产工作的通知", "content": "<p>各单位要高度重视冬季安全生产，落实责任。</p>",
        "account_ids": world["accounts"][:1]}).get_json()
    assert api["editor"].post(f"/posts/{post['id']}/submit").status_code == 200
    return post["id"]


def _no_horizontal_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "horizontal scroll"


def _in_thumb_reach(page, selector: str) -> None:
    """Visible without scrolling, in the bottom part of the screen, and nothing drawn over it."""
    box = page.locator(selector).bounding_box()
    assert box is not None
    assert box["y"] >= PHONE["height"] * 0.8 and box["y"] + box["height"] <= PHONE["height"], box
    assert box["height"] >= 40, box
    hit = page.evaluate("([x, y]) => document.elementFromPoint(x, y).id",
                        [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2])
    assert hit == selector.lstrip("#")


def test_a_reviewer_approves_on_the_phone_from_a_link(world, live_server, browser):
    pid = _submitted_post(world)
    context = browser.new_context(viewport=PHONE, locale="zh-CN", timezone_id="Asia/Shanghai",
                                  is_mobile=True, has_touch=True)
    context.set_default_timeout(15000)
    page = context.new_page()
    try:
        # The link (as a notification carries it), followed while signed out.
        page.goto(f"{live_server}/review/{pid}")
        assert "/login" in page.url
        page.fill("input[name=username]", "r1")
        page.fill("input[name=password]", PASSWORD)
        page.click("form button[type=submit]")
        page.wait_for_url(re.compile(rf"/review/{pid}$"))

        # The rendering as the platform will show it comes first, above the confirmations.
        frame = page.frame_locator("iframe.rendering-frame").first
        assert "冬季安全生产" in frame.locator("body").inner_text()
        previews_y = page.locator("#previews").bounding_box()["y"]
        assert previews_y < page.locator("#review-box").bounding_box()["y"]
        assert previews_y < PHONE["height"]
        _no_horizontal_scroll(page)
        for sel in ("#approve-btn", "#reject-btn"):
            _in_thumb_reach(page, sel)
        assert page.locator("#review-box .confirmations input[type=checkbox]").count() == 5
        labels = page.locator("#review-box .confirmations").inner_text()
        for word in ("政治关", "法律关", "政策关", "保密关", "文字关"):
            assert word in labels

        # Tapping 通过 before the confirmations sends nothing: the browser points at the first one.
        page.tap("#approve-btn")
        assert re.search(rf"/review/{pid}$", page.url)
        assert page.evaluate("document.activeElement.id") == "check-political"

        for key in CONFIRMATIONS:
            page.tap(f"#check-{key}")
        _in_thumb_reach(page, "#approve-btn")  # still there after scrolling to the confirmations
        _no_horizontal_scroll(page)
        page.tap("#approve-btn")
        page.wait_for_selector(".flash-success")
        assert "审核通过" in page.locator(".flash-success").inner_text()
        _no_horizontal_scroll(page)
    finally:
        context.close()

    post = world["api"]["r1"].get(f"/posts/{pid}").get_json()
    assert post["status"] == "in_review" and post["step"]["index"] == 1, post["step"]


def test_returning_on_the_phone_asks_for_the_reason_first(world, live_server, browser):
    pid = _submitted_post(world)
    context = browser.new_context(viewport=PHONE, locale="zh-CN", timezone_id="Asia/Shanghai",
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        page.goto(f"{live_server}/review/{pid}")
        page.fill("input[name=username]", "r1")
        page.fill("input[name=password]", PASSWORD)
        page.click("form button[type=submit]")
        page.wait_for_url(re.compile(rf"/review/{pid}$"))
        page.tap("#reject-btn")
        assert page.evaluate("document.activeElement.id") == "reject-reason"
        page.fill("#reject-reason", "数据需核实")
        page.tap("#reject-btn")
        page.wait_for_selector(".flash-success")
    finally:
        context.close()
    assert world["api"]["editor"].get(f"/posts/{pid}").get_json()["status"] == "rejected"
