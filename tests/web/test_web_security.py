"""Web UI security from day one: CSRF, headers, cookies, throttling, object-level access."""

from __future__ import annotations

import re

from support import PASSWORD


def csrf(client, path="/login"):
    html = client.get(path).get_data(as_text=True)
    m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html)
    assert m, html[:500]
    return m.group(1)


def login(client, username, password=PASSWORD):
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf(client)})


def test_security_headers_and_cookie_flags(world, client):
    r = client.get("/login")
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "DENY"
    r = login(client, "editor")
    assert r.status_code == 302
    cookie = r.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_post_without_csrf_token_is_refused(world, client):
    r = client.post("/login", data={"username": "editor", "password": PASSWORD})
    assert r.status_code == 400
    assert "页面已过期" in r.get_data(as_text=True)
    login(client, "editor")
    r = client.post("/posts/new", data={"title": "无令牌", "content": "<p>x</p>"})
    assert r.status_code == 400


def test_login_success_and_failure_are_audited_and_session_rotates(world, client, app):
    from hub.db import db
    from hub.models import AuditEntry

    with client.session_transaction() as sess:
        sess["planted"] = "attacker-value"
    assert login(client, "editor", "wrong-password").status_code == 401
    r = login(client, "editor")
    assert r.status_code == 302
    with client.session_transaction() as sess:
        assert "planted" not in sess
    actions = [e.action for e in db.session.query(AuditEntry).order_by(AuditEntry.seq)]
    assert "auth.login_failed" in actions and "auth.login" in actions
    failed = db.session.query(AuditEntry).filter_by(action="auth.login_failed").one()
    assert "wrong-password" not in failed.details


def test_login_throttled_per_username(world, app, client):
    app.config["HUB_LOGIN_LIMIT"] = "3 per minute"
    codes = [login(client, "editor", f"bad-{i}").status_code for i in range(5)]
    assert codes[:3] == [401, 401, 401] and codes[-1] == 429
    r = login(client, "editor")  # still throttled: the limit is per username
    assert r.status_code == 429
    page = r.get_data(as_text=True)
    assert "该用户名连续登录失败次数过多" in page and "秒后再试" in page
    assert 0 < int(r.headers["Retry-After"]) <= 60


def test_one_persons_typos_do_not_lock_out_the_office(world, app, client):
    """Defaults: ten failed logins for one username, from one address, leave others free to sign in."""
    codes = [login(client, "editor2", f"bad-{i}").status_code for i in range(10)]
    assert codes[-1] == 429  # that username waits (other tests of this module sign in as editor)
    assert login(client, "r1").status_code == 302


def test_login_throttled_per_address(world, app, client):
    app.config["HUB_LOGIN_IP_LIMIT"] = "4 per minute"
    codes = [login(client, name, "bad").status_code for name in ("a1", "a2", "a3", "a4", "a5")]
    assert codes[:4] == [401] * 4 and codes[-1] == 429
    page = login(client, "a6", "bad").get_data(as_text=True)
    assert "本机所在地址登录失败次数过多" in page


def test_open_redirect_is_refused(world, client):
    token = csrf(client, "/login?next=https://evil.example/")
    r = client.post("/login?next=https://evil.example/",
                    data={"username": "editor", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 302 and r.headers["Location"] in ("/", "http://localhost/")


def test_other_units_post_is_404_in_ui(world, client):
    api = world["api"]["editor"]
    post = api.post("/posts", json={"title": "本单位稿件", "content": "<p>x</p>",
                                    "account_ids": world["accounts"][:1]}).get_json()
    login(client, "outsider")
    assert client.get(f"/posts/{post['id']}").status_code == 404
    assert client.get(f"/posts/{post['id']}/status.json").status_code == 404
    assert client.get("/posts/not-a-number").status_code == 404


def test_pages_render_for_every_role(world, client):
    for user in ("editor", "r1", "admin", "supervisor"):
        login(client, user)
        for path in ("/", "/posts", "/accounts"):
            r = client.get(path)
            assert r.status_code == 200, (user, path)
            assert "政务新媒体发布中心" in r.get_data(as_text=True)
        client.post("/logout", data={"csrf_token": csrf(client, "/")})


def test_editor_form_bad_input_shows_message_and_keeps_input(world, client):
    login(client, "editor")
    token = csrf(client, "/posts/new")
    r = client.post("/posts/new", data={"csrf_token": token, "title": "", "content": "<p>正文保留</p>",
                                        "account_ids": str(world["accounts"][0])})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "标题不能为空" in html and "正文保留" in html


def test_cookies_are_secure_under_https(world, app, client, monkeypatch):
    from hub.config import load_config

    monkeypatch.setenv("HUB_HTTPS", "1")
    cfg = load_config({"HUB_INSTANCE_DIR": app.config["HUB_INSTANCE_DIR"]})
    assert cfg["SESSION_COOKIE_SECURE"] is True and cfg["REMEMBER_COOKIE_SECURE"] is True
    app.config["SESSION_COOKIE_SECURE"] = True  # what create_app takes from that config
    try:
        page = client.get("/login", base_url="https://localhost").get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        r = client.post("/login", base_url="https://localhost", headers={"Referer": "https://localhost/login"},
                        data={"username": "editor", "password": PASSWORD, "csrf_token": token})
        assert r.status_code == 302
        cookies = r.headers.getlist("Set-Cookie")
        assert cookies and all("Secure" in c and "HttpOnly" in c and "SameSite=Lax" in c for c in cookies), cookies
    finally:
        app.config["SESSION_COOKIE_SECURE"] = False
