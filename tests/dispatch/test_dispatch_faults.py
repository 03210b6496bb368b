"""Fault injection with real `hub worker` processes against the WeChat simulator.

Busy answers (30%), answers lost after the platform acted (15%), a worker killed with SIGKILL
mid-run and a fresh one started, Redis restarted: every dispatch ends published, failed or
unconfirmed-with-reason, and the simulator never holds two publications of one dispatch.

The Redis restart uses a private ``redis-server`` started by the test on a free port (the same
on the embedded default and on CI's real Redis, whose shared server the test must not restart).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from typing import Any

import pytest
from dispatch_helpers import (
    approve_post,
    assert_no_duplicates,
    dispatches,
    kill_worker,
    settled,
    start_worker,
    stop_worker,
)
from sqlalchemy import select
from support import wait_for

from hub.db import db

# Unconfirmed dispatches alert their admins after 15 s here (default 120 s), so a run that leaves one
# unconfirmed settles well inside the wait even on a loaded machine.
FAST = {"HUB_DISPATCH_LEASE": "6", "HUB_SWEEP_SECONDS": "2", "HUB_PENDING_GRACE": "4", "HUB_UNCONFIRMED_ALERT": "15"}


def _accounts(factory: Any, world: dict[str, Any], n: int) -> list[int]:
    ids = list(world["accounts"])
    for i in range(n):
        world["sim"].register(f"wx_fault_{i}", f"secret-fault-{i}")
        acc = factory.account("cbeh", f"陈巴尔虎旗政务{i}", world["sim"].base, appid=f"wx_fault_{i}",
                              secret=f"secret-fault-{i}", is_main=False, justification="乡镇政务号")
        ids.append(acc.id)
    return ids


def _running_attempt_of(app: Any, pid: int) -> int | None:
    from hub.models import DispatchAttempt

    with app.app_context():
        s = db.session()
        row = s.scalars(select(DispatchAttempt.id).where(
            DispatchAttempt.outcome == "running", DispatchAttempt.kind == "publish",
            DispatchAttempt.worker.like(f"%:{pid}"))).first()
        s.rollback()
        db.session.remove()
        return row


def _attempt_outcome(app: Any, attempt_id: int) -> str:
    from hub.models import DispatchAttempt

    with app.app_context():
        s = db.session()
        out = s.get(DispatchAttempt, attempt_id).outcome
        s.rollback()
        db.session.remove()
        return out


def _check_final(app: Any, world: dict[str, Any], post_ids: list[int]) -> list[Any]:
    try:
        rows = wait_for(lambda: settled(app, post_ids), timeout=240, interval=0.5)
    except AssertionError:
        stuck = [(d.id, d.status, d.stage, d.claim, d.alerted_at, d.error) for d in dispatches(app, post_ids)]
        raise AssertionError(f"dispatches not settled within 240 s: {stuck}") from None
    world["sim"].faults()
    assert_no_duplicates(world["sim"].state(), rows)
    for d in rows:
        assert d.status in ("published", "failed", "unconfirmed"), (d.id, d.status)
        if d.status != "published":
            assert d.error, f"dispatch {d.id} {d.status} without a reason"
    assert sum(d.status == "published" for d in rows) >= len(rows) // 2, [(d.status, d.error) for d in rows]
    return rows


def test_busy_drops_and_a_worker_killed_mid_run(app, world, factory, instance):
    accounts = _accounts(factory, world, 4)
    world["sim"].faults(busy_rate=0.3, drop_after_commit_rate=0.15, latency_ms=25, seed=20260501)
    post_ids = [approve_post(world["api"], accounts, title=f"关于冬季安全生产的第{i + 1}号通知")
                for i in range(2)]
    a = start_worker(instance, "worker-a", **FAST)
    b = start_worker(instance, "worker-b", **FAST)
    c = None
    try:
        victim = wait_for(lambda: _running_attempt_of(app, a.pid), timeout=60, interval=0.05)
        kill_worker(a)  # SIGKILL, mid-run: it holds a dispatch in 'sending'
        held = _attempt_outcome(app, victim) == "running"
        c = start_worker(instance, "worker-c", **FAST)
        rows = _check_final(app, world, post_ids)
        if held:  # the dead worker's attempt was taken over, not left hanging
            assert _attempt_outcome(app, victim) == "lost"
    finally:
        for p in (a, b, c):
            if p is not None:
                stop_worker(p)
    assert len(rows) == len(accounts) * 2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivateRedis:
    def __init__(self, port: int) -> None:
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                                      "--save", "", "--appendonly", "no"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        client = redis.Redis(port=self.port)
        wait_for(lambda: _ping(client), timeout=10, interval=0.1)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def _ping(client: Any) -> bool:
    try:
        return bool(client.ping())
    except Exception:
        return False


@pytest.fixture
def private_redis(instance: dict[str, str], monkeypatch: pytest.MonkeyPatch):
    """A redis-server of this test's own (requested before ``app`` so the instance uses it)."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server binary not installed: the Redis restart case needs a private server")
    server = PrivateRedis(_free_port())
    server.start()
    url = f"redis://127.0.0.1:{server.port}/0"
    monkeypatch.setenv("HUB_REDIS_URL", url)
    instance["HUB_REDIS_URL"] = url
    yield server
    server.stop()


def test_redis_restarted_mid_run(private_redis, app, world, factory, instance):
    assert app.config["HUB_REDIS_URL"] == instance["HUB_REDIS_URL"]
    accounts = _accounts(factory, world, 4)
    world["sim"].faults(busy_rate=0.3, drop_after_commit_rate=0.15, latency_ms=25, seed=77)
    post_ids = [approve_post(world["api"], accounts, title=f"关于防汛备汛工作的第{i + 1}号通知")
                for i in range(2)]
    workers = [start_worker(instance, "worker-r1", **FAST), start_worker(instance, "worker-r2", **FAST)]
    try:
        wait_for(lambda: any(d.status == "published" for d in dispatches(app, post_ids)), timeout=60)
        private_redis.stop()  # every queued and scheduled job is gone with it
        time.sleep(2)
        private_redis.start()
        _check_final(app, world, post_ids)
        assert all(p.poll() is None for p in workers), "a worker exited when Redis went away"
    finally:
        for p in workers:
            stop_worker(p)
