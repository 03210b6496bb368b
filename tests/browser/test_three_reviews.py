"""Playwright: a post walked through 三审 by three reviewer logins, with one rejection and a resubmission."""

from __future__ import annotations

from browser_helpers import login, logout
from support import run_burst_worker

CHECKS = ("political", "legal", "policy", "secrecy", "wording")


def _approve_in_ui(page, base, username, post_id):
    login(page, base, username)
    page.click('[data-testid="review-badge"]')
    page.click(f'#queue tr[data-post="{post_id}"] a')
    for key in CHECKS:
        page.check(f"#check-{key}")
    page.fill("#approve-form textarea[name=comment]", f"{username} 审核通过")
    page.click("#approve-btn")
    page.wait_for_selector(".flash-success")
    logout(page)


def test_three_reviews_with_a_rejection_and_resubmission(world, app, live_server, page):
    api, base = world["api"], live_server
    post = api["editor"].post("/posts", json={
        "title": "关于开展2026年春季爱国卫生运动的通知", "content": "<p>各单位：</p><p>请于4月开展爱国卫生运动。</p>",
        "summary": "爱国卫生运动", "author": "旗卫健委", "account_ids": world["accounts"][:1]}).get_json()
    pid = post["id"]

    login(page, base, "editor")
    page.goto(f"{base}/posts/{pid}")
    page.click("#submit-review")
    page.wait_for_selector(".flash-success")
    logout(page)

    _approve_in_ui(page, base, "r1", pid)

    # 复审 rejects with a reason.
    login(page, base, "r2")
    page.goto(f"{base}/review/{pid}")
    assert page.inner_text("#chain-progress").count("✓") == 1
    page.fill("#reject-reason", "活动时间与上级通知不一致，请核实")
    page.click("#reject-btn")
    page.wait_for_selector(".flash-success")
    logout(page)

    # The editor sees the reason, corrects the text and resubmits.
    login(page, base, "editor")
    page.goto(f"{base}/posts/{pid}")
    assert "活动时间与上级通知不一致" in page.content()
    assert api["editor"].patch(f"/posts/{pid}", json={
        "content": "<p>各单位：</p><p>请于4月中旬开展爱国卫生运动。</p>"}).status_code == 200
    page.goto(f"{base}/posts/{pid}")
    page.click("#submit-review")
    page.wait_for_selector(".flash-success")
    logout(page)

    # The chain starts again at 初审; the reviewer sees what changed since they last looked.
    login(page, base, "r1")
    page.goto(f"{base}/review/{pid}")
    assert "4月中旬" in page.inner_text("#diff-seen")
    logout(page)
    for reviewer in ("r1", "r2", "r3"):
        _approve_in_ui(page, base, reviewer, pid)

    run_burst_worker(app)
    login(page, base, "editor")
    page.goto(f"{base}/posts/{pid}")
    page.wait_for_selector('#post-status [data-status="published"]')
    body = api["editor"].get(f"/posts/{pid}").get_json()
    assert [a["reviewer"]["username"] for a in body["approvals"]] == ["r1", "r2", "r3"]
    assert [a["step_name"] for a in body["approvals"]] == ["初审", "复审", "终审"]
    assert len(world["sim"].state()["published"]) == 1
