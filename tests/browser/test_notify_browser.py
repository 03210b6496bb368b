"""The bell in a real browser (issue 18): a reviewer sees how many things wait for them at desktop and
phone width, opens the list, follows the notification straight to the review page, and the count drops;
the settings page saves a person's channels."""

from __future__ import annotations

from browser_helpers import login


def test_reviewer_bell_counts_opens_the_review_page_and_clears(world, live_server, page):
    base = live_server
    api = world["api"]
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    ids = []
    for title in ("关于开展冬季安全生产检查的通知", "关于做好春节期间值班工作的通知"):
        r = api["editor"].post("/posts", json={"title": title, "content": "<p>请各单位认真落实。</p>",
                                               "account_ids": world["accounts"][:1]})
        ids.append(r.get_json()["id"])
        assert api["editor"].post(f"/posts/{ids[-1]}/submit").status_code == 200
    login(page, base, "r1")
    for width, height in ((1366, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(base + "/")
        bell = page.locator("[data-testid=bell]")
        assert bell.is_visible()
        assert page.locator("[data-testid=bell-count]").inner_text() == "2"
        box = bell.bounding_box()
        assert box is not None and box["x"] + box["width"] <= width + 1
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1, width
    page.set_viewport_size({"width": 390, "height": 844})
    page.click("[data-testid=bell]")
    page.wait_for_url(lambda url: url.endswith("/notifications"))
    items = page.locator("[data-testid=notify-item]")
    assert items.count() == 2
    assert "待您审核（初审）" in items.first.inner_text() and "关于做好春节期间值班工作的通知" in items.first.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 391
    items.first.locator("button").click()
    page.wait_for_url(lambda url: url.endswith(f"/review/{ids[1]}"))
    assert page.locator("[data-testid=bell-count]").inner_text() == "1"
    # The editor's bell is empty.
    ctx = page.context.browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai",
                                           viewport={"width": 1366, "height": 900})
    other = ctx.new_page()
    login(other, base, "editor")
    assert other.locator("[data-testid=bell-count]").inner_text() == "0"
    other.goto(base + "/settings/notifications")
    other.fill("input[name=email]", "editor@cbeh.gov.cn")
    other.check("input[name=digest]")
    other.click("form.card button[type=submit]")
    assert "通知设置已保存" in other.locator(".flash").inner_text()
    assert other.locator("input[name=email]").input_value() == "editor@cbeh.gov.cn"
    assert other.locator("input[name=digest]").is_checked()
    ctx.close()
    assert not errors


def test_admin_adds_a_channel_in_the_web_ui_and_never_sees_its_key_again(world, live_server, page):
    base = live_server
    login(page, base, "admin")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(base + "/settings/notifications")
    page.click("[data-testid=unit-channels-link]")
    page.select_option("select[name=kind]", "dingtalk")
    page.fill("input[name=url]", "https://oapi.dingtalk.com/robot/send?access_token=page-canary-token")
    page.fill("input[name=secret]", "SEC-page-canary")
    page.click("section.card:last-of-type button[type=submit]")
    assert "通知渠道已添加" in page.locator(".flash").inner_text()
    card = page.locator("[data-testid=channel]")
    assert card.count() == 1 and "钉钉群机器人" in card.inner_text() and "已设置" in card.inner_text()
    html = page.content()
    assert "page-canary-token" not in html and "SEC-page-canary" not in html
    assert page.evaluate("document.documentElement.scrollWidth") <= 391
