"""政民互动 in a real browser (issue 16), at desktop (1366×900) and phone (390×844) width: a member of
the public leaves a message through the unit's form, the editor finds it in the inbox from the menu
and drafts an answer, a reviewer approves it, the public page shows it masked; the 问答库 pages."""

from __future__ import annotations

import re

from browser_helpers import login, logout
from support import run_burst_worker

SIZES = ((1366, 900), (390, 844))


def _no_overflow(page, width):
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1, (width, page.url)


def _leave_message(page, base, text):
    page.goto(base + "/public/units/cbeh/messages/new")
    page.fill("textarea[name=content]", text)
    page.fill("input[name=phone]", "13512345678")
    question = page.locator("#message-form label", has_text="验证题").inner_text()
    a, b = map(int, re.search(r"(\d) 加 (\d)", question).groups())
    page.fill("input[name=challenge]", str(a + b))
    page.click("#message-form button[type=submit]")
    assert "留言已提交" in page.locator("h1").inner_text()


def test_a_message_from_the_form_is_answered_through_the_staff_pages(app, world, live_server, page):
    base = live_server
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        text = f"小区供暖温度不达标（{width}），联系电话 13512345678"
        _leave_message(page, base, text)
        _no_overflow(page, width)
        login(page, base, "editor")
        page.click("nav a[data-testid=interaction-menu]")
        assert page.locator("h1").inner_text() == "网民留言"
        row = page.locator("#inbox tbody tr", has_text=f"（{width}）")
        assert "网站留言" in row.inner_text() and "待处理" in row.inner_text()
        _no_overflow(page, width)
        row.locator("a").click()
        assert "13512345678" in page.locator("#message .question").inner_text()
        assert "已加密保存" in page.locator("#message").inner_text()
        page.fill("#answer-form textarea[name=text]", "已通知供热公司入户检测，三日内整改。")
        page.click("[data-testid=submit-answer]")
        assert "答复已送审" in page.locator("main").inner_text() or "答复已送审" in page.content()
        assert page.locator("[data-testid=approve-answer]").count() == 0
        _no_overflow(page, width)
        url = page.url
        logout(page)
        login(page, base, "r1")
        page.goto(url)
        page.click("[data-testid=approve-answer]")
        assert "审核通过" in page.locator("#answer").inner_text()
        run_burst_worker(app)
        page.reload()
        assert "已办结" in page.locator("h1").inner_text()
        _no_overflow(page, width)
        logout(page)
        page.goto(base + "/public/units/cbeh/messages")
        item = page.locator(".public-message", has_text=f"（{width}）")
        body = item.inner_text()
        assert "135****5678" in body and "13512345678" not in body
        assert "已通知供热公司入户检测，三日内整改。" in body and "陈巴尔虎旗" in body
        for label in ("留言时间", "答复时间", "答复单位", "答复内容"):
            assert label in body
        _no_overflow(page, width)
    assert not errors


def test_qa_library_pages(app, world, live_server, page):
    base = live_server
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        login(page, base, "editor")
        page.goto(base + "/interaction/qa")
        assert page.locator("h1").inner_text() == "咨询问答库"
        page.fill("#qa-new textarea[name=question]", f"居住证怎么办理？{width}")
        page.fill("#qa-new textarea[name=answer]", "携带身份证和租房合同到派出所办理。")
        page.fill("#qa-new input[name=keywords]", "居住证，办理居住证")
        page.click("#qa-new button[type=submit]")
        assert "审核中" in page.locator("h1").inner_text()
        assert page.locator("[data-testid=approve-qa]").count() == 0
        _no_overflow(page, width)
        url = page.url
        logout(page)
        login(page, base, "r1")
        page.goto(url)
        page.click("[data-testid=approve-qa]")
        assert "使用中" in page.locator("h1").inner_text()
        page.goto(base + "/interaction/qa")
        assert "使用中" in page.locator("#qa-list").inner_text()
        _no_overflow(page, width)
        logout(page)
