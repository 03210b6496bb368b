"""TOTP second factor: required for admins and supervisors (HUB_REQUIRE_TOTP), enrolment with a
QR code and recovery codes, sign-in refused without a valid code, recovery codes once each;
session idle and absolute timeouts with a safe way back to the page asked for."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlsplit

import pyotp
from org_helpers import csrf, post_form, sign_in, sign_out
from sqlalchemy import select

from hub.db import db
from hub.models import AuditEntry, RecoveryCode, UserTotp


def _enrol(client) -> tuple[str, list[str]]:
    page = client.get("/me/security").get_data(as_text=True)
    assert "<svg" in page and "二次验证二维码" in page
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', page).group(1)
    wrong = post_form(client, "/me/security", {"code": "000000"}, page="/me/security")
    assert wrong.status_code == 302  # back to the page with the reason
    assert "验证码不正确" in client.get("/me/security").get_data(as_text=True)
    r = post_form(client, "/me/security", {"code": pyotp.TOTP(secret).now()}, page="/me/security")
    assert r.status_code == 200
    codes = re.findall(r"<li><code>([a-z0-9-]{19})</code></li>", r.get_data(as_text=True))
    assert len(codes) == 10 and len(set(codes)) == 10
    return secret, codes


def _code_step(client, code: str):
    return client.post("/login/code", data={"code": code, "csrf_token": csrf(client, "/login/code")})


def test_admin_must_enrol_then_cannot_sign_in_without_a_code(world, app, client):
    app.config["HUB_REQUIRE_TOTP"] = True
    r = sign_in(client, "admin")
    assert r.status_code == 302 and r.headers["Location"].endswith("/me/security")
    # Until enrolled, every page sends the admin to enrolment.
    assert client.get("/posts").headers["Location"].endswith("/me/security")
    secret, codes = _enrol(client)
    assert client.get("/posts").status_code == 200
    # The secret is sealed by the vault, never stored in clear.
    db.session.remove()
    row = db.session().scalars(select(UserTotp)).one()
    assert secret.encode() not in row.ciphertext and row.confirmed_at is not None
    sign_out(client)

    # Password right, no code: not signed in.
    r = sign_in(client, "admin")
    assert r.status_code == 302 and r.headers["Location"].endswith("/login/code")
    assert "/login" in client.get("/posts").headers["Location"]
    assert _code_step(client, "123456").status_code == 401
    assert "/login" in client.get("/posts").headers["Location"]
    # The next step's code (the one just used at enrolment is spent): signed in.
    nxt = pyotp.TOTP(secret).at(time.time() + 30)
    r = _code_step(client, nxt)
    assert r.status_code == 302
    assert client.get("/posts").status_code == 200
    sign_out(client)
    # The same code does not work twice.
    sign_in(client, "admin")
    assert _code_step(client, nxt).status_code == 401

    # Recovery codes: each works once.
    assert _code_step(client, codes[0].upper()).status_code == 302
    sign_out(client)
    sign_in(client, "admin")
    assert _code_step(client, codes[0]).status_code == 401
    assert _code_step(client, codes[1].replace("-", "")).status_code == 302
    assert "还剩 8 个" in client.get("/").get_data(as_text=True)
    db.session.remove()
    assert db.session().scalars(select(RecoveryCode).where(RecoveryCode.used_at.is_not(None))).all().__len__() == 2

    # Audited, without the secret or any code in the trail.
    s = db.session()
    actions = {e.action for e in s.scalars(select(AuditEntry))}
    assert {"user.totp_enrol", "user.recovery_code_used", "auth.login_failed", "auth.login"} <= actions
    for e in s.scalars(select(AuditEntry).where(AuditEntry.action.like("user.%"))):
        text = repr(e.details) + e.summary
        assert secret not in text and not any(c in text for c in codes)


def test_the_code_step_is_throttled_and_times_out(world, app, client):
    app.config["HUB_REQUIRE_TOTP"] = True
    app.config["HUB_LOGIN_LIMIT"] = "3 per minute"
    sign_in(client, "supervisor")
    _enrol(client)
    sign_out(client)
    sign_in(client, "supervisor")
    got = [_code_step(client, "000000").status_code for _ in range(4)]
    assert got[:3] == [401, 401, 401] and got[3] == 429
    # Another person is not affected.
    other = app.test_client()
    assert sign_in(other, "editor").status_code == 302


def test_an_editor_may_enrol_and_an_admin_resets_it(world, app, client):
    app.config["HUB_REQUIRE_TOTP"] = True
    assert sign_in(client, "editor").status_code == 302
    assert client.get("/posts").status_code == 200  # optional for editors
    _enrol(client)
    sign_out(client)
    assert sign_in(client, "editor").headers["Location"].endswith("/login/code")
    admin = app.test_client()
    sign_in(admin, "admin")
    secret, _codes = _enrol(admin)
    assert post_form(admin, "/people/editor/reset-totp", {}, page="/people/editor").status_code == 302
    assert "下次登录时需重新设置" in admin.get("/people/editor").get_data(as_text=True)
    fresh = app.test_client()
    assert sign_in(fresh, "editor").headers["Location"] == "/"
    assert any(e.action == "user.totp_reset" for e in db.session().scalars(select(AuditEntry)))


def test_vault_rotation_rewraps_second_factors(world, app, client):
    from hub.accounts.vault_admin import rotate

    app.config["HUB_REQUIRE_TOTP"] = True
    sign_in(client, "admin")
    secret, _codes = _enrol(client)
    sign_out(client)
    report = rotate(app)
    db.session.remove()
    assert db.session().scalars(select(UserTotp)).one().key_version == report.new_version
    sign_in(client, "admin")
    assert _code_step(client, pyotp.TOTP(secret).at(time.time() + 30)).status_code == 302


def _age_session(client, key: str, seconds: float) -> None:
    with client.session_transaction() as sess:
        sess[key] = time.time() - seconds


def test_idle_and_absolute_timeouts_return_to_the_page_asked_for(world, app, client):
    assert sign_in(client, "editor").status_code == 302
    assert client.get("/posts").status_code == 200
    _age_session(client, "seen_at", 31 * 60)
    r = client.get("/accounts?x=1")
    assert r.status_code == 302 and "/login?next=" in r.headers["Location"]
    assert parse_qs(urlsplit(r.headers["Location"]).query)["next"] == ["/accounts?x=1"]
    assert "较长时间未操作" in client.get(r.headers["Location"]).get_data(as_text=True)
    back = sign_in(client, "editor", next_="/accounts?x=1")
    assert back.status_code == 302 and back.headers["Location"] == "/accounts?x=1"
    # Absolute limit, however busy the session.
    _age_session(client, "auth_at", 12 * 3600 + 5)
    assert "/login" in client.get("/posts").headers["Location"]
    # next is kept safe: another site's address leads to the dashboard.
    for evil in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        r = sign_in(client, "editor", next_=evil)
        assert r.status_code == 302 and r.headers["Location"] == "/", evil
        sign_out(client)
    assert any(e.action == "auth.session_expired" for e in db.session().scalars(select(AuditEntry)))
