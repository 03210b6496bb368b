"""`kill -9` of a real `hub worker`: its forked RQ scheduler does not outlive it holding the scheduler
lock, and the next worker starts its own scheduler and publishes a scheduled post."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
from dispatch_helpers import approve_post, dispatches
from support import wait_for


def _start_worker(instance: dict[str, str], name: str) -> subprocess.Popen[bytes]:
    log = open(Path(instance["HUB_INSTANCE_DIR"]) / f"{name}.log", "wb")  # noqa: SIM115  (closed with the process)
    return subprocess.Popen([sys.executable, "-m", "hub", "worker"], env={**os.environ, **instance},
                            stdout=log, stderr=subprocess.STDOUT)


def _scheduler_child(p: subprocess.Popen[bytes]) -> psutil.Process | None:
    try:
        kids = psutil.Process(p.pid).children()
    except psutil.NoSuchProcess:
        return None
    return kids[0] if kids else None


def test_killed_worker_leaves_no_orphan_scheduler_and_the_next_one_schedules(app, world, instance):
    first = _start_worker(instance, "worker1")
    second = None
    try:
        child = wait_for(lambda: _scheduler_child(first), timeout=60)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        # The orphan scheduler goes away (and releases the lock) instead of running on.
        wait_for(lambda: not child.is_running() or child.status() == psutil.STATUS_ZOMBIE, timeout=20)
        second = _start_worker(instance, "worker2")
        wait_for(lambda: _scheduler_child(second), timeout=60)  # the new worker got the lock: its own scheduler
        at = (datetime.now(UTC) + timedelta(seconds=8)).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        post_id = approve_post(world["api"], world["accounts"][:1], title="关于调整公交线路的通告", publish_at=at)
        assert [d.status for d in dispatches(app, [post_id])] == ["pending"]
        wait_for(lambda: [d.status for d in dispatches(app, [post_id])] == ["published"], timeout=90)
    finally:
        for p in (first, second):
            if p is not None and p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
