"""Benchmark of the full-text search of posts (issue 17 part 5): ``GET /api/v1/posts?q=``.

Usage:  .venv/bin/python bench/search.py [--database-url postgresql://postgres@127.0.0.1:5432/test]
                                         [--posts 20000] [--rounds 30] [--sqlite]

Creates a scratch database (a new PostgreSQL database next to the one named, dropped at the end; or
a SQLite file with ``--sqlite``) and a scratch instance dir, seeds ``--posts`` posts with bench/seed.py's
Seeder (units, people and accounts through the services; posts in bulk, each with its search row),
runs ANALYZE, then for each query below times ``--rounds`` API requests (in-process, Flask test
client, Bearer token) as the region's supervisor (every post visible) and as a banner's editor, and
prints p50 / p95 / max and the rows found, then the database's plan of the search statement (EXPLAIN
ANALYZE on PostgreSQL, EXPLAIN QUERY PLAN on SQLite) with the index it uses.

Figures only; nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: (what, q): a four-character phrase of one banner's posts (its name, in their titles and bodies), a
#: four-character phrase of one topic in 16, a phrase found nowhere, two terms, and a two-character
#: term (under a trigram: LIKE on SQLite).
QUERIES = [("4 chars, one banner", "第17旗"), ("4 chars, a topic in 16", "草原生态"),
           ("absent phrase", "沙尘暴预警"), ("two terms", "医疗保障 热线"), ("two characters", "医疗")]


def _pg(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--database-url", default=os.environ.get("HUB_BENCH_DATABASE_URL")
                    or os.environ.get("HUB_TEST_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test")
    ap.add_argument("--sqlite", action="store_true", help="bench the embedded default (SQLite) instead")
    ap.add_argument("--posts", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=30)
    args = ap.parse_args()

    from sqlalchemy import create_engine, event, text

    inst = Path(tempfile.mkdtemp(prefix="hub-bench-search-"))
    admin = None
    name = ""
    if args.sqlite:
        url = f"sqlite:///{inst / 'hub.db'}"
    else:
        name = f"hub_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(_pg(args.database_url), isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        url = args.database_url.rsplit("/", 1)[0] + "/" + name
    os.environ.update({"HUB_INSTANCE_DIR": str(inst), "HUB_DATABASE_URL": url, "HUB_SECRET_KEY": "bench",
                       "HUB_REDIS_URL": os.environ.get("HUB_REDIS_URL", "redis://127.0.0.1:6379/0")})
    try:
        from bench.seed import Seeder
        from hub import create_app
        from hub.bootstrap import initialise
        from hub.db import db
        from hub.org.service import create_token

        app = create_app({"RATELIMIT_STORAGE_URI": "memory://", "RATELIMIT_ENABLED": False})
        with app.app_context():
            initialise(app)
            t0 = time.perf_counter()
            sd = Seeder(app, argparse.Namespace(posts=args.posts, audit=0, accounts=400, units=200,
                                                password="demo-pass-2026", seed=1, years=3.0))
            sd.log = lambda what: None  # type: ignore[method-assign]
            sd.org()
            sd.accounts()
            sd.posts()
            with db.engine.connect() as c:
                if c.dialect.name == "postgresql":
                    c.execute(text("ANALYZE"))
                else:
                    c.exec_driver_sql("ANALYZE")
                c.commit()
                total = c.execute(text("SELECT count(*) FROM post_search")).scalar()
            kind = "SQLite (embedded default)" if args.sqlite else "PostgreSQL"
            print(f"search benchmark on {kind}, {os.cpu_count()} CPUs: {total} posts in post_search "
                  f"(seeded in {time.perf_counter() - t0:.0f} s)")
            with db.transaction() as s:
                tokens = {who: create_token(s, who) for who in ("region", "editor")}
            client = app.test_client()
            print(f"{'as':8} {'query':30} {'found':>6} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7}")
            statements: dict[str, tuple[str, Any]] = {}
            for who, token in tokens.items():
                h = {"Authorization": f"Bearer {token}"}
                for what, q in QUERIES:
                    seen: list[tuple[str, Any]] = []

                    def on(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool,
                           seen: list[tuple[str, Any]] = seen) -> None:
                        if "post_search" in statement:
                            seen.append((statement, params))

                    event.listen(db.engine, "before_cursor_execute", on)
                    r = client.get("/api/v1/posts", query_string={"q": q, "limit": 50}, headers=h)
                    event.remove(db.engine, "before_cursor_execute", on)
                    assert r.status_code == 200, r.get_json()
                    if seen:
                        statements[f"{who} {q}"] = seen[0]
                    found = len(r.get_json()["posts"])
                    times = []
                    for _ in range(args.rounds):
                        t = time.perf_counter()
                        client.get("/api/v1/posts", query_string={"q": q, "limit": 50}, headers=h)
                        times.append((time.perf_counter() - t) * 1000)
                    times.sort()
                    p95 = times[max(0, int(len(times) * 0.95) - 1)]
                    print(f"{who:8} {what + ' ' + q:30} {found:>6} {statistics.median(times):7.1f} {p95:7.1f} "
                          f"{times[-1]:7.1f}")
            for key in ("region 第17旗", "region 草原生态", "editor 草原生态", "region 医疗"):
                statement, params = statements[key]
                print(f"\n-- plan of the search statement ({key}):")
                with db.engine.connect() as c:
                    if c.dialect.name == "postgresql":
                        rows = c.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement, params)
                        print("\n".join(r[0] for r in rows))
                    else:
                        rows = c.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)
                        print("\n".join(str(r[-1]) for r in rows))
        db.engine.dispose() if db.engine is not None else None
    finally:
        if admin is not None:
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
