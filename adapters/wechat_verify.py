"""Credential verification of a WeChat account: what an administrator must do, in Chinese.

``verify`` fetches an access token (``stable_token``) and then makes one harmless read that only
a verified (认证) account may make (``freepublish/batchget`` of one item, without content), so
the answers an operator meets when setting up a real account are all reported with what to do:

* 40164 — the worker's outbound IP is not on the account's IP allow-list (the IP WeChat saw is
  named, to be added under 设置与开发 → 基本配置 → IP白名单);
* 48001 — the account is not verified / has no permission for 发表 and 群发;
* 40125 / 40013 — wrong AppSecret / AppID;
* 40001 / 40014 / 42001 — the token was refused even after fetching a new one.
"""

from __future__ import annotations

import re
from typing import Any

import requests

from . import wechat_masssend
from .base import PlatformError

_IP = re.compile(r"invalid ip\s+([0-9A-Fa-f:.]+)")

ADVICE = {
    40125: ("AppSecret 无效（40125）：请公众号管理员登录公众平台，在“设置与开发—基本配置”核对或重置 AppSecret，"
            "然后在本账号的凭据中更新（重置后旧的 AppSecret 立即失效）"),
    40013: "AppID 无效（40013）：请核对凭据中的 AppID（开发者ID）是否为该公众号的 AppID",
    48001: ("公众号未认证或没有发表/群发接口权限（48001）：发表和群发接口只对已认证的公众号开放。"
            "请在公众平台“设置—微信认证”完成认证（政府及事业单位可申请认证），"
            "并确认 AppID 属于该已认证的公众号"),
    40001: ("访问令牌无效（40001），重新获取后仍被拒绝：请确认 AppSecret 没有在公众平台被重置，"
            "且没有其他系统以强制刷新方式获取该公众号的令牌；核对后重新验证"),
    40014: "访问令牌不合法（40014），重新获取后仍被拒绝：请核对 AppID 与 AppSecret 是否属于同一公众号",
    42001: ("访问令牌已过期（42001），重新获取后仍被拒绝：请检查发布中心服务器的系统时间，"
            "并确认没有其他系统强制刷新该公众号的令牌"),
}


def ip_message(errmsg: str | None) -> str:
    """40164 in words, naming the IP WeChat saw (the one to add to the allow-list)."""
    m = _IP.search(errmsg or "")
    ip = m.group(1).rstrip(",.") if m else ""
    shown = f"（{ip}）" if ip else ""
    add = f"添加 {ip}" if ip else "添加发布中心工作进程的固定出口 IP"
    return (f"调用 IP{shown}不在公众号的 IP 白名单内（40164）：请公众号管理员登录公众平台，"
            f"在“设置与开发—基本配置—IP白名单”中{add}，然后重新验证")


def advice(error: PlatformError) -> str:
    """The zh-CN message an administrator acts on for a failed verification."""
    if error.code == 40164:
        return error.message  # already names the IP (adapters/wechat.py ``_error``)
    try:
        return ADVICE.get(int(error.code), error.message)
    except (TypeError, ValueError):
        return error.message


def verify(adapter: Any) -> tuple[bool, str]:
    try:
        client = adapter._client()
        client.fetch_access_token(force_refresh=False)
        adapter._call(client, "post", "freepublish/batchget", mutating=False,
                      data={"offset": 0, "count": 1, "no_content": 1})
    except PlatformError as exc:
        return False, advice(exc)
    except Exception as exc:  # wechatpy's own exception for the token call, or the transport
        from wechatpy.exceptions import WeChatClientException

        if isinstance(exc, WeChatClientException):
            return False, advice(adapter._error(exc))
        if isinstance(exc, requests.ConnectionError | requests.Timeout):
            return False, "无法连接微信平台，请检查接口地址和发布中心服务器的出网连接"
        raise
    raw = adapter.credentials.get("account_type")
    quota = wechat_masssend.quota_for(wechat_masssend.account_type(raw))
    if quota is not None:
        note = f"；公众号类型：{quota.describe()}"
    elif raw:
        note = f"；但公众号类型设置无效（{raw[:20]}）：应为 subscription（订阅号）或 service（服务号）"
    else:
        note = "；未设置公众号类型（订阅号/服务号）：群发前无法核对群发次数"
    return True, "凭据有效：已成功获取访问令牌，公众号已认证，可以发表和群发" + note
