"""Configuration from the environment, with the embedded default when nothing is set.

Every process of one instance (web, workers, CLI, demo) reads the same ``HUB_*``
variables, so they agree on the database, Redis, secret key and vault keys.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any


def instance_dir() -> Path:
    """The instance directory (``HUB_INSTANCE_DIR``, default ``./instance``), absolute."""
    return Path(os.environ.get("HUB_INSTANCE_DIR", "instance")).resolve()


def _secret_key(inst: Path) -> str:
    """``HUB_SECRET_KEY`` or a random key persisted in the instance dir (shared by all processes)."""
    env = os.environ.get("HUB_SECRET_KEY")
    if env:
        return env
    path = inst / "secret_key"
    if not path.exists():
        inst.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, secrets.token_hex(32).encode())
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
    return path.read_text().strip()


def _safe_secret_key(inst: Path) -> str:
    try:
        return _secret_key(inst)
    except FileExistsError:  # another process created it between exists() and open()
        return (inst / "secret_key").read_text().strip()


def load_config(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the Flask config dict from the environment plus ``overrides``."""
    overrides = dict(overrides or {})
    inst = Path(overrides.get("HUB_INSTANCE_DIR") or instance_dir()).resolve()
    cfg: dict[str, Any] = {
        "HUB_INSTANCE_DIR": str(inst),
        "HUB_DATABASE_URL": os.environ.get("HUB_DATABASE_URL") or f"sqlite:///{inst / 'hub.db'}",
        "HUB_REDIS_URL": os.environ.get("HUB_REDIS_URL") or "",
        "HUB_VAULT_KEYS": os.environ.get("HUB_VAULT_KEYS") or "",
        "HUB_HTTPS": os.environ.get("HUB_HTTPS", "") in ("1", "true", "yes"),
        "HUB_TRUSTED_PROXIES": int(os.environ.get("HUB_TRUSTED_PROXIES", "0") or 0),
        "HUB_QUEUE": os.environ.get("HUB_QUEUE", "hub"),
        "HUB_LOGIN_LIMIT": os.environ.get("HUB_LOGIN_LIMIT", "10 per minute;50 per hour"),
        "HUB_API_LIMIT": os.environ.get("HUB_API_LIMIT", "1200 per minute"),
        # Credentials: rotation due after N days; replaced versions kept N days; reveals per user per hour.
        "HUB_CREDENTIAL_MAX_AGE_DAYS": os.environ.get("HUB_CREDENTIAL_MAX_AGE_DAYS", "90"),
        "HUB_CREDENTIAL_GRACE_DAYS": os.environ.get("HUB_CREDENTIAL_GRACE_DAYS", "7"),
        "HUB_REVEALS_PER_HOUR": os.environ.get("HUB_REVEALS_PER_HOUR", "5"),
        "WTF_CSRF_TIME_LIMIT": None,
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
        "JSON_AS_ASCII": False,
    }
    cfg.update(overrides)
    cfg["SESSION_COOKIE_SECURE"] = cfg["HUB_HTTPS"]
    cfg["REMEMBER_COOKIE_SECURE"] = cfg["HUB_HTTPS"]
    if not cfg.get("SECRET_KEY"):
        cfg["SECRET_KEY"] = _safe_secret_key(inst)
    return cfg
