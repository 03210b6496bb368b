"""Registry of platform adapters: a plain dict and ``register`` (as redash's query runners)."""

from __future__ import annotations

from .base import Adapter

ADAPTERS: dict[str, type[Adapter]] = {}


class UnknownPlatform(LookupError):
    pass


def register(cls: type[Adapter]) -> type[Adapter]:
    """Add an adapter class unless it reports itself disabled."""
    if cls.enabled():
        ADAPTERS[cls.platform] = cls
    return cls


def get_adapter(platform: str) -> type[Adapter]:
    _load_builtin()
    try:
        return ADAPTERS[platform]
    except KeyError:
        raise UnknownPlatform(f"平台 {platform!r} 没有可用的适配器") from None


def platforms() -> list[str]:
    _load_builtin()
    return sorted(ADAPTERS)


_loaded = False


def _load_builtin() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    from . import wechat  # noqa: F401  (registers itself)
