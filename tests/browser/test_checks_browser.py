"""Content checks in a real browser (issue 6): the editor's 检查 button highlights findings
over Quill and replaces one with a click; the post page marks findings in the body."""

from __future__ import annotations

import re

from browser_helpers import login, logout


def test_editor_highlights_and_replaces_and_post_page_marks(world, live_server, page):
    base = live_server
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    login(page, base, "editor")
    page.goto(base + "/posts/new")
    page.fill("input[name=title]", "关于召开共合国成立纪念活动的通知")
    page.wait_for_selector("#editor[data-ready='1']")
    page.click("#editor .ql-editor")
    page.keyboard.type("😀市攻府召开会议，部署党史教育工作。")
    page.click("#run-checks")
    page.wait_for_selector("#checks-list li[data-rule='typo.攻府']")
    items = page.locator("#checks-list li")
    assert items.count() == 3
    # Highlights sit over the editor, one per finding in the body (the title's is listed only).
    assert page.locator(".ql-container .check-overlay .hl").count() >= 2
    assert page.locator(".check-overlay .hl.sev-block").count() >= 1
    # Jump selects the span in the editor.
    page.click("#checks-list li[data-rule='typo.攻府'] a.jump")
    assert page.evaluate("(() => { const q = Quill.find(document.getElementById('editor'));"
                         " const r = q.getSelection(); return q.getText(r.index, r.length); })()") == "攻府"
    # One click replaces it (offsets count code points; the emoji is two UTF-16 units).
    page.click("#checks-list li[data-rule='typo.攻府'] button.replace")
    page.wait_for_function("() => !document.querySelector(\"#checks-list li[data-rule='typo.攻府']\")")
    assert "市政府召开会议" in page.locator("#editor .ql-editor").inner_text()
    page.click("#checks-list li[data-rule='typo.共合国'] button.replace")
    page.wait_for_function("() => !document.querySelector(\"#checks-list li[data-rule='typo.共合国']\")")
    assert page.input_value("input[name=title]") == "关于召开共和国成立纪念活动的通知"
    # Typing makes the list stale until checked again.
    page.click("#editor .ql-editor")
    page.keyboard.press("End")
    page.keyboard.type("攻府")
    assert page.locator("#checks-list li.stale").count() >= 1
    assert page.locator(".check-overlay .hl").count() == 0
    boxes = page.locator("input[name=account_ids]")
    for i in range(boxes.count()):
        boxes.nth(i).set_checked(i == 0)
    page.click("#save-post")
    page.wait_for_url(re.compile(r"/posts/\d+$"))
    post_url = page.url
    logout(page)

    login(page, base, "r1")
    page.goto(post_url)
    body = page.frame_locator("iframe.content-frame")  # the body is framed (no inline styles in the page)
    mark = body.locator("mark.finding.sev-block")
    mark.wait_for()
    assert mark.count() == 1 and mark.inner_text() == "攻府"
    assert body.locator("mark.finding.sev-warn").inner_text() == "党史教育"
    page.fill("#findings-panel .override-form input[name=reason]", "引用原文件，保持原样")
    page.click("#findings-panel .override-form button[type=submit]")
    page.wait_for_selector(".flash-success")
    body.locator("mark.finding.overridden").wait_for()  # checks.js runs deferred
    assert body.locator("mark.finding.overridden").count() == 1
    page.click("#toggle-marks")
    assert body.locator("mark.finding").count() == 0
    assert [u for u in missing if not u.endswith("/favicon.ico")] == []
    assert [e for e in errors if "404" not in e] == [], errors
