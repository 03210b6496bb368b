"""WeChat customer-service messages (客服消息): the answer to a follower, within WeChat's 48-hour window.

``message/custom/send`` (``{"touser", "msgtype": "text", "text": {"content"}}``) reaches a follower only
within 48 hours of their last interaction with the account (a message, a menu click, ...); outside it
WeChat answers 45015 ("response out of time limit or subscription is canceled"), raised here as
:class:`OutsideWindow` so the hub can publish the answer on the public page instead.
"""

from __future__ import annotations

from typing import Any

from .base import PlatformError

DEFAULT_API_BASE = "https://api.weixin.qq.com"


class OutsideWindow(PlatformError):
    """45015: the follower has not interacted with the account in the last 48 hours."""


def send_custom_text(credentials: dict[str, str], openid: str, text: str, *,
                     api_base: str | None = None, token_cache: Any = None) -> None:
    """Send ``text`` to the follower ``openid`` as a customer-service text message.

    ``credentials``: the account's (``app_id``, ``app_secret``). ``api_base``: the account's API base
    (else ``credentials["api_base"]``, else https://api.weixin.qq.com). ``token_cache``: the shared
    access-token cache (as the publishing adapter gets it), or None.
    Raises :class:`OutsideWindow` (45015) or :class:`PlatformError` (``retryable`` for busy -1 / 45009).
    """
    raise NotImplementedError
