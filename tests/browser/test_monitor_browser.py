"""The 监测台 in a real browser (issue 15): the supervisor's home page, in Chinese and English, at
desktop and phone width; sorting and filtering by clicking; an editor never sees it."""

from __future__ import annotations

from browser_helpers import login, logout
from support import ALL_CONFIRMATIONS, run_burst_worker


def _publish(app, api, account_ids):
    r = api["editor"].post("/posts", json={"title": "关于做好冬季供暖保障工作的通知", "content": "<p>请做好供暖保障。</p>",
                                           "summary": "供暖保障", "author": "旗政府办", "account_ids": account_ids,
                                           "is_original": True})
    post = r.get_json()
    assert api["editor"].post(f"/posts/{post['id']}/submit").status_code == 200
    for reviewer in ("r1", "r2", "r3"):
        assert api[reviewer].post(f"/posts/{post['id']}/approve", json={
            "revision_hash": post["revision"]["hash"], "checks": ALL_CONFIRMATIONS}).status_code == 200
    run_burst_worker(app)


def test_supervisor_home_is_the_monitor_in_both_languages_and_widths(app, world, live_server, page):
    base = live_server
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    _publish(app, world["api"], [world["accounts"][0]])
    login(page, base, "supervisor")
    for width, height in ((1366, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(base + "/lang/zh_CN")
        page.goto(base + "/")
        assert page.locator("h1").inner_text() == "监测台"
        assert page.locator("#monitor-table tbody tr").count() == 2
        assert page.locator("#monitor-charts svg").count() == 1
        assert page.locator("nav a[data-testid=monitor-menu]").count() == 1
        row = page.locator("#monitor-table tbody tr", has_text="陈巴尔虎旗发布")
        assert "100%" in row.inner_text() and "微信公众号" in row.inner_text()
        assert "从未发布" in page.locator("#monitor-table tbody tr", has_text="陈巴尔虎旗政务").inner_text()
        # sort by 30-day publications, ascending then descending
        page.click("#monitor-table thead a:has-text('30天发布')")
        first = page.locator("#monitor-table tbody tr").first.inner_text()
        page.click("#monitor-table thead a:has-text('30天发布')")
        assert page.locator("#monitor-table tbody tr").first.inner_text() != first
        # filter by platform: every platform is offered (issue 14), whether or not an account is on it yet
        from hub.i18n_marks import PLATFORM_LABELS

        assert page.locator("select[name=platform] option").count() == 1 + len(PLATFORM_LABELS)  # 全部 + each
        page.goto(base + "/lang/en")
        page.goto(base + "/")
        assert page.locator("h1").inner_text() == "Monitor"
        assert "Never published" in page.locator("#monitor-table").inner_text()
        assert "Posts (30 days)" in page.locator("#monitor-table thead").inner_text()
        with page.expect_download() as dl:
            page.click("#monitor-export")
        assert dl.value.suggested_filename.endswith(".xlsx")
        # nothing overflows the viewport horizontally outside the table's own scroller
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1, width
    page.goto(base + "/lang/zh_CN")
    logout(page)
    login(page, base, "editor")
    assert "监测台" not in page.locator("header").inner_text()
    r = page.goto(base + "/monitor")
    assert r is not None and r.status == 404
    assert not errors, errors
