"""抖音 (and 快手) OAuth from the account page and the token lifecycle, against the simulators over HTTP.

An admin presses 授权: the browser goes to the platform's authorisation page with a signed state, comes
back to the hub, which exchanges the code and keeps open_id and the tokens in the vault (never on a page
or in the audit trail). The daily token run refreshes tokens; after ``/_sim/expire_tokens`` (one day of
refresh life, no renewal left) it raises 需重新授权 on the account page and the 监测台 and tells the admins;
authorising again through the flow closes it."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from html import unescape
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import select
from support import PASSWORD

from hub.db import db


def csrf(client: Any, path: str) -> str:
    html = client.get(path).get_data(as_text=True)
    m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert m, html[:300]
    return m.group(1)


def login(client: Any, username: str) -> None:
    r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf(client, "/login")})
    assert r.status_code == 302


class Sim:
    def __init__(self, module: Any, appid: str, secret: str) -> None:
        self.server = module.make_server("127.0.0.1", 0)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.app = requests.post(self.base + "/_sim/apps", json={"appid": appid, "secret": secret}, timeout=5).json()

    def state(self) -> dict[str, Any]:
        return requests.get(self.base + "/_sim/state", timeout=5).json()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _account(platform: str, name: str, base: str, creds: dict[str, str]) -> int:
    from hub import audit
    from hub.accounts.filing import approve_through_chain
    from hub.accounts.service import create_account, set_credentials

    with db.transaction() as s:
        token = audit.current_actor.set(audit.Actor.system("test"))
        try:
            acc = create_account(s, None, {"platform": platform, "name": name, "unit": "cbeh", "api_base": base})
            set_credentials(s, None, acc, creds)
            approve_through_chain(s, acc)
            return int(acc.id)
        finally:
            audit.current_actor.reset(token)


@pytest.fixture
def douyin(app: Any, world: dict[str, Any]) -> Iterator[tuple[Sim, int]]:
    from adapters.simulators import douyin as douyin_sim

    sim = Sim(douyin_sim, "dy_cbeh", "dy-secret-cbeh")
    account_id = _account("douyin", "陈巴尔虎旗发布抖音号", sim.base,
                          {"client_key": "dy_cbeh", "client_secret": "dy-secret-cbeh"})
    yield sim, account_id
    sim.close()


def authorise(client: Any, account_id: int) -> str:
    """授权 on the account page, 同意授权 on the platform's page, back to the hub: the page it lands on."""
    page = f"/accounts/{account_id}"
    r = client.post(f"/accounts/{account_id}/oauth", data={"csrf_token": csrf(client, page)})
    assert r.status_code == 303, r.get_data(as_text=True)[:300]
    platform_page = requests.get(r.headers["Location"], timeout=5)
    assert platform_page.status_code == 200
    back = unescape(re.search(r'id="approve" href="([^"]+)"', platform_page.text).group(1))
    parts = urlsplit(back)
    assert parts.path == "/accounts/oauth/callback"
    r = client.get(f"{parts.path}?{parts.query}")
    assert r.status_code == 302 and r.headers["Location"].endswith(page)
    return client.get(page).get_data(as_text=True)


def _creds(account_id: int) -> dict[str, str]:
    from hub.accounts.service import decrypt_credentials, get_vault
    from hub.models import Account

    s = db.session()
    out = decrypt_credentials(s.get(Account, account_id), get_vault())
    s.rollback()
    return out


def _audit(action: str) -> list[tuple[str, str, str]]:
    from hub.models import AuditEntry

    s = db.session()
    rows = [(e.object_id, e.summary, e.details or "") for e in s.scalars(
        select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq))]
    s.rollback()
    return rows


def _all_audit_text() -> str:
    from hub.models import AuditEntry

    s = db.session()
    text = " ".join(f"{e.summary} {e.details}" for e in s.scalars(select(AuditEntry)))
    s.rollback()
    return text


def test_authorise_from_the_account_page_stores_tokens_in_the_vault_only(app, world, client, douyin):
    sim, account_id = douyin
    login(client, "admin")
    html = client.get(f"/accounts/{account_id}").get_data(as_text=True)
    assert 'id="authorize"' in html and "需重新授权" not in html
    html = authorise(client, account_id)
    assert "授权成功" in html, re.findall(r'class="flash[^"]*"[^>]*>(.*?)</div>', html, re.S)
    creds = _creds(account_id)
    assert creds["open_id"] == sim.app["open_id"]
    assert creds["access_token"].startswith("act.") and creds["refresh_token"].startswith("rft.")
    assert creds["refresh_renewals_left"] == "5" and creds["refresh_token_expires_at"].endswith("Z")
    assert len(sim.state()["authorisations"]) == 2  # the app's earlier user grant and this one
    for secret in (creds["access_token"], creds["refresh_token"], "dy-secret-cbeh"):
        assert secret not in html and secret not in _all_audit_text()
    assert _audit("account.oauth_authorised")
    # A forged or foreign state is refused, nothing stored.
    r = client.get("/accounts/oauth/callback?code=x&state=forged")
    assert r.status_code == 302
    assert "授权回调的 state 无效" in client.get(r.headers["Location"]).get_data(as_text=True)


def test_an_editor_cannot_authorise(app, world, client, douyin):
    _sim, account_id = douyin
    login(client, "editor")
    r = client.post(f"/accounts/{account_id}/oauth", data={"csrf_token": csrf(client, f"/accounts/{account_id}")})
    assert r.status_code in (302, 403, 404)
    assert "Location" not in r.headers or "oauth/connect" not in r.headers["Location"]


def test_expired_tokens_raise_reauthorisation_and_a_new_authorisation_clears_it(app, world, client, douyin):
    from hub.accounts import jobs

    sim, account_id = douyin
    login(client, "admin")
    authorise(client, account_id)
    assert jobs.run(app) == {"refreshed": 1}  # the daily refresh, no alert
    first = _creds(account_id)

    requests.post(sim.base + "/_sim/expire_tokens", json={}, timeout=5).raise_for_status()
    assert jobs.run(app) == {"alerted": 1}
    creds = _creds(account_id)
    assert creds["access_token"] != first["access_token"]  # refreshed (the refresh token still had a day)
    assert creds["refresh_renewals_left"] == "0"  # the platform refused a renewal (10020)
    html = client.get(f"/accounts/{account_id}").get_data(as_text=True)
    assert 'id="reauthorise"' in html and "需重新授权" in html
    alerts = _audit("account.token_alert")
    assert len(alerts) == 1 and alerts[0][0] == str(account_id)
    assert '"admin"' in alerts[0][2] and "重新授权" in alerts[0][1]
    assert jobs.run(app) == {"alert_open": 1}  # raised once, not every day
    supervisor = app.test_client()
    login(supervisor, "supervisor")
    board = supervisor.get("/monitor").get_data(as_text=True)
    assert "token-alert" in board and "需重新授权" in board

    html = authorise(client, account_id)
    assert 'id="reauthorise"' not in html
    assert _audit("account.token_alert_close")
    assert jobs.run(app) == {"refreshed": 1}
    assert _creds(account_id)["refresh_renewals_left"] == "5"


def test_renewal_before_the_refresh_token_runs_out(app, world, client, douyin):
    """A week before the refresh token ends, the daily run renews it (a renewal used, no alert)."""
    from hub.accounts import jobs

    sim, account_id = douyin
    login(client, "admin")
    authorise(client, account_id)
    before = _creds(account_id)
    # As on day 25 of the authorisation: five days of refresh life left, renewals still available.
    requests.post(sim.base + "/_sim/expire_tokens", json={"refresh_in": 5 * 86400, "renewals_left": 5,
                                                          "access": False}, timeout=5).raise_for_status()
    assert jobs.run(app) == {"refreshed": 1}
    after = _creds(account_id)
    assert after["refresh_token"] != before["refresh_token"] and after["refresh_renewals_left"] == "4"
    assert after["refresh_token_expires_at"] > before["refresh_token_expires_at"][:10]
    assert 'id="reauthorise"' not in client.get(f"/accounts/{account_id}").get_data(as_text=True)


def test_kuaishou_authorises_the_same_way(app, world, client):
    from adapters.simulators import kuaishou as kuaishou_sim
    from hub.accounts import jobs

    sim = Sim(kuaishou_sim, "ks_cbeh", "ks-secret-cbeh")
    try:
        account_id = _account("kuaishou", "陈巴尔虎旗发布快手号", sim.base,
                              {"client_key": "ks_cbeh", "client_secret": "ks-secret-cbeh"})
        login(client, "admin")
        authorise(client, account_id)
        assert _creds(account_id)["open_id"] == sim.app["open_id"]
        requests.post(sim.base + "/_sim/expire_tokens", json={}, timeout=5).raise_for_status()
        assert jobs.run(app) == {"alerted": 1}
        authorise(client, account_id)
        assert jobs.run(app) == {"refreshed": 1}
    finally:
        sim.close()


def test_the_worker_runs_the_token_check_daily_and_alerts(app, world, client, douyin, instance):
    """The real worker's sweeper runs the token check on its first sweep of the day."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "dispatch"))
    from dispatch_helpers import start_worker, stop_worker
    from support import wait_for

    sim, account_id = douyin
    login(client, "admin")
    authorise(client, account_id)
    requests.post(sim.base + "/_sim/expire_tokens", json={}, timeout=5).raise_for_status()
    worker = start_worker(instance, "worker-tokens", HUB_SWEEP_SECONDS="1")
    try:
        wait_for(lambda: _audit("account.token_alert"), timeout=60, interval=0.5)
    finally:
        stop_worker(worker)
    assert 'id="reauthorise"' in client.get(f"/accounts/{account_id}").get_data(as_text=True)
