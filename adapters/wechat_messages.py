"""WeChat customer-service messages (客服消息): the answer to a follower, within WeChat's 48-hour window.

``message/custom/send`` (``{"touser", "msgtype": "text", "text": {"content"}}``, sent with wechatpy's
``client.message.send_text``) reaches a follower only within 48 hours of their last interaction with the
account (a message, a menu click, ...); outside it WeChat answers 45015 ("response out of time limit or
subscription is canceled"), raised here as :class:`OutsideWindow` so the hub can publish the answer on
the public page instead. The client is the publishing adapter's (adapters/wechat.py): the account's API
base, ``stable_token`` through the shared token cache, a stale token refreshed once.

Busy (-1) and the minute limit (45011) are retried a few times here, then raised ``retryable``; the daily
limit (45009) is raised at once, ``retryable`` and ``quota``. A lost answer is ``ambiguous`` (the
message may have gone out).
"""

from __future__ import annotations

import time
from typing import Any

import requests
from wechatpy.exceptions import WeChatClientException

from .base import PlatformError
from .wechat import BACKOFF, CALL_RETRIES, WeChatAdapter

DEFAULT_API_BASE = WeChatAdapter.default_api_base
WINDOW_CODE = 45015
BUSY_CODES = {-1, 45009, 45011}

#: zh-CN reasons for the codes message/custom/send answers (the others come from adapters/wechat.py).
MESSAGES = {
    40003: "该粉丝的 OpenID 无效（不是本公众号的粉丝，或已取消关注），无法发送客服消息",
    43004: "该用户未关注公众号（或已取消关注），无法发送客服消息",
    44004: "客服消息内容为空",
    45002: "客服消息内容过长",
    45015: "该粉丝超过 48 小时未与公众号互动，微信不允许再向其发送客服消息；答复请在公开页面发布",
    45047: "客服消息下发条数已达上限（用户上次互动后可发送的条数已用完）",
    48001: "公众号未获得客服消息接口权限（客服接口只对已认证的公众号开放）",
}


class OutsideWindow(PlatformError):
    """45015: the follower has not interacted with the account in the last 48 hours."""

    def __init__(self, message: str = MESSAGES[WINDOW_CODE]) -> None:
        super().__init__(message, code=WINDOW_CODE)


def _api_base(credentials: dict[str, str], api_base: str | None) -> str:
    return (api_base or credentials.get("api_base") or DEFAULT_API_BASE).rstrip("/")


def _refine(err: PlatformError) -> PlatformError:
    code = err.code
    if code == WINDOW_CODE:
        return OutsideWindow()
    if code in BUSY_CODES:
        err.retryable = True
    if code in MESSAGES:
        err.message = MESSAGES[code]
        err.args = (err.message,)
    return err


def send_custom_text(credentials: dict[str, str], openid: str, text: str, *,
                     api_base: str | None = None, token_cache: Any = None) -> None:
    """Send ``text`` to the follower ``openid`` as a customer-service text message.

    ``credentials``: the account's (``app_id``, ``app_secret``). ``api_base``: the account's API base
    (else ``credentials["api_base"]``, else https://api.weixin.qq.com). ``token_cache``: the shared
    access-token cache (as the publishing adapter gets it), or None.
    Raises :class:`OutsideWindow` (45015) or :class:`PlatformError` (``retryable`` for busy -1 / 45009).
    """
    if not openid:
        raise PlatformError("缺少粉丝的 OpenID，无法发送客服消息", code="missing_openid")
    if not text.strip():
        raise PlatformError(MESSAGES[44004], code=44004)
    adapter = WeChatAdapter(_api_base(credentials, api_base), credentials, token_cache)
    client = adapter._client()
    refreshed = False
    tries = 0
    while True:
        tries += 1
        try:
            token = adapter._token(client)
        except PlatformError as exc:  # the token call itself: busy / quota / bad credentials
            raise _refine(exc) from None
        try:
            client.message.send_text(openid, text)
            return
        except WeChatClientException as exc:
            err = adapter._error(exc)
            if err.stale_token and not refreshed:
                refreshed = True
                client.drop_token(token)
                if token_cache is None:  # nothing to drop: ask for a fresh token explicitly
                    client.fetch_access_token(force_refresh=True)
                continue
        except (requests.ConnectionError, requests.Timeout) as exc:
            err = adapter._transport_error(exc, mutating=True)
        err = _refine(err)
        if err.code in (-1, 45011, "connect") and tries <= CALL_RETRIES:
            time.sleep(BACKOFF[min(tries - 1, len(BACKOFF) - 1)])
            continue
        raise err
