"""Apps (公众号) registered on the WeChat simulator, with the account settings the docs describe.

* ``type``: ``"subscription"`` (订阅号) or ``"service"`` (服务号, the default); it
  decides the mass-send quota.
* ``verified`` (default true): an unverified account gets 48001 "api
  unauthorized" from ``freepublish/*`` (发布能力 is 仅认证) and ``message/mass/*``.
* ``ip_whitelist`` (default none): when set, a token or API call from an address
  not on it gets 40164 "invalid ip x.x.x.x, not in whitelist". Entries are IP
  addresses or networks (``10.0.0.0/8``); IPv4-mapped IPv6 callers match their IPv4.
* ``material_cap`` (default none): the most permanent materials the app may hold
  at once; ``material/add_material`` beyond it gets 45034 "media file count is out
  of limit" (the code of WeChat's global return-code table; the docs give the
  real caps as 100,000 图文/图片 and 1,000 other materials).
* server settings (服务器配置, :mod:`adapters.simulators.wechat_callback`): ``callback_url``,
  ``token`` and, for 安全模式, ``encoding_aes_key``; ``original_id`` (default ``gh_`` + a hash of
  the appid) is the account's ``ToUserName``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from adapters.simulators.wechat_callback import CALLBACK_SETTINGS, check_callback_settings

__all__ = ["APP_TYPES", "App", "check_app_settings", "ip_allowed"]

APP_TYPES = ("subscription", "service")


@dataclass
class App:
    """One registered app and its settings."""

    appid: str
    secret: str
    type: str = "service"
    verified: bool = True
    ip_whitelist: list[str] | None = None
    material_cap: int | None = None
    basic_token: str | None = None
    stable_token: str | None = None
    callback_url: str | None = None
    token: str | None = None
    encoding_aes_key: str | None = None
    original_id: str | None = None

    def settings(self) -> dict[str, Any]:
        """The app as ``GET /_sim/apps`` lists it (no secret)."""
        return {
            "appid": self.appid,
            "type": self.type,
            "verified": self.verified,
            "ip_whitelist": list(self.ip_whitelist) if self.ip_whitelist is not None else None,
            "material_cap": self.material_cap,
            "callback_url": self.callback_url,
            "safe_mode": bool(self.encoding_aes_key),
        }


def check_app_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Validate the optional settings of ``POST /_sim/apps``; raises ValueError with the reason."""
    unknown = set(settings) - {"type", "verified", "ip_whitelist", "material_cap", *CALLBACK_SETTINGS}
    if unknown:
        raise ValueError(f"unknown app setting(s): {', '.join(sorted(unknown))}")
    checked: dict[str, Any] = check_callback_settings(settings)
    if "type" in settings:
        if settings["type"] not in APP_TYPES:
            raise ValueError('type must be "subscription" or "service"')
        checked["type"] = settings["type"]
    if "verified" in settings:
        if not isinstance(settings["verified"], bool):
            raise ValueError("verified must be true or false")
        checked["verified"] = settings["verified"]
    if "ip_whitelist" in settings:
        entries = settings["ip_whitelist"]
        if entries is not None:
            if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
                raise ValueError("ip_whitelist must be a list of IP addresses (or null)")
            entries = [e.strip() for e in entries]
            for entry in entries:
                try:
                    ipaddress.ip_network(entry, strict=False)
                except ValueError:
                    raise ValueError(f"ip_whitelist: {entry!r} is not an IP address or network") from None
        checked["ip_whitelist"] = entries
    if "material_cap" in settings:
        cap = settings["material_cap"]
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 0):
            raise ValueError("material_cap must be a non-negative integer (or null)")
        checked["material_cap"] = cap
    return checked


def ip_allowed(app: App, remote_addr: str) -> tuple[bool, str]:
    """Whether a caller at ``remote_addr`` passes the app's allow-list; also the address as WeChat names it."""
    try:
        addr: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(remote_addr)
    except ValueError:
        return app.ip_whitelist is None, remote_addr
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    if app.ip_whitelist is None:
        return True, str(addr)
    return any(addr in ipaddress.ip_network(e, strict=False) for e in app.ip_whitelist), str(addr)
