"""Credentials: write-only status, generated console passwords shown once, grace-period
archive with rollback and destruction, reveal (re-entry, reason, rate limit, audit),
verify recorded, overdue list, and rotation tasks when a user is disabled."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from support import PASSWORD, Api

from hub.accounts.service import decrypt_credentials
from hub.cli import main
from hub.db import db
from hub.models import Account, AuditEntry, Credential, CredentialArchive, RotationTask, utcnow


def web_login(client: Any, username: str) -> None:
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 302


@pytest.fixture
def setup(world: dict[str, Any], factory: Any, client: Any) -> dict[str, Any]:
    factory.user("admin2", "cbeh", "admin")
    world["api"]["admin2"] = Api(client, factory.token("admin2"))
    return world


def _plain(app: Any, account_id: int) -> dict[str, str]:
    s = db.session()
    s.expire_all()
    return decrypt_credentials(s.get(Account, account_id), app.extensions["hub_vault"])


def test_rotate_console_password_shown_once_then_rollback(setup: dict[str, Any], app: Any) -> None:
    api, aid = setup["api"]["admin"], setup["accounts"][0]
    r = api.post(f"/accounts/{aid}/credentials/console_password/rotate")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    first = r.get_json()["password"]
    assert len(first) == 20 and any(c.isdigit() for c in first) and any(c.isupper() for c in first)
    assert r.get_json()["previous_kept_until"] is None
    acc = api.get(f"/accounts/{aid}").get_json()
    assert acc["credentials"]["console_password"]["set"] is True
    assert first not in str(acc)
    second = api.post(f"/accounts/{aid}/credentials/console_password/rotate").get_json()
    assert second["password"] != first and second["version"] == 2 and second["previous_kept_until"]
    assert _plain(app, aid)["console_password"] == second["password"]
    # Roll back to the previous version within the grace period.
    r = api.post(f"/accounts/{aid}/credentials/console_password/rollback")
    assert r.status_code == 200
    assert _plain(app, aid)["console_password"] == first
    # Platform-issued secrets are not generated here.
    r = api.post(f"/accounts/{aid}/credentials/app_secret/rotate")
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "not_a_password"
    assert api.post(f"/accounts/{aid}/credentials/nope/rotate").status_code == 404
    assert setup["api"]["editor"].post(f"/accounts/{aid}/credentials/console_password/rotate").status_code == 403


def test_grace_period_destruction(setup: dict[str, Any], app: Any) -> None:
    api, aid = setup["api"]["admin"], setup["accounts"][0]
    api.put(f"/accounts/{aid}/credentials", {"app_secret": "secret-main-2"})
    with db.transaction() as s:
        rows = s.query(CredentialArchive).filter_by(account_id=aid, field="app_secret").all()
        assert len(rows) == 1 and rows[0].destroy_after > utcnow() + timedelta(days=6)
        rows[0].destroy_after = utcnow() - timedelta(seconds=1)  # the grace period is over
    result = CliRunner().invoke(main, ["vault", "purge"])
    assert result.exit_code == 0, result.output
    assert "已销毁 1 个" in result.output
    with db.transaction() as s:
        assert s.query(CredentialArchive).count() == 0
        assert s.query(AuditEntry).filter_by(action="account.credential_destroy").count() == 1
    r = api.post(f"/accounts/{aid}/credentials/app_secret/rollback")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "no_previous_version"
    assert _plain(app, aid)["app_secret"] == "secret-main-2"
    # The worker's sweeper destroys expired versions the same way.
    from hub.accounts.vault_admin import purge_expired

    api.put(f"/accounts/{aid}/credentials", {"app_secret": "secret-main-3"})
    assert purge_expired(app) == 0
    with db.transaction() as s:
        s.query(CredentialArchive).one().destroy_after = utcnow() - timedelta(seconds=1)
    assert purge_expired(app) == 1


def test_reveal_requires_reentry_reason_and_is_limited(setup: dict[str, Any], app: Any) -> None:
    api, aid = setup["api"]["admin"], setup["accounts"][0]
    app.config["HUB_REVEALS_PER_HOUR"] = 3
    pw = api.post(f"/accounts/{aid}/credentials/console_password/rotate").get_json()["password"]
    url = f"/accounts/{aid}/credentials/console_password/reveal"
    assert api.post(url, {"password": PASSWORD}).status_code == 400
    assert api.post(url, {"reason": "登录后台"}).status_code == 400
    r = api.post(url, {"password": "wrong-password", "reason": "登录后台"})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "reauth_failed"
    assert pw not in r.get_data(as_text=True)
    r = api.post(url, {"password": PASSWORD, "reason": "登录后台修改菜单"})
    assert r.status_code == 200 and r.get_json()["value"] == pw and r.headers["Cache-Control"] == "no-store"
    # Not revealable / not set / not allowed.
    assert api.post(f"/accounts/{aid}/credentials/app_secret/reveal",
                    {"password": PASSWORD, "reason": "x"}).status_code == 403
    assert setup["api"]["supervisor"].post(url, {"password": PASSWORD, "reason": "x"}).status_code == 403
    assert setup["api"]["editor"].post(url, {"password": PASSWORD, "reason": "x"}).status_code == 403
    api.post(url, {"password": PASSWORD, "reason": "第三次"})
    r = api.post(url, {"password": PASSWORD, "reason": "第四次"})
    assert r.status_code == 429 and r.get_json()["error"]["code"] == "reveal_rate_limited"
    with db.transaction() as s:
        actions = [e.action for e in s.query(AuditEntry).filter(AuditEntry.action.like("account.credential_reveal%"))]
        details = " ".join(e.details for e in s.query(AuditEntry))
    assert actions.count("account.credential_reveal_denied") == 1
    assert actions.count("account.credential_reveal") == 2
    assert "登录后台修改菜单" in details and pw not in details


def test_verify_is_recorded(setup: dict[str, Any]) -> None:
    api, aid = setup["api"]["admin"], setup["accounts"][0]
    r = api.post(f"/accounts/{aid}/credentials/verify")
    assert r.get_json()["ok"] is True
    v = api.get(f"/accounts/{aid}").get_json()["verification"]
    assert v["ok"] is True and v["at"]
    api.put(f"/accounts/{aid}/credentials", {"app_secret": "wrong-secret"})
    assert api.post(f"/accounts/{aid}/credentials/verify").get_json()["ok"] is False
    assert api.get(f"/accounts/{aid}").get_json()["verification"]["ok"] is False


def test_overdue_credentials_listed(setup: dict[str, Any], client: Any) -> None:
    api, aid = setup["api"]["admin"], setup["accounts"][0]
    assert api.get("/accounts/credentials/overdue").get_json()["credentials"] == []
    with db.transaction() as s:
        cred = s.query(Credential).filter_by(account_id=aid, field="app_secret").one()
        cred.changed_at = utcnow() - timedelta(days=120)
    rows = api.get("/accounts/credentials/overdue").get_json()["credentials"]
    assert [(r["account_id"], r["field"]) for r in rows] == [(aid, "app_secret")]
    assert rows[0]["age_days"] >= 120
    assert setup["api"]["supervisor"].get("/accounts/credentials/overdue").get_json()["credentials"]
    assert setup["api"]["editor"].get("/accounts/credentials/overdue").get_json()["credentials"] == []
    acc = api.get(f"/accounts/{aid}").get_json()
    assert acc["credentials"]["app_secret"]["set"]
    web_login(client, "admin")
    page = client.get("/").get_data(as_text=True)
    assert 'id="overdue-credentials"' in page and "超过 90 天未更换" in page


def test_disabling_a_user_opens_rotation_tasks(setup: dict[str, Any]) -> None:
    api, aid = setup["api"]["admin"], setup["accounts"][0]
    api.post(f"/accounts/{aid}/credentials/console_password/rotate")
    result = CliRunner().invoke(main, ["user", "disable", "admin2", "--reason", "调离"])
    assert result.exit_code == 0, result.output
    assert "开启 1 个凭据轮换任务" in result.output
    with db.transaction() as s:
        tasks = s.query(RotationTask).all()
        assert [(t.account_id, t.field, t.status) for t in tasks] == [(aid, "console_password", "open")]
    assert setup["api"]["admin2"].get("/accounts").status_code == 401
    rows = api.get("/accounts/credentials/overdue").get_json()["credentials"]
    assert rows and "admin2" in rows[0]["reason"]
    assert api.get(f"/accounts/{aid}").get_json()["credentials"]["console_password"]["set"]
    # Rotating the credential closes the task.
    api.post(f"/accounts/{aid}/credentials/console_password/rotate")
    with db.transaction() as s:
        assert s.query(RotationTask).one().status == "done"
    assert api.get("/accounts/credentials/overdue").get_json()["credentials"] == []
    again = CliRunner().invoke(main, ["user", "disable", "admin2"])
    assert again.exit_code == 2 and "已被停用" in again.output
