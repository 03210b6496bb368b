"""Playwright: an editor adds, orders and removes 次条 articles in the form; the variant field the
editor's 检查 flags is named and focused (issue 13)."""

from __future__ import annotations

import re

from browser_helpers import login


def test_editor_adds_orders_and_removes_articles(world, live_server, page):
    base = live_server
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, base, "editor")
    page.goto(base + "/posts/new")
    page.fill("input[name=title]", "关于做好冬季森林防火工作的通知")
    page.wait_for_selector("#editor[data-ready='1']")
    page.click("#editor .ql-editor")
    page.keyboard.type("请各单位做好冬季森林防火工作。")
    page.click("#articles summary")
    for title, body in (("附件一：责任分工", "各苏木镇负责本辖区。"), ("附件二：值班安排", "节日期间24小时值班。"),
                        ("附件三：待删除", "这一篇会被删除。")):
        page.click("#add-article")
        item = page.locator("#article-list .article-item").last
        item.locator("input[name=article-title]").fill(title)
        item.locator(".ql-editor").click()
        page.keyboard.type(body)
    assert page.inner_text("#article-count") == "3"
    page.locator("#article-list .article-item").nth(1).locator(".article-up").click()
    page.locator("#article-list .article-item").nth(2).locator(".article-remove").click()
    assert page.inner_text("#article-count") == "2"
    # The Weibo variant's text is checked too, and its finding names the field.
    page.click("#variants summary")
    if page.locator("[name=variant-wechat-text]").count():
        page.fill("[name=variant-wechat-text]", "联系人身份证110101199003074514")
        page.click("#run-checks")
        page.wait_for_selector("#checks-list li[data-rule='pii.id_card']")
        assert "微信公众号" in page.inner_text("#checks-list li[data-rule='pii.id_card'] .field-tag")
        page.fill("[name=variant-wechat-text]", "")
    boxes = page.locator("input[name=account_ids]")
    for i in range(boxes.count()):
        boxes.nth(i).set_checked(i == 0)
    page.click("#save-post")
    page.wait_for_url(re.compile(r"/posts/\d+$"))
    post_id = int(page.url.rsplit("/", 1)[1])
    rev = world["api"]["editor"].get(f"/posts/{post_id}").get_json()["revision"]
    assert [a["title"] for a in rev["articles"]] == ["附件二：值班安排", "附件一：责任分工"]
    assert "节日期间24小时值班" in rev["articles"][0]["content"]
    assert not errors
