"""Playwright: the main pages, for the main roles, load without a single Content-Security-Policy
violation (the policy has no 'unsafe-inline'), the post bodies included."""

from __future__ import annotations

from typing import Any

from browser_helpers import login

BODY = ('<h2>一、总体要求</h2><p class="ql-align-center" style="text-align:center;color:#c00">'
        '<strong>请各单位做好防火宣传，开展党史教育。</strong></p><ul><li>加强巡查</li></ul>'
        '<p style="position:fixed;top:0;left:0">不应定位</p>')
WATCH = """window.__csp = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + e.sourceFile + ':' + e.lineNumber);
});"""


def _watch(page: Any) -> list[str]:
    seen: list[str] = []
    page.add_init_script(WATCH)
    page.on("console", lambda msg: seen.append(f"{page.url}: {msg.text}")
            if "Content Security Policy" in msg.text or "Content-Security-Policy" in msg.text else None)
    return seen


def _visit(page: Any, url: str, seen: list[str]) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    for frame in page.frames:
        try:
            found = frame.evaluate("window.__csp || []")
        except Exception:  # a sandboxed frame runs no script: its violations reach the console
            found = []
        seen.extend(f"{url} [{frame.url}]: {v}" for v in found)


def test_main_pages_have_no_csp_violation(world, live_server, page):
    api, base = world["api"], live_server
    post = api["editor"].post("/posts", json={"title": "关于做好防火宣传的通知", "content": BODY,
                                              "account_ids": world["accounts"][:1]}).get_json()
    draft = api["editor"].post("/posts", json={"title": "草稿", "content": BODY,
                                               "account_ids": world["accounts"][:1]}).get_json()
    assert api["editor"].post(f"/posts/{post['id']}/submit").status_code == 200
    seen = _watch(page)
    _visit(page, f"{base}/login", seen)
    pages = {
        "editor": ["/", "/posts", "/posts/new", f"/posts/{draft['id']}/edit", f"/posts/{post['id']}",
                   "/accounts", f"/accounts/{world['accounts'][0]}"],
        "r1": ["/", "/review", f"/review/{post['id']}", f"/posts/{post['id']}", "/inspections", "/lexicon"],
        "admin": ["/", "/accounts", f"/accounts/{world['accounts'][0]}", "/audit", "/inspections",
                  "/lexicon", "/accounts/register", f"/review/{post['id']}"],
        "supervisor": ["/", "/audit", "/posts", "/accounts"],
    }
    for user, paths in pages.items():
        login(page, base, user)
        for path in paths:
            _visit(page, base + path, seen)
        page.context.clear_cookies()
    assert not seen, "\n".join(seen)
    # the review page's frame really shows the body, formatted, without the positioning
    login(page, base, "r1")
    page.goto(f"{base}/review/{post['id']}")
    frame = page.frame_locator("iframe.rendering-frame").first
    assert "请各单位做好防火宣传" in frame.locator("body").inner_text()
    assert frame.locator("p.ql-align-center").evaluate("p => getComputedStyle(p).textAlign") == "center"
    assert frame.locator("text=不应定位").evaluate("p => getComputedStyle(p).position") == "static"


def test_editor_keeps_a_bodys_colour_under_the_policy(world, live_server, page):
    api, base = world["api"], live_server
    draft = api["editor"].post("/posts", json={"title": "草稿", "content": BODY,
                                               "account_ids": world["accounts"][:1]}).get_json()
    seen = _watch(page)
    login(page, base, "editor")
    _visit(page, f"{base}/posts/{draft['id']}/edit", seen)
    page.wait_for_selector("#editor[data-ready='1']")
    colour = page.locator("#editor .ql-editor strong").first.evaluate(
        "n => getComputedStyle(n).color")
    assert colour == "rgb(204, 0, 0)"
    assert not seen, "\n".join(seen)
