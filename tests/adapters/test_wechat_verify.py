"""Credential verification of the WeChat adapter against the simulator's app settings: each answer an
operator meets when connecting a real account is reported in Chinese with what to do."""

from __future__ import annotations

import pytest
import requests
from support import serving

from adapters.simulators.wechat import make_server
from adapters.wechat import WeChatAdapter


@pytest.fixture
def base():
    with serving(make_server) as url:
        yield url


def _app(base: str, **settings) -> None:
    requests.post(base + "/_sim/apps", json={"appid": "wx_v", "secret": "sec", **settings},
                  timeout=5).raise_for_status()


def _verify(base: str, **creds: str) -> tuple[bool, str]:
    return WeChatAdapter(base, {"app_id": "wx_v", "app_secret": "sec", **creds}, None).verify_credentials()


def test_ip_not_on_the_allow_list_names_the_ip_to_add(base):
    _app(base, ip_whitelist=["10.20.30.40"])
    ok, message = _verify(base)
    assert not ok
    assert "40164" in message and "127.0.0.1" in message and "IP白名单" in message and "添加 127.0.0.1" in message


def test_unverified_account_is_told_to_get_verified(base):
    _app(base, verified=False)
    ok, message = _verify(base)
    assert not ok and "48001" in message and "微信认证" in message


def test_wrong_secret_says_where_to_reset_it(base):
    _app(base)
    ok, message = _verify(base, app_secret="wrong")
    assert not ok and "40125" in message and "AppSecret" in message and "基本配置" in message


def test_valid_credentials_name_the_mass_send_quota(base):
    _app(base, type="subscription")
    ok, message = _verify(base, account_type="subscription")
    assert ok and "订阅号每天只能群发 1 次" in message
    ok, message = _verify(base)
    assert ok and "未设置公众号类型" in message
    ok, message = _verify(base, account_type="premium")
    assert ok and "公众号类型设置无效" in message
