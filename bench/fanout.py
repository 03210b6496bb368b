"""Fan-out benchmark of the dispatch engine (issue 5).

Usage:  .venv/bin/python bench/fanout.py [--accounts 200] [--workers 2]

One post, approved through 三审, to N WeChat accounts on the simulator (a separate
``hub simulate wechat`` process), published by ``--workers`` real ``hub worker`` processes on
a fresh instance (the embedded default unless HUB_DATABASE_URL / HUB_REDIS_URL are set).
Then the same platform calls per account (stable_token, material/add_material,
draft/add, freepublish/submit, freepublish/get polled on the same schedule) in a bare loop
of plain ``requests`` with the same concurrency (as many processes as workers), against a
fresh simulator.

Prints wall time, dispatches/s, and p50/p95 per dispatch for both; figures only.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PASSWORD = "bench-password-123"
CHECKS = {"political": True, "legal": True, "policy": True, "secrecy": True, "wording": True}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_simulator(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    p = subprocess.Popen([sys.executable, "-m", "hub", "simulate", "wechat", "--port", str(port)], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    import requests

    for _ in range(100):
        try:
            requests.get(base + "/_sim/state", timeout=1)
            return p, base
        except requests.RequestException:
            time.sleep(0.1)
    raise SystemExit("simulator did not start")


def stop(p: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        os.killpg(p.pid, signal.SIGKILL)  # RQ's scheduler child
    except ProcessLookupError:
        pass


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = max(0, min(len(values) - 1, int(round(q * (len(values) - 1)))))
    return values[k]


def cover_jpeg() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (300, 200), (180, 30, 30)).save(buf, "JPEG", quality=80)
    return buf.getvalue()


# -- the hub ------------------------------------------------------------------------------
def seed(app: Any, base: str, n: int) -> tuple[int, list[int]]:
    import requests

    from hub import audit
    from hub.accounts.filing import approve_through_chain
    from hub.accounts.service import create_account, set_credentials
    from hub.db import db
    from hub.org.service import create_unit, create_user
    from hub.posts.service import create_post, submit_post

    token = audit.current_actor.set(audit.Actor.system("bench"))
    try:
        with db.transaction() as s:
            create_unit(s, "nmg", "内蒙古自治区", None, "region")
            create_unit(s, "bench", "测试旗", "nmg", "banner")
            create_user(s, "sup", "nmg", ["supervisor"], PASSWORD, "自治区主管")
            editor = create_user(s, "editor", "bench", ["editor"], PASSWORD, "编辑")
            for r in ("r1", "r2", "r3"):
                create_user(s, r, "bench", ["reviewer"], PASSWORD, r)
        ids = []
        http = requests.Session()
        for i in range(n):
            appid, secret = f"wx_bench_{i:04d}", f"secret-{i:04d}"
            http.post(base + "/_sim/apps", json={"appid": appid, "secret": secret}, timeout=5).raise_for_status()
            with db.transaction() as s:
                acc = create_account(s, None, {"platform": "wechat", "name": f"测试政务号{i:04d}", "unit": "bench",
                                               "api_base": base, "is_main": i == 0,
                                               "justification": "" if i == 0 else "基层政务号"})
                set_credentials(s, None, acc, {"app_id": appid, "app_secret": secret})
                approve_through_chain(s, acc)
                ids.append(acc.id)
        with db.transaction() as s:
            post = create_post(s, s.merge(editor), {
                "title": "关于做好今冬明春安全生产工作的通知",
                "content": "<p>各苏木镇、各部门：</p><p>请认真做好今冬明春安全生产各项工作。</p>",
                "summary": "安全生产", "author": "旗政府办", "account_ids": ids})
            submit_post(s, s.merge(editor), post.id)
        return post.id, ids
    finally:
        audit.current_actor.reset(token)


def approve_all(app: Any, post_id: int) -> None:
    """Three reviewers approve; the last approval queues the dispatches after its commit."""
    from sqlalchemy import select

    from hub import audit
    from hub.approval.decisions import approve_post
    from hub.db import db
    from hub.models import Post, User

    for r in ("r1", "r2", "r3"):
        with db.transaction() as s:
            user = s.scalars(select(User).where(User.username == r)).one()
            token = audit.current_actor.set(audit.Actor.of(user))
            try:
                rev_hash = s.get(Post, post_id).current_revision.hash
                approve_post(s, user, post_id, {"revision_hash": rev_hash, "checks": CHECKS})
            finally:
                audit.current_actor.reset(token)


def run_hub(n: int, workers: int) -> dict[str, float]:
    inst = Path(tempfile.mkdtemp(prefix="hub-fanout-"))
    env = dict(os.environ, HUB_INSTANCE_DIR=str(inst), HUB_QUEUE=f"fanout-{os.getpid()}")
    os.environ.update(HUB_INSTANCE_DIR=str(inst), HUB_QUEUE=env["HUB_QUEUE"])
    sim, base = start_simulator(env)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        from rq import Worker
        from sqlalchemy import select

        from hub import create_app
        from hub.bootstrap import initialise
        from hub.db import db
        from hub.models import Dispatch, DispatchAttempt
        from hub.queue import get_redis

        app = create_app()
        with app.app_context():
            initialise(app)
            post_id, _ids = seed(app, base, n)
            log = open(inst / "workers.log", "ab")
            procs = [subprocess.Popen([sys.executable, "-m", "hub", "worker"], env=env, stdout=log,
                                      stderr=subprocess.STDOUT, start_new_session=True) for _ in range(workers)]
            redis = get_redis(app.config)
            deadline = time.monotonic() + 60
            while len(Worker.all(connection=redis)) < workers and time.monotonic() < deadline:
                time.sleep(0.1)
            t0 = time.time()
            approve_all(app, post_id)
            while True:
                s = db.session()
                left = s.scalar(select(Dispatch.id).where(Dispatch.post_id == post_id, Dispatch.status.in_(
                    ("pending", "sending", "unconfirmed"))).limit(1))
                s.rollback()
                if left is None:
                    break
                time.sleep(0.05)
            wall = time.time() - t0
            s = db.session()
            rows = s.scalars(select(Dispatch).where(Dispatch.post_id == post_id)).all()
            published = [d for d in rows if d.status == "published"]
            end_to_end = [(d.published_at - d.created_at).total_seconds() for d in published]
            attempts = s.scalars(select(DispatchAttempt).where(DispatchAttempt.kind == "publish",
                                                               DispatchAttempt.finished_at.is_not(None))).all()
            per_dispatch = [(a.finished_at - a.started_at).total_seconds() for a in attempts]
            return {"n": len(rows), "published": len(published), "wall": wall, "rate": len(published) / wall,
                    "p50": pct(per_dispatch, 0.5), "p95": pct(per_dispatch, 0.95),
                    "e2e_p50": pct(end_to_end, 0.5), "e2e_p95": pct(end_to_end, 0.95)}
    finally:
        for p in procs:
            stop(p)
        stop(sim)


# -- the bare loop ------------------------------------------------------------------------
def bare_worker(args: tuple[str, list[int], bytes]) -> list[float]:
    import requests

    base, indexes, thumb = args
    http = requests.Session()
    times = []
    for i in indexes:
        t = time.perf_counter()
        appid, secret = f"wx_bench_{i:04d}", f"secret-{i:04d}"
        tok = http.post(base + "/cgi-bin/stable_token", json={"grant_type": "client_credential", "appid": appid,
                                                              "secret": secret, "force_refresh": False},
                        timeout=15).json()["access_token"]
        q = {"access_token": tok}
        media = http.post(base + "/cgi-bin/material/add_material", params={**q, "type": "thumb"},
                          files={"media": ("cover.jpg", thumb, "image/jpeg")}, timeout=15).json()["media_id"]
        draft = http.post(base + "/cgi-bin/draft/add", params=q, timeout=15, json={"articles": [{
            "title": "关于做好今冬明春安全生产工作的通知", "author": "旗政府办", "digest": "安全生产",
            "content": "<p>各苏木镇、各部门：</p><p>请认真做好今冬明春安全生产各项工作。</p>",
            "content_source_url": f"https://hub.invalid/p/1#hub-dispatch-{i}", "thumb_media_id": media,
            "need_open_comment": 0, "only_fans_can_comment": 0}]}).json()["media_id"]
        pid = http.post(base + "/cgi-bin/freepublish/submit", params=q, json={"media_id": draft},
                        timeout=15).json()["publish_id"]
        delay = 0.15
        while True:
            st = http.post(base + "/cgi-bin/freepublish/get", params=q, json={"publish_id": pid}, timeout=15).json()
            if st.get("publish_status") == 0:
                break
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
        times.append(time.perf_counter() - t)
    return times


def run_bare(n: int, concurrency: int) -> dict[str, float]:
    import requests

    from adapters.wechat import WeChatAdapter

    env = dict(os.environ)
    sim, base = start_simulator(env)
    try:
        http = requests.Session()
        for i in range(n):
            http.post(base + "/_sim/apps", json={"appid": f"wx_bench_{i:04d}", "secret": f"secret-{i:04d}"},
                      timeout=5).raise_for_status()
        thumb = WeChatAdapter.thumb_jpeg(cover_jpeg())
        shares = [(base, list(range(k, n, concurrency)), thumb) for k in range(concurrency)]
        t0 = time.time()
        with multiprocessing.get_context("fork").Pool(concurrency) as pool:
            results = pool.map(bare_worker, shares)
        wall = time.time() - t0
        times = [t for r in results for t in r]
        return {"n": n, "published": len(times), "wall": wall, "rate": len(times) / wall,
                "p50": pct(times, 0.5), "p95": pct(times, 0.95)}
    finally:
        stop(sim)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    print(f"one post → {args.accounts} WeChat accounts on the simulator, {args.workers} workers")
    hub = run_hub(args.accounts, args.workers)
    print(f"hub:       {hub['published']}/{hub['n']} published in {hub['wall']:.2f} s  "
          f"= {hub['rate']:.1f} dispatches/s; per dispatch p50 {hub['p50'] * 1000:.0f} ms, "
          f"p95 {hub['p95'] * 1000:.0f} ms (approval → published p50 {hub['e2e_p50']:.1f} s, "
          f"p95 {hub['e2e_p95']:.1f} s)")
    bare = run_bare(args.accounts, args.workers)
    print(f"bare loop: {bare['published']}/{bare['n']} published in {bare['wall']:.2f} s  "
          f"= {bare['rate']:.1f} dispatches/s; per dispatch p50 {bare['p50'] * 1000:.0f} ms, "
          f"p95 {bare['p95'] * 1000:.0f} ms")
    print(f"hub / bare loop throughput: {hub['rate'] / bare['rate']:.2f} (target ≥ 0.5)")


if __name__ == "__main__":
    main()
