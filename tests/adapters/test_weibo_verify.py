"""Weibo credential verification: an invalid or expired token says what the administrator must do."""

from __future__ import annotations

import pytest
import requests
from support import serving

from adapters.simulators.weibo import make_server
from adapters.weibo import WeiboAdapter


@pytest.fixture
def base():
    with serving(make_server) as url:
        yield url


def test_invalid_and_expired_tokens_say_how_to_get_a_five_year_token(base):
    ok, message = WeiboAdapter(base, {"access_token": "not-a-token", "safe_url": "https://www.gov.cn/"}
                               ).verify_credentials()
    assert not ok and "21332" in message and "重新授权" in message and "5 年" in message
    r = requests.post(base + "/_sim/apps", json={"appid": "wb_v", "secret": "s"}, timeout=5)
    token = r.json()["access_token"]
    requests.post(base + "/_sim/expire_tokens", timeout=5).raise_for_status()
    ok, message = WeiboAdapter(base, {"access_token": token, "safe_url": "https://www.gov.cn/"}).verify_credentials()
    assert not ok and "21327" in message and "应用所有者" in message
