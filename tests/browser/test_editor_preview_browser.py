"""The editor's per-platform preview in a real browser (issue 5): typing a too-long title
shows the WeChat limit warning live; unticking every account empties the panel."""

from __future__ import annotations

from browser_helpers import login


def test_long_title_shows_wechat_limit_warning(world, live_server, page):
    base = live_server
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, base, "editor")
    page.goto(base + "/posts/new")
    page.wait_for_selector("#editor[data-ready='1']")
    panel = page.locator("#platform-preview")
    page.click("#editor .ql-editor")
    page.keyboard.type("正文第一段。")
    page.fill("input[name=title]", "长" * 70)
    # Instant counter, then the adapter's own problem from the server.
    page.wait_for_selector("#platform-preview .pv-platform[data-platform='wechat'] .pv-count.over")
    page.wait_for_selector("#platform-preview .pv-problem:has-text('微信标题不得超过 64 字（现为 70 字）')")
    assert "70/64" in panel.locator(".pv-count.over").first.inner_text()
    assert panel.locator(".pv-wechat .pv-title").inner_text() == "长" * 70
    assert "正文第一段" in panel.locator(".pv-wechat .pv-body").inner_text()
    # Shortening the title clears the warning.
    page.fill("input[name=title]", "长" * 20)
    page.wait_for_selector("#platform-preview .pv-ok")
    assert panel.locator(".pv-problem").count() == 0
    # Unticking every account empties the panel.
    boxes = page.locator("input[name=account_ids]")
    for i in range(boxes.count()):
        boxes.nth(i).set_checked(False)
    page.wait_for_function("() => !document.querySelector('#platform-preview .pv-platform')")
    assert errors == []
