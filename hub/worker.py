"""``hub worker``: an RQ worker with the scheduler, plus the dispatch sweeper.

The worker runs jobs in its own process (RQ's ``SimpleWorker``: no fork per job), which keeps
a publish run cheap and means a killed worker takes its job with it — the sweeper of any
other worker then recovers the dispatch through reconciliation (hub/dispatch/jobs/reconcile.py).

The sweeper thread runs every ``HUB_SWEEP_SECONDS`` (default 10 s; one sweeper at a time
across all workers, by a short Redis key). If Redis goes away (a restart), the worker waits
and reconnects instead of exiting; the database still holds every dispatch, so the sweeper
re-enqueues what the lost queue held.
"""

from __future__ import annotations

import logging
import os
import threading
import time

import redis
from flask import Flask
from rq import SimpleWorker

from hub.config import get_settings
from hub.queue import get_queue, get_redis
from hub.runtime import set_app

log = logging.getLogger(__name__)


def sweep_seconds(app: Flask) -> float:
    """The sweeper's interval (``HUB_SWEEP_SECONDS``, at least 1 s)."""
    return max(1.0, get_settings(app.config).sweep_seconds)


def _sweeper(app: Flask, stop: threading.Event) -> None:
    from hub.accounts.vault_admin import purge_expired
    from hub.dispatch.jobs.sweep import sweep

    interval = sweep_seconds(app)
    while not stop.wait(interval):
        try:
            client = get_redis(app.config)
            # One sweeper at a time across all workers.
            if client.set("hub:sweeper", "1", nx=True, px=int(interval * 900)):
                sweep()
                purge_expired(app)  # previous credential versions past their grace period
                from hub.checks.jobs import schedule_daily

                schedule_daily(app)  # the daily inspection (巡检), once a day after HUB_RESCAN_AT
                from hub.oversight.jobs import schedule_daily as monitor_daily

                monitor_daily(app)  # the silence monitor and overdue rectifications, once a day
                from hub.accounts.jobs import schedule_daily as tokens_daily

                tokens_daily(app)  # 抖音/快手 tokens: refresh, renew, alert before the authorisation runs out
                from hub.metrics.jobs import schedule_daily as metrics_daily

                metrics_daily(app)  # yesterday's read counts and followers from the platforms, once a day
                from hub.interaction.jobs import sweep as interaction_sweep

                interaction_sweep(app)  # answers to send, Weibo comments, message deadlines, contact retention
                from hub.audit.remote import push

                push(app.extensions["hub_witness"])  # signed checkpoints to the remote witness; failures stay pending
                from hub.notify import jobs as notify_jobs

                notify_jobs.sweep(app)  # notification deliveries whose job was lost (Redis down at the commit)
                notify_jobs.schedule_daily(app)  # the daily digest and credential alerts, once a day
        except Exception:
            log.warning("sweep failed", exc_info=True)


#: The worker's pid, set before RQ forks its scheduler (the only fork a SimpleWorker makes).
_worker_pid = 0
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the forked scheduler: get SIGTERM when the worker dies, even by ``kill -9``.

    Without it the orphaned scheduler kept running and kept the scheduler lock, and the
    replacement worker started no scheduler of its own. On SIGTERM RQ's scheduler stops at its
    next loop and releases the lock. Linux only (prctl); elsewhere the lock expires by its TTL.
    """
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):
        return
    if _worker_pid and os.getppid() != _worker_pid:  # the worker died before prctl took effect
        os._exit(0)


def _after_fork_in_child() -> None:
    """RQ's scheduler runs in a forked child: never share the parent's database connections, and
    do not outlive the worker."""
    from hub.db import db

    if db.engine is not None:
        db.engine.dispose(close=False)
    if _worker_pid:  # a fork of `hub worker` (not of a test process that only imported this module)
        _die_with_parent()


def run_worker(app: Flask, burst: bool = False) -> None:
    """Run the worker until stopped (or, with ``burst``, until the queue is empty)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    global _worker_pid
    set_app(app)
    _worker_pid = os.getpid()
    os.register_at_fork(after_in_child=_after_fork_in_child)
    stop = threading.Event()
    if burst:
        from hub.dispatch.jobs.sweep import sweep

        sweep()
    else:
        threading.Thread(target=_sweeper, args=(app, stop), daemon=True, name="hub-sweeper").start()
    try:
        delay = 1.0
        while True:
            try:
                connection = get_redis(app.config)
                q = get_queue(app.config)
                worker = SimpleWorker([q], connection=connection)
                worker.work(with_scheduler=True, burst=burst, logging_level="INFO")
                return
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                if burst:
                    raise
                log.warning("Redis unreachable (%s); reconnecting in %.0f s", type(exc).__name__, delay)
                time.sleep(delay)
                delay = min(delay * 2, 10.0)
    finally:
        stop.set()
