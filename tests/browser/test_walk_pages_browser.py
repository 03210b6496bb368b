"""Playwright: the main pages walked as each role, in Chinese and in English, at 1366×900 and 390×844.
Every page holds its width (no horizontal scroll), shows no raw revision hash, no ``::ffff:`` client
address, and in Chinese no raw English status word; at 1366 px the menu stays on one row."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from browser_helpers import PASSWORD
from support import run_burst_worker

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dispatch"))
from dispatch_helpers import approve_post, dispatches  # noqa: E402

SIZES = ({"width": 1366, "height": 900}, {"width": 390, "height": 844})
HASH = re.compile(r"\b[0-9a-f]{64}\b")
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
STATUS_WORDS = re.compile(r"\b(draft|in_review|approved|publishing|published|partially_published|failed|rejected|"
                          r"withdrawn|pending|sending|unconfirmed|cancelled|suspended)\b")


@pytest.fixture
def seeded(world, app):
    """A post waiting for 初审, a published post, a failed dispatch, and a login from a dual-stack
    address (recorded as ::ffff:…)."""
    api = world["api"]
    waiting = api["editor"].post("/posts", json={"title": "关于开展冬季消防检查的通知",
                                                 "content": "<p>请各单位开展消防检查。</p>",
                                                 "account_ids": world["accounts"][:1]}).get_json()["id"]
    assert api["editor"].post(f"/posts/{waiting}/submit").status_code == 200
    published = approve_post(api, world["accounts"][:1])
    failed = approve_post(api, world["accounts"][:1], title="关于停水的通知", content="<p>SIM-FAIL-CHECK</p>")
    run_burst_worker(app)
    (bad,) = dispatches(app, [failed])
    assert bad.status == "failed"
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token},
                environ_overrides={"REMOTE_ADDR": "::ffff:10.1.2.3"})
    acc = world["accounts"][0]
    common = ["/", "/posts", f"/posts/{waiting}", f"/posts/{published}", f"/posts/{failed}",
              f"/review/{waiting}", "/accounts", f"/accounts/{acc}"]
    return {
        "editor": common + ["/posts/new", f"/posts/{waiting}/edit"],
        "r1": common + ["/review"],
        "admin": common + ["/audit", "/dispatches", f"/dispatches/{bad.id}", "/chains", "/accounts/filings",
                           "/accounts/credentials/overdue", "/lexicon", "/inspections"],
        "supervisor": ["/", "/monitor", "/oversight/inspections", "/oversight/rectifications", "/audit",
                       "/posts", f"/posts/{published}", "/accounts", "/dispatches"],
    }


def _check(page, path: str, lang: str, width: int) -> list[str]:
    problems = []
    where = f"{lang} {width}px {path}"
    if not page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"):
        problems.append(f"{where}: horizontal scroll ({page.evaluate('document.documentElement.scrollWidth')})")
    text = page.locator("body").inner_text()
    if HASH.search(text):
        problems.append(f"{where}: raw hash {HASH.search(text).group(0)[:12]}…")
    if ISO_TIME.search(text) or "UTC" in text:
        problems.append(f"{where}: a raw ISO/UTC time ({(ISO_TIME.search(text) or ['UTC'])[0]})")
    if "::ffff:" in text:
        problems.append(f"{where}: ::ffff: address")
    if lang == "zh_CN" and STATUS_WORDS.search(text):
        problems.append(f"{where}: English status word {STATUS_WORDS.search(text).group(0)!r}")
    if width >= 1366:
        tops = page.evaluate("Array.from(document.querySelectorAll('.mainnav > a')).map("
                             "a => a.getBoundingClientRect().top)")
        if tops and max(tops) - min(tops) > 12:
            problems.append(f"{where}: the menu wraps onto a second row")
    return problems


@pytest.mark.parametrize("role", ["editor", "r1", "admin", "supervisor"])
def test_main_pages_hold_at_both_widths_in_both_languages(seeded, live_server, browser, role):
    problems: list[str] = []
    for lang in ("zh_CN", "en"):
        for size in SIZES:
            context = browser.new_context(viewport=size, locale="zh-CN", timezone_id="Asia/Shanghai")
            context.set_default_timeout(15000)
            page = context.new_page()
            try:
                page.goto(live_server + "/login")
                page.fill("input[name=username]", role)
                page.fill("input[name=password]", PASSWORD)
                page.click("form button[type=submit]")
                page.wait_for_url(lambda url: "/login" not in url)
                page.goto(f"{live_server}/lang/{lang}")
                for path in seeded[role]:
                    r = page.goto(live_server + path)
                    assert r is not None and r.status == 200, (role, path, r and r.status)
                    problems += _check(page, path, lang, size["width"])
            finally:
                context.close()
    assert problems == [], "\n".join(problems)
