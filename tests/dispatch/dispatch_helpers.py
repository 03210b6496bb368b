"""Helpers for the dispatch-engine tests: posts through the real review, worker processes,
simulator doubles that lose one specific answer, and the no-duplicate check."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import select
from support import ALL_CONFIRMATIONS

from adapters.simulators.base import SimRequest, SimResponse
from adapters.simulators.wechat import WeChatSimulator, make_server
from hub.db import db


def approve_post(api: dict[str, Any], account_ids: list[int], **fields: Any) -> int:
    """Create a post as ``editor``, submit it and take the three 三审 steps; return its id."""
    body = {"title": "关于做好冬季供暖保障工作的通知", "content": "<p>各有关单位：请做好供暖保障。</p>",
            "summary": "供暖保障", "author": "旗政府办", "account_ids": account_ids}
    body.update(fields)
    r = api["editor"].post("/posts", json=body)
    assert r.status_code == 201, r.get_json()
    post = r.get_json()
    assert api["editor"].post(f"/posts/{post['id']}/submit").status_code == 200
    for reviewer in ("r1", "r2", "r3"):
        r = api[reviewer].post(f"/posts/{post['id']}/approve",
                               json={"revision_hash": post["revision"]["hash"], "checks": ALL_CONFIRMATIONS})
        assert r.status_code == 200, r.get_json()
    return int(post["id"])


def dispatches(app: Any, post_ids: list[int] | None = None) -> list[Any]:
    """Fresh rows of the dispatches (of ``post_ids``, or all)."""
    from hub.models import Dispatch

    with app.app_context():
        s = db.session()
        stmt = select(Dispatch).order_by(Dispatch.id)
        if post_ids is not None:
            stmt = stmt.where(Dispatch.post_id.in_(post_ids))
        rows = s.scalars(stmt).unique().all()
        out = [type("D", (), {c: getattr(d, c) for c in (
            "id", "post_id", "account_id", "status", "stage", "error", "url", "platform_ref", "draft_ref",
            "attempts", "claim", "alerted_at", "absent_at", "unconfirmed_since")})() for d in rows]
        s.rollback()
        db.session.remove()
        return out


def settled(app: Any, post_ids: list[int] | None = None) -> list[Any] | None:
    """The dispatches once every one is published, failed, or unconfirmed with a reason — the
    last only once reconciliation gave up asking for now and alerted the admins."""
    rows = dispatches(app, post_ids)
    done = all(d.status in ("published", "failed")
               or (d.status == "unconfirmed" and d.error and d.claim is None and d.alerted_at is not None)
               for d in rows)
    return rows if rows and done else None


def assert_no_duplicates(state: dict[str, Any], rows: list[Any]) -> None:
    """At most one publication per dispatch; exactly one for each published dispatch, whose URL
    it is; and no draft of a published dispatch left behind in the draft box.

    A dispatch is one post on one account: the tests give each post its own title, so a publication
    is known by (appid, title) — nothing the hub writes into a public field marks it."""
    counts: Counter[tuple[str, str]] = Counter()
    by_url: dict[str, tuple[str, str]] = {}
    for p in state["published"]:
        if p["status"] in ("published", "deleted", "publishing"):
            key = (p["appid"], p["title"])
            counts[key] += 1
            if p.get("url"):
                by_url[p["url"]] = key
    dupes = {k: v for k, v in counts.items() if v > 1}
    assert not dupes, f"duplicate publications: {dupes}"
    drafts = Counter((dr["appid"], dr["articles"][0]["title"]) for dr in state["drafts"])
    for d in rows:
        if d.status == "published":
            assert d.url in by_url, (d.id, d.url)
            assert drafts[by_url[d.url]] == 0, f"orphan draft left for published dispatch {d.id}"
    assert "hub.invalid" not in str(state), "a dispatch marker reached the platform"


class LosingWeChat(WeChatSimulator):
    """The WeChat simulator, except that the answers to chosen calls are lost once each
    (the platform acts, then the connection drops) — a deterministic drop_after_commit."""

    def __init__(self, lose: dict[str, int], **kw: Any) -> None:
        super().__init__(**kw)
        self.lose = dict(lose)
        self.seen: Counter[str] = Counter()

    def handle(self, request: SimRequest) -> SimResponse:
        response = super().handle(request)
        path = request.path.removeprefix("/cgi-bin/")
        with self.lock:
            self.seen[path] += 1
            failed = b'"errcode":' in response.body and b'"errcode":0' not in response.body
            if self.lose.get(path, 0) > 0 and response.status == 200 and not failed:
                self.lose[path] -= 1
                response.drop = True
        return response


class RunningSim:
    """A simulator core served on loopback for one test."""

    def __init__(self, sim: Any) -> None:
        self.server = make_server("127.0.0.1", 0, simulator=sim)
        self.sim = sim
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def register(self, appid: str, secret: str) -> None:
        requests.post(self.base + "/_sim/apps", json={"appid": appid, "secret": secret}, timeout=5).raise_for_status()

    def state(self) -> dict[str, Any]:
        return requests.get(self.base + "/_sim/state", timeout=5).json()

    def faults(self, **kw: Any) -> None:
        requests.post(self.base + "/_sim/faults", json=kw, timeout=5).raise_for_status()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_worker(instance: dict[str, str], name: str, **env: str) -> subprocess.Popen[bytes]:
    """A real ``hub worker`` process in its own session (so it can be killed with its children)."""
    full = dict(os.environ, **instance, **env)
    log = open(Path(instance["HUB_INSTANCE_DIR"]) / f"{name}.log", "ab")
    return subprocess.Popen([sys.executable, "-m", "hub", "worker"], env=full, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)


def kill_worker(p: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker and everything it started (its RQ scheduler), like a machine dying."""
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    p.wait(timeout=10)


def stop_worker(p: subprocess.Popen[bytes]) -> None:
    if p.poll() is not None:
        return
    try:
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        kill_worker(p)
    try:  # the scheduler child may outlive a warm shutdown
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
