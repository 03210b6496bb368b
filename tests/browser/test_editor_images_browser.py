"""Playwright: an image inserted in the editor is uploaded as media and the body holds its /media URL,
never a base64 ``data:`` URL (issue 13 item 2); it shows in the review page's sandboxed frame; an
image over 10 MB gets the Chinese limit next to the editor and the draft stays."""

from __future__ import annotations

import base64
import re

from browser_helpers import login
from support import ALL_CONFIRMATIONS, photo, run_burst_worker

MEDIA = re.compile(r'<img[^>]*src="(/media/\d+/[0-9a-f]{32}\.jpg)"')


def test_an_inserted_photo_is_uploaded_and_the_saved_body_holds_its_url(app, world, live_server, page):
    api, base = world["api"], live_server
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, base, "editor")
    page.goto(base + "/posts/new")
    page.wait_for_selector("#editor[data-ready='1']")
    page.fill("input[name=title]", "关于做好冬季供暖保障工作的通知")
    page.click("#editor .ql-editor")
    page.keyboard.type("现场照片：")

    # Too large: the server's Chinese message next to the editor, nothing inserted.
    with page.expect_file_chooser() as chooser:
        page.click(".ql-toolbar .ql-image >> nth=0")
    chooser.value.set_files({"name": "phone.jpg", "mimeType": "image/jpeg",
                             "buffer": b"\xff\xd8\xff" + b"\0" * (12 * 1024 * 1024)})
    status = page.locator(".editor-image-status[data-state='failed']").first
    status.wait_for()
    assert "不得超过 10 MB" in status.inner_text()
    assert page.locator("#editor .ql-editor img").count() == 0

    # A 300 KB photo through the toolbar's image button.
    data = photo(300)
    with page.expect_file_chooser() as chooser:
        page.click(".ql-toolbar .ql-image >> nth=0")
    chooser.value.set_files({"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": data})
    page.wait_for_selector("#editor .ql-editor img[src^='/media/']")
    # HTML pasted with an inline image (copied from a document): uploaded too.
    small = base64.b64encode(photo(20, seed=7)).decode()
    page.evaluate("(src) => { const q = Quill.find(document.getElementById('editor'));"
                  " q.clipboard.dangerouslyPasteHTML(q.getLength(), '<p><img src=\"' + src + '\"></p>', 'user'); }",
                  "data:image/jpeg;base64," + small)
    page.wait_for_function("() => document.querySelectorAll(\"#editor .ql-editor img[src^='/media/']\").length === 2"
                           " && !document.querySelector(\"#editor .ql-editor img[src^='data:']\")")
    assert "data:" not in page.locator("#content-input").input_value()
    page.click("#save-post")
    page.wait_for_selector(".flash-success")
    post_id = int(re.search(r"/posts/(\d+)", page.url).group(1))

    content = api["editor"].get(f"/posts/{post_id}").get_json()["revision"]["content"]
    assert "data:" not in content
    urls = MEDIA.findall(content)
    assert len(urls) == 2
    got = page.request.get(base + urls[0])
    assert got.status == 200 and got.body() == data

    # The reviewer sees the photo inside the sandboxed rendering frame.
    assert api["editor"].post(f"/posts/{post_id}/submit").status_code == 200
    page.context.clear_cookies()
    login(page, base, "r1")
    page.goto(f"{base}/review/{post_id}")
    frame = page.frame_locator("iframe.rendering-frame").first
    img = frame.locator(f"img[src='{urls[0]}']")
    img.wait_for()
    assert img.evaluate("el => el.complete && el.naturalWidth") > 200
    assert errors == []

    # Approved and published: WeChat holds the photo as an uploadimg URL, no data: and no hub URL.
    h = api["editor"].get(f"/posts/{post_id}").get_json()["revision"]["hash"]
    for reviewer in ("r1", "r2", "r3"):
        r = api[reviewer].post(f"/posts/{post_id}/approve", json={"revision_hash": h, "checks": ALL_CONFIRMATIONS})
        assert r.status_code == 200, r.get_json()
    run_burst_worker(app)
    assert api["editor"].get(f"/posts/{post_id}").get_json()["status"] == "published"
    state = world["sim"].state()
    uploaded = {i["url"] for i in state["images"]}
    [published] = state["published"]
    for article in published["articles"]:
        srcs = re.findall(r'<img[^>]*src="([^"]*)"', article["content"])
        assert len(srcs) == 2 and set(srcs) <= uploaded, (srcs, uploaded)
        assert "data:" not in article["content"] and "/media/" not in article["content"]
