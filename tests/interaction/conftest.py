"""Fixtures of the interaction tests: the hub served on loopback and the main account's callback in
safe mode on the WeChat simulator."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from interaction_helpers import AES_KEY, TOKEN

from hub.db import db


@pytest.fixture
def live(app: Any) -> Iterator[str]:
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def safe_mode(app: Any, world: dict[str, Any], live: str) -> dict[str, Any]:
    """The main account's callback in safe mode (安全模式), on the simulator and in the vault."""
    from hub.accounts.service import set_credentials
    from hub.models import Account

    account_id = world["accounts"][0]
    with db.transaction() as s:
        set_credentials(s, None, s.get(Account, account_id), {"callback_token": TOKEN, "encoding_aes_key": AES_KEY})
    db.session.remove()
    r = requests.post(world["sim"].base + "/_sim/apps", json={
        "appid": "wx_main", "secret": "secret-main", "callback_url": f"{live}/wechat/callback/{account_id}",
        "token": TOKEN, "encoding_aes_key": AES_KEY}, timeout=5)
    r.raise_for_status()
    return {**world, "account_id": account_id}
