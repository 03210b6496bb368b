"""``hub worker``: an RQ worker with the scheduler, plus the dispatch sweeper."""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask
from rq import Worker

from .jobs import set_app
from .queue import get_queue, get_redis

SWEEP_SECONDS = 10
log = logging.getLogger(__name__)


def _sweeper(app: Flask, stop: threading.Event) -> None:
    from .jobs.publish import sweep

    client = get_redis(app.config)
    while not stop.wait(SWEEP_SECONDS):
        try:
            # One sweeper at a time across all workers.
            if client.set("hub:sweeper", "1", nx=True, ex=SWEEP_SECONDS - 1):
                sweep()
        except Exception:
            log.warning("sweep failed", exc_info=True)


def run_worker(app: Flask, burst: bool = False) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    set_app(app)
    q = get_queue(app.config)
    stop = threading.Event()
    if not burst:
        threading.Thread(target=_sweeper, args=(app, stop), daemon=True, name="hub-sweeper").start()
    else:
        from .jobs.publish import sweep

        sweep()
    try:
        Worker([q], connection=get_redis(app.config)).work(with_scheduler=True, burst=burst,
                                                           logging_level="INFO")
    finally:
        stop.set()
        time.sleep(0)
