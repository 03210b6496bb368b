"""Load benchmark of the hub's pages and API reads beside a bare Flask page (issue 19).

Usage (on an instance seeded by bench/seed.py; HUB_DATABASE_URL, HUB_INSTANCE_DIR, HUB_REDIS_URL set):

    .venv/bin/python bench/load.py [--clients 16,64] [--seconds 15] [--web-processes 2]
                                   [--pages dashboard,posts,...] [--port 6400] [--password demo-pass-2026]

Starts the hub under gunicorn exactly as the Procfile's ``web`` line does (``WEB_CONCURRENCY``
processes, gthread, 8 threads) and the bare page (bench/bare_app.py) with the same settings on the
same database, signs the demo logins in, then for each number of clients and each page: the
clients (threads, each with its own keep-alive connection) fetch the page for ``--seconds``
seconds; the bare page is measured the same way right before and after, and each page's
throughput is printed as a share of the mean of those two. Figures only: nothing asserts on time.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shlex
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


@dataclass
class Target:
    name: str
    role: str  # a demo login, or "" for none (the bare page)
    path: str
    api: bool = False


@dataclass
class Result:
    ok: int = 0
    errors: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rps(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        xs = sorted(self.latencies)
        return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000


def _objects(env: dict[str, str]) -> dict[str, Any]:
    """Ids the parameterised pages are fetched with, and an API token per demo login."""
    os.environ.update(env)
    from sqlalchemy import select

    from hub import create_app
    from hub.db import db
    from hub.models import Account, Post, Unit, User
    from hub.org.service import create_token

    app = create_app({"RATELIMIT_STORAGE_URI": "memory://"})
    with app.app_context():
        s = db.session()
        editor = s.scalars(select(User).where(User.username == "editor")).one()
        unit = s.get(Unit, editor.unit_id)
        assert unit is not None
        out: dict[str, Any] = {
            "unit": unit.code, "league": unit.parent.code if unit.parent else unit.code,
            "published": s.scalars(select(Post.id).where(Post.unit_id == unit.id, Post.status == "published")
                                   .order_by(Post.id.desc())).first(),
            "in_review": s.scalars(select(Post.id).where(Post.unit_id == unit.id, Post.status == "in_review")
                                   .order_by(Post.id.desc())).first(),
            "account": s.scalars(select(Account.id).where(Account.unit_id == unit.id).order_by(Account.id)).first(),
        }
        s.rollback()
        with db.transaction() as w:
            out["tokens"] = {r: create_token(w, r) for r in ("editor", "reviewer1", "admin", "supervisor")}
    return out


def targets(o: dict[str, Any]) -> list[Target]:
    return [
        Target("dashboard (editor)", "editor", "/"),
        Target("dashboard (reviewer)", "reviewer1", "/"),
        Target("dashboard (admin)", "admin", "/"),
        Target("dashboard (supervisor) = 监测台", "supervisor", "/"),
        Target("posts list", "editor", "/posts"),
        Target("posts list (supervisor)", "supervisor", "/posts"),
        Target("post page", "editor", f"/posts/{o['published']}"),
        Target("review queue", "reviewer1", "/review"),
        Target("review page", "reviewer1", f"/review/{o['in_review']}"),
        Target("audit page", "admin", "/audit"),
        Target("accounts", "admin", "/accounts"),
        Target("account page", "admin", f"/accounts/{o['account']}"),
        Target("register (supervisor)", "supervisor", "/accounts/register"),
        Target("filings (supervisor)", "supervisor", "/accounts/filings"),
        Target("inspections (supervisor)", "supervisor", "/oversight/inspections"),
        Target("rectifications (supervisor)", "supervisor", "/oversight/rectifications"),
        Target("API GET post", "editor", f"/api/v1/posts/{o['published']}", api=True),
        Target("API posts list", "editor", "/api/v1/posts", api=True),
        Target("API review queue", "reviewer1", "/api/v1/review/queue", api=True),
        Target("API audit page", "admin", "/api/v1/audit", api=True),
        Target("API accounts", "admin", "/api/v1/accounts", api=True),
        Target("API monitor", "supervisor", f"/api/v1/monitor?unit={o['league']}", api=True),
    ]


def login(base: str, username: str, password: str) -> str:
    """A signed-in session's Cookie header."""
    s = requests.Session()
    page = s.get(f"{base}/login", timeout=30).text
    m = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or \
        re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    r = s.post(f"{base}/login", data={"username": username, "password": password,
                                      "csrf_token": m.group(1) if m else ""}, allow_redirects=False, timeout=30)
    if r.status_code != 302:
        raise SystemExit(f"could not sign in as {username}: HTTP {r.status_code}")
    return "; ".join(f"{k}={v}" for k, v in s.cookies.items())


def run(port: int, path: str, headers: dict[str, str], clients: int, seconds: float) -> Result:
    res = Result()
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine: list[float] = []
        ok, errs = 0, {}
        start.wait()
        while True:
            t0 = time.perf_counter()
            if t0 >= stop_at[0]:
                break
            try:
                conn.request("GET", path, headers=headers)
                r = conn.getresponse()
                r.read()
                code = r.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                code = 599
            dt = time.perf_counter() - t0
            if code == 200:
                ok += 1
                mine.append(dt)
            else:
                errs[code] = errs.get(code, 0) + 1
        conn.close()
        with lock:
            res.ok += ok
            res.latencies += mine
            for k, v in errs.items():
                res.errors[k] = res.errors.get(k, 0) + v

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    stop_at[0] = time.perf_counter() + 1e9
    start.wait()
    t0 = time.perf_counter()
    stop_at[0] = t0 + seconds
    for t in threads:
        t.join()
    res.seconds = time.perf_counter() - t0
    return res


def _serve(cmd: str, env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(shlex.split(cmd), env=env, cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/login" if "hub:" in cmd else f"http://127.0.0.1:{port}/bare",
                         timeout=5)
            return proc
        except requests.RequestException:
            if proc.poll() is not None:
                err = proc.stderr.read().decode() if proc.stderr else ""
                raise SystemExit(f"server exited: {cmd}\n{err}") from None
            time.sleep(0.5)
    raise SystemExit(f"server did not start: {cmd}")


def procfile_web(port: int) -> str:
    line = next(x for x in (ROOT / "Procfile").read_text().splitlines() if x.startswith("web:"))
    cmd = line.split(":", 1)[1].strip()
    cmd = cmd.replace('"[::]:${PORT:-5000}"', f"127.0.0.1:{port}").replace("${WEB_CONCURRENCY:-2}",
                                                                          os.environ.get("WEB_CONCURRENCY", "2"))
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    return cmd.replace("gunicorn ", gunicorn + " ", 1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", default="16,64")
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--web-processes", type=int, default=2)
    ap.add_argument("--pages", default="", help="comma-separated substrings of the target names to run")
    ap.add_argument("--port", type=int, default=6400)
    ap.add_argument("--password", default="demo-pass-2026")
    a = ap.parse_args(argv)
    env = dict(os.environ)
    if not env.get("HUB_DATABASE_URL"):
        from hub.config import load_config

        env["HUB_DATABASE_URL"] = load_config()["HUB_DATABASE_URL"]  # the instance's own (SQLite) database
    env["WEB_CONCURRENCY"] = str(a.web_processes)
    os.environ["WEB_CONCURRENCY"] = str(a.web_processes)
    env["PYTHONPATH"] = str(ROOT)
    objs = _objects(env)
    hub_port, bare_port = a.port, a.port + 1
    hub_cmd = procfile_web(hub_port)
    bare_cmd = hub_cmd.replace(f"127.0.0.1:{hub_port}", f"127.0.0.1:{bare_port}").replace(
        '"hub:create_app()"', '"bench.bare_app:create_app()"')
    print(f"hub:  {hub_cmd}\nbare: {bare_cmd}", flush=True)
    procs = [_serve(hub_cmd, env, hub_port), _serve(bare_cmd, env, bare_port)]
    try:
        base = f"http://127.0.0.1:{hub_port}"
        cookies = {r: login(base, r, a.password) for r in ("editor", "reviewer1", "admin", "supervisor")}
        chosen = [t for t in targets(objs) if not a.pages or any(p in t.name for p in a.pages.split(","))]
        for clients in (int(c) for c in a.clients.split(",")):
            print(f"\n## {clients} clients, {a.seconds:.0f} s per page\n", flush=True)
            print("| page | req/s | share of bare | p50 ms | p95 ms | p99 ms | errors |\n|---|---|---|---|---|---|---|")
            for t in chosen:
                headers = ({"Authorization": f"Bearer {objs['tokens'][t.role]}"} if t.api
                           else {"Cookie": cookies[t.role]})
                run(hub_port, t.path, headers, min(clients, 4), 1.0)  # warm up
                before = run(bare_port, "/bare", {}, clients, a.seconds / 3)
                r = run(hub_port, t.path, headers, clients, a.seconds)
                after = run(bare_port, "/bare", {}, clients, a.seconds / 3)
                bare = statistics.mean([before.rps, after.rps])
                errors = ", ".join(f"{k}×{v}" for k, v in sorted(r.errors.items())) or "0"
                print(f"| {t.name} | {r.rps:.1f} | {r.rps / bare:.0%} (bare {bare:.0f}/s, p95 "
                      f"{max(before.pct(0.95), after.pct(0.95)):.0f} ms) | {r.pct(0.5):.0f} | {r.pct(0.95):.0f} | "
                      f"{r.pct(0.99):.0f} | {errors} |", flush=True)
    finally:
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
