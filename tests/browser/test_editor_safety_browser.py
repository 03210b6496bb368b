"""Playwright: the editor never loses a draft. Files over the server's limits are refused in the
browser before anything is sent, naming the limit; the draft is kept in this browser as it is typed,
offered back after a reload or a 413, and forgotten once the hub has saved it."""

from __future__ import annotations

import re

from browser_helpers import login

MB = 1024 * 1024
TITLE = "关于做好冬季供暖保障工作的通知"


def _media_requests(page) -> list[str]:
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.method == "POST" and "/posts/media" in r.url else None)
    return sent


def _draft_keys(page) -> list[str]:
    return page.evaluate("Object.keys(localStorage).filter(k => k.indexOf('hub-draft:') === 0)")


def _type_draft(page, base) -> None:
    page.goto(base + "/posts/new")
    page.wait_for_selector("#editor[data-ready='1']")
    page.fill("input[name=title]", TITLE)
    page.click("#editor .ql-editor")
    page.keyboard.type("各有关单位：请做好供暖保障。")
    page.wait_for_selector("#draft-status:not(:empty)")


def test_oversize_files_are_refused_before_sending(world, live_server, page):
    base = live_server
    login(page, base, "editor")
    sent = _media_requests(page)
    _type_draft(page, base)

    # A cover over 10 MB: refused as soon as it is chosen, the limit named, the choice cleared.
    page.set_input_files("#cover-input", {"name": "cover.jpg", "mimeType": "image/jpeg",
                                          "buffer": b"\xff\xd8\xff" + b"\0" * (11 * MB)})
    err = page.locator("#cover-error")
    err.wait_for(state="visible")
    assert "不得超过 10 MB" in err.inner_text() and "11.0 MB" in err.inner_text()
    assert page.evaluate("document.getElementById('cover-input').files.length") == 0

    # A body image over 10 MB through the toolbar: refused here, nothing uploaded or inserted.
    with page.expect_file_chooser() as chooser:
        page.click(".ql-toolbar .ql-image >> nth=0")
    chooser.value.set_files({"name": "photo.jpg", "mimeType": "image/jpeg",
                             "buffer": b"\xff\xd8\xff" + b"\0" * (int(10.5 * MB))})
    status = page.locator(".editor-image-status[data-state='failed']").first
    status.wait_for()
    assert "不得超过 10 MB" in status.inner_text()
    assert page.locator("#editor .ql-editor img").count() == 0
    assert sent == []

    # Files under each limit that together exceed the request limit (16 MB): not sent, said why.
    page.set_input_files("#cover-input", {"name": "cover.jpg", "mimeType": "image/jpeg",
                                          "buffer": b"\xff\xd8\xff" + b"\0" * (9 * MB)})
    page.evaluate("document.querySelector('textarea[name=summary]').value = 'x'.repeat(5 * 1024 * 1024)")
    url = page.url
    page.click("#save-post")
    size_err = page.locator("#form-size-error")
    size_err.wait_for(state="visible")
    assert "16 MB" in size_err.inner_text()
    assert page.url == url and page.locator("input[name=title]").input_value() == TITLE


def test_the_draft_survives_a_reload_and_a_413_and_is_forgotten_once_saved(world, live_server, page):
    base = live_server
    login(page, base, "editor")
    _type_draft(page, base)
    assert len(_draft_keys(page)) == 1

    # A reload (or a crash): the form is empty again, the draft is offered back.
    page.reload()
    page.wait_for_selector("#editor[data-ready='1']")
    assert page.locator("input[name=title]").input_value() == ""
    offer = page.locator("#draft-offer")
    offer.wait_for(state="visible")
    assert "未保存到系统的草稿" in offer.inner_text()
    page.click("#draft-restore")
    assert page.locator("input[name=title]").input_value() == TITLE
    assert "请做好供暖保障" in page.locator("#editor .ql-editor").inner_text()

    # The server refuses the request as too large (the browser's check bypassed): the draft stays.
    with page.expect_navigation():
        page.evaluate("""() => {
        const form = document.getElementById('post-form');
        const big = document.createElement('input');
        big.type = 'hidden'; big.name = 'padding'; big.value = 'x'.repeat(17 * 1024 * 1024);
        form.appendChild(big);
        HTMLFormElement.prototype.submit.call(form);
    }""")
    assert "上传的内容过大" in page.locator("body").inner_text()
    page.goto(base + "/posts/new")
    page.wait_for_selector("#editor[data-ready='1']")
    page.locator("#draft-offer").wait_for(state="visible")
    page.click("#draft-restore")
    assert page.locator("input[name=title]").input_value() == TITLE

    # Saved by the hub: the post page follows and the local draft is gone.
    boxes = page.locator("input[name=account_ids]")
    for i in range(boxes.count()):
        boxes.nth(i).set_checked(i == 0)
    page.click("#save-post")
    page.wait_for_url(re.compile(r"/posts/\d+$"))
    assert page.locator(".flash-success").is_visible()
    assert _draft_keys(page) == []
    page.goto(base + "/posts/new")
    page.wait_for_selector("#editor[data-ready='1']")
    assert not page.locator("#draft-offer").is_visible()


def test_the_paragraph_style_picker_speaks_chinese(world, live_server, page):
    login(page, live_server, "editor")
    page.goto(live_server + "/posts/new")
    page.wait_for_selector("#editor[data-ready='1']")
    label = page.locator(".ql-toolbar .ql-picker.ql-header .ql-picker-label").first
    assert label.evaluate("el => getComputedStyle(el, '::before').content") == '"正文"'
    assert "Normal" not in page.locator(".ql-toolbar").first.inner_text()
