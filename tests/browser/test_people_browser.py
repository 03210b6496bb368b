"""People and sign-in in a real browser (issue 18): an admin creates a reviewer on the 人员 page,
the reviewer sets a password through the one-time link, signs in and finds the post waiting in
待我审核; an admin enrols the TOTP second factor by the QR page; at 1366×900 and 390×844."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from browser_helpers import login, logout

GOOD = "呼伦贝尔草原 2026 秋"


@pytest.mark.parametrize("width,height", [(1366, 900), (390, 844)])
def test_admin_creates_a_reviewer_who_sets_a_password_and_reviews(app, world, live_server, page, width, height):
    base = live_server
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_viewport_size({"width": width, "height": height})
    api = world["api"]
    post = api["editor"].post("/posts", json={"title": "关于做好冬季供暖保障工作的通知", "content": "<p>请做好供暖保障。</p>",
                                              "account_ids": world["accounts"][:1]}).get_json()

    login(page, base, "admin")
    page.click("nav a[data-testid=people-menu]")
    assert page.locator("h1").inner_text() == "人员"
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
    form = page.locator("form[data-testid=person-create]")
    form.locator("input[name=username]").fill("r9")
    form.locator("input[name=name]").fill("吴审核")
    form.locator("label.check", has_text="审核人").locator("input").check()
    form.locator("button[type=submit]").click()
    link = page.locator("[data-testid=setup-link]").inner_text()
    assert re.match(r"^http://127\.0\.0\.1:\d+/setup/[A-Za-z0-9_-]{40,}$", link), link
    assert "只能使用一次" in page.locator("main").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
    page.goto(base + "/people")
    assert "待设置密码" in page.locator("tr[data-username=r9]").inner_text()
    logout(page)

    page.goto(link)
    assert "吴审核" in page.locator("main").inner_text()
    page.fill("input[name=password]", "qwertyuiop")
    page.fill("input[name=password2]", "qwertyuiop")
    page.click("main form button[type=submit]")
    assert "该密码过于常见" in page.locator(".flash-error").inner_text()
    page.fill("input[name=password]", GOOD)
    page.fill("input[name=password2]", GOOD)
    page.click("main form button[type=submit]")
    page.wait_for_url(lambda url: "/login" in url)
    assert "密码已设置" in page.locator(".flash").inner_text()

    assert api["editor"].post(f"/posts/{post['id']}/submit").status_code == 200
    login(page, base, "r9", GOOD)
    page.goto(base + "/review")
    assert "关于做好冬季供暖保障工作的通知" in page.locator("main").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
    assert not errors, errors


def test_admin_enrols_totp_and_signs_in_with_a_code(app, world, live_server, page):
    app.config["HUB_REQUIRE_TOTP"] = True
    base = live_server
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, base, "admin")
    assert page.url.endswith("/me/security")
    assert page.locator("[data-testid=totp-qr] svg").count() == 1
    secret = page.locator("[data-testid=totp-secret]").inner_text()
    page.fill("main form input[name=code]", pyotp.TOTP(secret).now())
    page.click("main form button[type=submit]")
    assert page.locator("[data-testid=recovery-codes] li").count() == 10
    page.click("text=我已保存，进入工作台")
    logout(page)
    page.goto(base + "/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "test-password-123")
    page.click("form button[type=submit]")
    page.wait_for_url(lambda url: "/login/code" in url)
    page.fill("input[name=code]", "000000")
    page.click("main form button[type=submit]")
    assert "验证码不正确" in page.locator(".flash-error").inner_text()
    page.fill("input[name=code]", pyotp.TOTP(secret).at(time.time() + 30))
    page.click("main form button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    assert page.locator("nav a[data-testid=people-menu]").count() == 1
