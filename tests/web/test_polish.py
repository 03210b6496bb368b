"""Polish a person sees: words instead of codes. The audit log names every action and object in
Chinese and shows client addresses as people write them; credential fields go by their labels; the
menus and the dashboard follow the role."""

from __future__ import annotations

import re
from pathlib import Path

from test_web_security import csrf, login

from hub.audit.report import ACTION_LABELS

ROOT = Path(__file__).resolve().parents[2]


def _text(fragment: str) -> str:
    fragment = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", fragment, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment))


def _shown(html: str) -> str:
    return _text(html.split("<main")[1].split("</main>")[0])


def _table(html: str) -> str:
    return _text(html.split('id="audit-entries"')[1].split("</table>")[0])


def test_every_recorded_audit_action_has_a_chinese_label():
    recorded = set()
    for path in (ROOT / "hub").rglob("*.py"):
        recorded |= set(re.findall(r"record\(\w+, f?\"([a-z_]+\.[a-z_]+)\"", path.read_text(encoding="utf-8")))
    assert len(recorded) > 40
    assert sorted(recorded - set(ACTION_LABELS)) == []


def test_the_audit_log_shows_words_and_plain_addresses(world, app, client):
    # A dual-stack server records an IPv4 client as ::ffff:a.b.c.d.
    client.post("/login", data={"username": "admin", "password": "test-password-123",
                                "csrf_token": csrf(client)}, environ_overrides={"REMOTE_ADDR": "::ffff:10.1.2.3"})
    html = client.get("/audit").get_data(as_text=True)
    shown = _shown(html)
    assert "10.1.2.3" in shown and "::ffff:" not in shown
    table = _table(html)
    assert not re.search(r"\b(auth|user|unit|post|account|dispatch)\.[a-z_]+\b", table), table[:400]
    assert "登录" in table and "用户" in table
    assert re.findall(r'<td data-action="auth.login">([^<]*)</td>', html)[:1] == ["登录"]
    assert not re.search(r"\b(user|unit|account) \d", table)  # object kinds in words, not codes
    # English UI: the same entries in English.
    client.get("/lang/en")
    html = client.get("/audit").get_data(as_text=True)
    assert re.findall(r'<td data-action="auth.login">([^<]*)</td>', html)[:1] == ["Sign in"]
    assert not re.search(r"\b(auth|user|unit|post|account|dispatch)\.[a-z_]+\b", _table(html))


def test_a_credential_is_named_by_its_label(world, app, client):
    login(client, "admin")
    acc = world["accounts"][0]
    page = client.get(f"/accounts/{acc}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post(f"/accounts/{acc}/credentials/console_password/rotate", data={"csrf_token": token})
    assert r.status_code == 200
    shown = _shown(r.get_data(as_text=True))
    assert "公众平台登录密码" in shown and "console_password" not in shown


def test_menus_and_dashboard_follow_the_role(world, app, client):
    login(client, "editor")
    home = client.get("/").get_data(as_text=True)
    nav = home.split('class="mainnav"')[1].split("</nav>")[0]
    for admin_item in ("审计日志", "审核流程", "发布异常", "词库", "监测台"):
        assert admin_item not in nav, admin_item
    assert "我的草稿" in _shown(home)

    sup = app.test_client()
    login(sup, "supervisor")
    page = sup.get("/").get_data(as_text=True)
    nav = page.split('class="mainnav"')[1].split("</nav>")[0]
    assert "待我审核" not in nav and "监测台" in nav
    assert "我的草稿" not in _shown(page) and "待我审核" not in _shown(page)

    reviewer = app.test_client()
    login(reviewer, "r1")
    page = reviewer.get("/").get_data(as_text=True)
    assert 'data-testid="review-badge"' in page and "我的草稿" not in _shown(page)
