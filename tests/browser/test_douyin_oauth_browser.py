"""Playwright: an admin opens a 抖音 account page, clicks 授权, is sent to the 抖音 simulator's
authorisation page, agrees, comes back to the hub and sees the authorisation in place; after
``POST /_sim/expire_tokens`` and the daily token run the page says 需重新授权, and authorising again
through the same flow clears it (issue 14). At 1366×900 and at 390×844."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import requests
from browser_helpers import login

from hub import audit
from hub.db import db


def douyin_account(base: str) -> int:
    from hub.accounts.filing import approve_through_chain
    from hub.accounts.service import create_account, set_credentials

    with db.transaction() as s:
        token = audit.current_actor.set(audit.Actor.system("test"))
        try:
            acc = create_account(s, None, {"platform": "douyin", "name": "陈巴尔虎旗发布抖音号", "unit": "cbeh",
                                           "api_base": base})
            set_credentials(s, None, acc, {"client_key": "dy_cbeh", "client_secret": "dy-secret-cbeh"})
            approve_through_chain(s, acc)
            return int(acc.id)
        finally:
            audit.current_actor.reset(token)


def authorise(page: Any, sim_base: str, hub_base: str, account_id: int) -> None:
    """授权 on the account page → the simulator's page → 同意授权 → back on the account page."""
    page.click("#authorize")
    page.wait_for_url(lambda url: url.startswith(sim_base + "/platform/oauth/connect"))
    assert "授权应用 dy_cbeh" in page.inner_text("h1")
    page.click("#approve")
    page.wait_for_url(f"{hub_base}/accounts/{account_id}")


@pytest.mark.parametrize("size", [(1366, 900), (390, 844)], ids=["desktop", "phone"])
def test_admin_authorises_a_douyin_account_and_re_authorises_after_expiry(app, world, live_server, page,
                                                                         size) -> None:
    from adapters.simulators import douyin as douyin_sim
    from hub.accounts import jobs

    width, height = size
    server = douyin_sim.make_server("127.0.0.1", 0)
    sim_base = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        requests.post(sim_base + "/_sim/apps", json={"appid": "dy_cbeh", "secret": "dy-secret-cbeh"},
                      timeout=5).raise_for_status()
        account_id = douyin_account(sim_base)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.set_viewport_size({"width": width, "height": height})
        login(page, live_server, "admin")
        page.goto(f"{live_server}/accounts/{account_id}")
        assert "尚未授权" in page.inner_text("#oauth-status")
        assert page.is_visible("#authorize")

        authorise(page, sim_base, live_server, account_id)
        assert "授权成功" in page.inner_text("main")
        assert "已授权" in page.inner_text("#oauth-status")
        assert page.locator("#reauthorise").count() == 0
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1

        # The platform shortens the authorisation: one day of refresh life, no renewal left.
        requests.post(sim_base + "/_sim/expire_tokens", json={}, timeout=5).raise_for_status()
        assert jobs.run(app) == {"alerted": 1}
        page.goto(f"{live_server}/accounts/{account_id}")
        assert page.is_visible("#reauthorise")
        assert "需重新授权" in page.inner_text("#reauthorise")
        assert page.locator("#oauth-status").count() == 0
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1

        authorise(page, sim_base, live_server, account_id)
        assert page.locator("#reauthorise").count() == 0
        assert "已授权" in page.inner_text("#oauth-status")
        assert errors == []
    finally:
        server.shutdown()
        server.server_close()
        db.session.remove()
