"""Admins manage the people of their unit: create with a one-time set-up link (API and pages),
roles, disable, password reset; the password policy; everything audited without secrets."""

from __future__ import annotations

import json

from org_helpers import csrf, link_token, post_form, sign_in, sign_out
from sqlalchemy import select
from support import Api

from hub.db import db
from hub.models import AuditEntry, Post, SignInLink, User

GOOD = "草原上的风吹过 2026 年"


def _audit(action: str) -> list[AuditEntry]:
    db.session.remove()
    return list(db.session().scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_admin_creates_reviewer_by_api_who_sets_password_and_joins_the_chain(world, app, client):
    api = world["api"]
    r = api["admin"].post("/users", json={"username": "r4", "name": "钱审核", "unit": "cbeh", "roles": ["reviewer"]})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["roles"] == ["reviewer"] and body["setup_link_expires_in_hours"] == 72
    token = body["setup_link"].rsplit("/setup/", 1)[1]
    # Only the hash of the token is stored.
    assert db.session().scalars(select(SignInLink)).one().token_hash != token
    # Not an admin, or an admin elsewhere: refused.
    assert api["editor"].post("/users", json={"username": "x1", "unit": "cbeh", "roles": ["editor"]}).status_code == 403
    assert api["admin"].post("/users", json={"username": "x2", "unit": "other", "roles": ["editor"]}).status_code == 403
    bad = api["admin"].post("/users", json={"username": "x3", "unit": "cbeh", "roles": ["witness"]})
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "invalid_role"
    assert api["admin"].post("/users", json={"username": "r4", "unit": "cbeh", "roles": ["editor"]}).status_code == 409
    assert api["admin"].post("/users", json={"unit": "cbeh"}).status_code == 400
    # Before the set-up the new user cannot sign in with anything.
    assert sign_in(client, "r4", "not-a-real-password").status_code == 401

    # The set-up page: a common password is refused in Chinese; a good one is taken; the link works once.
    page = client.get(f"/setup/{token}")
    assert page.status_code == 200 and "钱审核" in page.get_data(as_text=True)
    weak = post_form(client, f"/setup/{token}", {"password": "password1234", "password2": "password1234"})
    assert weak.status_code == 422
    assert "该密码过于常见" in weak.get_data(as_text=True)
    same = post_form(client, f"/setup/{token}", {"password": "short", "password2": "short"})
    assert same.status_code == 422
    ok = post_form(client, f"/setup/{token}", {"password": GOOD, "password2": GOOD})
    assert ok.status_code == 302 and "/login" in ok.headers["Location"]
    assert client.get(f"/setup/{token}").status_code == 404
    assert sign_in(client, "r4", GOOD).status_code == 302

    # The new reviewer is in the unit's review chain: a submitted post waits for them.
    from hub.approval.chains import candidates, post_chain

    post = api["editor"].post("/posts", json={"title": "关于做好秋季防火工作的通知", "content": "<p>请做好防火。</p>",
                                              "account_ids": world["accounts"][:1]}).get_json()
    assert api["editor"].post(f"/posts/{post['id']}/submit").status_code == 200
    db.session.remove()
    s = db.session()
    p = s.get(Post, post["id"])
    r4 = s.scalars(select(User).where(User.username == "r4")).one()
    assert r4.id in candidates(s, p, post_chain(s, p).steps[0])
    assert "关于做好秋季防火工作的通知" in client.get("/review").get_data(as_text=True)

    created = _audit("user.create")
    assert any(e.summary.startswith("创建用户 钱审核") for e in created)
    for e in created + _audit("user.password_set"):
        text = str(e.details) + e.summary
        assert token not in text and GOOD not in text


def test_disable_by_api(world, app, client):
    api = world["api"]
    assert api["editor"].post("/users/r1/disable").status_code == 403
    assert api["admin"].post("/users/nobody/disable").status_code == 404
    assert api["admin"].post("/users/outsider/disable").status_code == 404  # another unit's person
    r = api["admin"].post("/users/r1/disable", json={"reason": "调离"})
    assert r.status_code == 200 and r.get_json()["active"] is False
    assert api["r1"].get("/posts").status_code == 401
    assert api["admin"].post("/users/r1/disable").status_code == 409
    assert api["admin"].post("/users/admin/disable").status_code == 409  # not oneself
    assert sign_in(client, "r1").status_code == 401
    assert _audit("user.disable")


def test_people_pages_create_edit_reset(world, app, client):
    assert sign_in(client, "editor").status_code == 302
    assert client.get("/people").status_code == 404
    assert client.get("/vault").status_code == 404
    sign_out(client)
    assert sign_in(client, "admin").status_code == 302
    people = client.get("/people").get_data(as_text=True)
    assert "r1" in people and "outsider" not in people
    r = post_form(client, "/people", {"username": "ed9", "name": "孙编辑", "unit": "cbeh", "roles": ["editor"]})
    assert r.status_code == 200
    token = link_token(r.get_data(as_text=True))
    dup = post_form(client, "/people", {"username": "ed9", "name": "孙编辑", "unit": "cbeh", "roles": ["editor"]})
    assert dup.status_code == 409 and "已被使用" in dup.get_data(as_text=True)
    # Roles: editor -> editor + reviewer.
    r = post_form(client, "/people/ed9", {"name": "孙编辑", "roles": ["editor", "reviewer"]})
    assert r.status_code == 302
    db.session.remove()
    u = db.session().scalars(select(User).where(User.username == "ed9")).one()
    assert u.role_names() == {"editor", "reviewer"}
    change = json.loads(_audit("user.roles_change")[-1].details)
    assert change["roles_before"] == ["editor"] and change["roles_after"] == ["editor", "reviewer"]
    # An admin cannot take away their own admin role.
    post_form(client, "/people/admin", {"name": "admin", "roles": ["editor"]})
    db.session.remove()
    assert db.session().scalars(select(User).where(User.username == "admin")).one().has_role("admin")
    # Password reset: the old password stops at once; the link sets a new one; the set-up link is void.
    r = post_form(client, "/people/r2/reset-password", {}, page="/people/r2")
    assert r.status_code == 200
    reset = link_token(r.get_data(as_text=True))
    sign_out(client)
    assert sign_in(client, "r2").status_code == 401
    assert post_form(client, f"/setup/{reset}", {"password": GOOD, "password2": GOOD}).status_code == 302
    assert sign_in(client, "r2", GOOD).status_code == 302
    assert _audit("user.password_reset") and _audit("user.password_set")
    sign_out(client)
    assert client.get(f"/setup/{token}").status_code == 200  # ed9's own link still works
    # Disable in the page.
    sign_in(client, "admin")
    assert post_form(client, "/people/r3/disable", {"reason": "离职"}, page="/people/r3").status_code == 302
    assert "已停用" in client.get("/people/r3").get_data(as_text=True)
    assert post_form(client, "/people/r3/enable", {}, page="/people/r3").status_code == 302
    assert _audit("user.enable")


def test_vault_status_page(world, app, client):
    sign_in(client, "admin")
    html = client.get("/vault").get_data(as_text=True)
    assert "保险库已解锁" in html and "当前主密钥版本" in html and "待轮换的凭据" in html
    assert 'data-testid="vault-menu"' in client.get("/").get_data(as_text=True)


def test_password_policy():
    from hub.security import password_problem

    assert "过于常见" in (password_problem("qwertyuiop", "x") or "")
    assert "过于常见" in (password_problem("Password123", "x") or "")
    assert "至少需要 10 个字符" in (password_problem("short", "x") or "")
    assert "用户名" in (password_problem("zhangwei2026", "zhangwei") or "")
    assert password_problem(GOOD, "zhangwei") is None


def test_api_token_of_the_link_is_single_use(world, app, client):
    body = world["api"]["admin"].post("/users", json={"username": "ed8", "unit": "cbeh",
                                                      "roles": ["editor"]}).get_json()
    token = body["setup_link"].rsplit("/setup/", 1)[1]
    assert post_form(client, f"/setup/{token}", {"password": GOOD, "password2": GOOD + "x"}).status_code == 422
    assert post_form(client, f"/setup/{token}", {"password": GOOD, "password2": GOOD}).status_code == 302
    assert client.post(f"/setup/{token}", data={"password": GOOD, "password2": GOOD,
                                                "csrf_token": csrf(client)}).status_code == 404
    # A fresh token for the same person (reset) makes ed8 use it; the API sees the new user.
    assert Api(client, world["api"]["admin"].token).get("/posts").status_code == 200
