"""Helpers shared by tests in every folder: `from support import ...`."""

from __future__ import annotations

import base64
import contextlib
import io
import random
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

PASSWORD = "test-password-123"


@contextlib.contextmanager
def serving(make_server: Callable[[str, int], Any]) -> Iterator[str]:
    """A platform simulator on a free loopback port, served from a thread for the block: its base URL."""
    server = make_server("127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class Api:
    def __init__(self, client: Any, token: str) -> None:
        self.client, self.token = client, token

    def _h(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get("/api/v1" + path, headers=self._h(), **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.client.post("/api/v1" + path, json=json, headers=self._h(), **kw)

    def patch(self, path: str, json: Any = None) -> Any:
        return self.client.patch("/api/v1" + path, json=json, headers=self._h())

    def put(self, path: str, json: Any = None) -> Any:
        return self.client.put("/api/v1" + path, json=json, headers=self._h())


ALL_CONFIRMATIONS = {"political": True, "legal": True, "policy": True, "secrecy": True, "wording": True}


def run_burst_worker(app: Any, timeout: float = 60) -> None:
    """Run a real RQ worker (same process, no fork) until the queue and scheduled jobs are done."""
    from rq import SimpleWorker
    from rq.registry import ScheduledJobRegistry

    from hub.queue import get_queue, get_redis

    q = get_queue(app.config)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        SimpleWorker([q], connection=get_redis(app.config)).work(burst=True, with_scheduler=True,
                                                                   logging_level="WARNING")
        sched = ScheduledJobRegistry(queue=q)
        if len(q) == 0 and sched.count == 0:
            return
        time.sleep(0.3)
        # Move due scheduled jobs onto the queue (the scheduler does this in a long-running worker).
        for job_id in sched.get_jobs_to_schedule(int(time.time()) + 1):
            job = q.fetch_job(job_id)
            if job is not None:
                q._enqueue_job(job)  # noqa: SLF001
                sched.remove(job)
    raise AssertionError("worker did not drain the queue in time")


def wait_for(predicate: Any, timeout: float = 30, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last: {last!r})")


def shanghai_day(iso_utc: str) -> str:
    """The Asia/Shanghai calendar date (YYYY-MM-DD) of an API timestamp such as '2026-11-26T16:30:00Z'."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(iso_utc.replace("Z", "+00:00")).astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()


def photo(kb: int = 300, seed: int = 1) -> bytes:
    """A JPEG of about ``kb`` KB (noise compresses badly, like a real photo's detail)."""
    from PIL import Image

    rnd = random.Random(seed)
    side = 200
    while True:
        img = Image.frombytes("RGB", (side, side), rnd.randbytes(side * side * 3))
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=90)
        if buf.tell() >= kb * 1024:
            return buf.getvalue()
        side += 40


def data_url(data: bytes, mime: str = "image/jpeg") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"
