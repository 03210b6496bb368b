"""Playwright: the review page shows what each account will be sent in sandboxed frames, so content
cannot draw over the page's own controls (a ``position:fixed`` block once covered 通过)."""

from __future__ import annotations

from browser_helpers import login

CONFIRMATIONS = ("political", "legal", "policy", "secrecy", "wording")
OVERLAY = ('<p>请各单位做好防火宣传。</p><div style="position:fixed;top:0;left:0;width:100%;height:100%;'
           'background:#c00;z-index:99999">覆盖层</div>')


def test_content_cannot_cover_the_review_controls(world, live_server, page):
    api, base = world["api"], live_server
    post = api["editor"].post("/posts", json={"title": "关于做好防火宣传的通知", "content": OVERLAY,
                                              "account_ids": world["accounts"][:1]}).get_json()
    assert api["editor"].post(f"/posts/{post['id']}/submit").status_code == 200
    for width, height in ((1366, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        login(page, base, "r1")
        page.goto(f"{base}/review/{post['id']}")
        frame = page.frame_locator("iframe.rendering-frame").first
        assert "请各单位做好防火宣传" in frame.locator("body").inner_text()
        # the full-viewport block is inert text inside the frame, not part of the page
        assert frame.locator("text=覆盖层").evaluate("n => getComputedStyle(n).position") == "static"
        assert "覆盖层" not in page.locator("body").inner_text()
        page.locator("#approve-btn").scroll_into_view_if_needed()
        box = page.locator("#approve-btn").bounding_box()
        assert box is not None
        hit = page.evaluate("([x, y]) => document.elementFromPoint(x, y).id",
                            [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2])
        assert hit == "approve-btn"
        page.context.clear_cookies()
    page.set_viewport_size({"width": 1366, "height": 900})
    login(page, base, "r1")
    page.goto(f"{base}/review/{post['id']}")
    for key in CONFIRMATIONS:
        page.check(f"#check-{key}")
    page.click("#approve-btn")
    page.wait_for_selector(".flash-success")
