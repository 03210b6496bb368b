"""Registry of platform adapters: a plain dict and ``register`` (as redash's query runners).

A class whose ``enabled()`` is false is remembered as disabled, not registered: asking for
its platform gives a clean :class:`UnknownPlatform` error that says so.
"""

from __future__ import annotations

import importlib
import threading

from .base import Adapter, AdapterUnavailable

ADAPTERS: dict[str, type[Adapter]] = {}
DISABLED: dict[str, str] = {}  # platform -> zh-CN label of a disabled adapter

#: Modules of the built-in adapters (each ends with ``register(TheClass)``).
BUILTIN = ("adapters.wechat", "adapters.weibo", "adapters.website", "adapters.manual", "adapters.douyin",
           "adapters.kuaishou")


class UnknownPlatform(AdapterUnavailable):
    pass


def register(cls: type[Adapter]) -> type[Adapter]:
    """Add an adapter class unless it reports itself disabled."""
    if cls.enabled():
        ADAPTERS[cls.platform] = cls
        DISABLED.pop(cls.platform, None)
    else:
        ADAPTERS.pop(cls.platform, None)
        DISABLED[cls.platform] = cls.label or cls.platform
    return cls


def get_adapter(platform: str) -> type[Adapter]:
    """The adapter class of ``platform``; :class:`UnknownPlatform` (zh-CN message) if none."""
    _load_builtin()
    try:
        return ADAPTERS[platform]
    except KeyError:
        pass
    if platform in DISABLED:
        raise UnknownPlatform(f"平台「{DISABLED[platform]}」的适配器已停用，暂不能发布到该平台")
    raise UnknownPlatform(f"平台 {platform!r} 没有可用的适配器")


def platforms() -> list[str]:
    """Names of the enabled platforms."""
    _load_builtin()
    return sorted(ADAPTERS)


_loaded = False
_load_lock = threading.RLock()  # re-entrant: a module being imported may ask the registry again


def _load_builtin() -> None:
    """Import the built-in adapters once. Marked loaded only after every module is imported, under a
    lock: a second thread of a fresh gunicorn worker waits for the first instead of finding it empty."""
    global _loaded
    if _loaded:
        return
    with _load_lock:
        if _loaded:
            return
        for name in BUILTIN:
            importlib.import_module(name)
        _loaded = True
