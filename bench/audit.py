"""Benchmark of the audit trail (issue 7).

Usage:  .venv/bin/python bench/audit.py [--database-url postgresql://postgres@127.0.0.1:5432/test]
                                        [--writers 8] [--per-writer 1500] [--verify-entries 200000]
                                        [--sqlite]

Creates a scratch database (a new PostgreSQL database next to the one named,
dropped at the end; or a SQLite file with ``--sqlite``) and a scratch instance
dir, then prints, in the same run:

* append throughput: ``--writers`` processes, each appending entries through
  ``audit.record`` in its own transactions (one entry per transaction, then
  four per transaction, as an approval with dispatches writes), all serialised
  on the chain head, with the witness file written after every commit;
* verify throughput: ``audit.verify`` (chain, head, witness, signed
  checkpoints) over the whole trail, grown to ``--verify-entries`` entries.

Figures only; nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _pg(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url


def _app(env: dict[str, str]) -> Any:
    os.environ.update(env)
    from hub import create_app

    return create_app({"RATELIMIT_STORAGE_URI": "memory://"})


def _writer(env: dict[str, str], n: int, per_tx: int, start: Any, results: Any, baseline: bool = False) -> None:
    app = _app(env)
    from sqlalchemy import text

    from hub import audit
    from hub.db import db

    with app.app_context():
        actor = audit.Actor(7, "bench-writer", "压测", "bench")
        token = audit.current_actor.set(actor)
        start.wait()
        t0 = time.perf_counter()
        done = 0
        while done < n:
            with db.transaction() as s:
                for _ in range(per_tx):
                    if baseline:  # the same transaction shape without the chain: what the machine allows
                        s.execute(text("INSERT INTO bench_baseline (summary, details) VALUES (:s, :d)"),
                                  {"s": "压测写入一条记录", "d": f'{{"i":{done}}}'})
                    else:
                        audit.record(s, "bench.append", object_type="post", object_id=done, unit="bench",
                                     summary="压测写入一条审计记录", details={"i": done, "revision_hash": "ab" * 32})
                    done += 1
        results.put((t0, time.perf_counter(), done, dict(audit.SEALER_STATS)))
        audit.current_actor.reset(token)
        db.session.remove()


def append_run(env: dict[str, str], writers: int, per_writer: int, per_tx: int,
               baseline: bool = False) -> tuple[float, int, dict[str, int]]:
    ctx = mp.get_context("spawn")
    start = ctx.Barrier(writers + 1)
    results = ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(env, per_writer, per_tx, start, results, baseline))
             for _ in range(writers)]
    for p in procs:
        p.start()
    start.wait()
    outs = [results.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
    t0 = min(o[0] for o in outs)
    t1 = max(o[1] for o in outs)
    total = sum(o[2] for o in outs)
    stats = {k: sum(o[3][k] for o in outs) for k in outs[0][3]}
    return total / (t1 - t0), total, stats


def grow(app: Any, target: int, batch: int = 2000) -> None:
    """Append entries in large transactions until the trail has ``target`` entries."""
    from hub import audit
    from hub.audit import verification as audit_verification
    from hub.db import db

    with app.app_context():
        token = audit.current_actor.set(audit.Actor(None, "bench-loader", "", "bench"))
        while True:
            with db.transaction() as s:
                head = audit_verification._head_row(s)
                have = head[0] if head else 0
                if have >= target:
                    break
                for i in range(min(batch, target - have)):
                    audit.record(s, "bench.load", object_type="post", object_id=have + i, unit="bench",
                                 summary="压测写入一条审计记录", details={"i": have + i, "revision_hash": "cd" * 32})
        audit.current_actor.reset(token)
        db.session.remove()


def verify_run(app: Any, repeat: int = 3) -> tuple[float, int, bool]:
    from hub import audit
    from hub.db import db

    best = float("inf")
    res = None
    with app.app_context():
        for _ in range(repeat):
            t0 = time.perf_counter()
            res = audit.verify(db.session(), app.extensions["hub_witness"])
            best = min(best, time.perf_counter() - t0)
            db.session.remove()
    assert res is not None
    return res.entries / best, res.entries, res.ok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--database-url", default=os.environ.get("HUB_BENCH_DATABASE_URL")
                    or os.environ.get("HUB_TEST_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test")
    ap.add_argument("--sqlite", action="store_true", help="bench the embedded default (SQLite) instead")
    ap.add_argument("--writers", type=int, default=8)
    ap.add_argument("--per-writer", type=int, default=1500)
    ap.add_argument("--verify-entries", type=int, default=200000)
    args = ap.parse_args()

    from sqlalchemy import create_engine, text

    inst = Path(tempfile.mkdtemp(prefix="hub-bench-audit-"))
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
    env = {"HUB_INSTANCE_DIR": str(inst), "HUB_DATABASE_URL": url, "HUB_SECRET_KEY": "bench",
           "HUB_REDIS_URL": os.environ.get("HUB_REDIS_URL", "redis://127.0.0.1:6379/0")}
    try:
        app = _app(env)
        from hub.bootstrap import initialise

        with app.app_context():
            initialise(app)
        kind = "SQLite (embedded default)" if args.sqlite else "PostgreSQL"
        print(f"audit benchmark on {kind}, {os.cpu_count()} CPUs, instance {inst}")
        from hub.db import db

        with app.app_context(), db.transaction() as s:
            s.execute(text("CREATE TABLE bench_baseline (id %s PRIMARY KEY, summary TEXT, details TEXT)"
                           % ("INTEGER" if args.sqlite else "BIGSERIAL")))
        rate, total, _ = append_run(env, args.writers, args.per_writer, 1, baseline=True)
        print(f"baseline: {args.writers} writer processes, same transactions without the audit chain: "
              f"{rate:,.0f} rows/s")
        for per_tx in (1, 4):
            rate, total, st = append_run(env, args.writers, args.per_writer, per_tx)
            print(f"append: {args.writers} writer processes, {per_tx} entr{'y' if per_tx == 1 else 'ies'} per "
                  f"transaction: {total} entries, {rate:,.0f} entries/s")
            if st["tried"]:
                print(f"  sealer: {st['busy'] / st['tried']:.0%} of commits found it busy and went on; "
                      f"{st['passes']} passes, {st['sealed'] / max(1, st['passes']):.1f} entries per pass; "
                      f"queue vacuumed {st['vacuums']} times")
        grow(app, args.verify_entries)
        rate, n, ok = verify_run(app)
        print(f"verify: {n} entries (chain + head + witness + signed checkpoints), ok={ok}: {rate:,.0f} entries/s")
        size = (inst / "audit-witness.log").stat().st_size
        print(f"witness file: {size / 1e6:.1f} MB for {n} entries; "
              f"checkpoints: {len((inst / 'audit-checkpoints.log').read_text().splitlines())}")
    finally:
        from hub.db import db

        if db.engine is not None:
            db.engine.dispose()
        if admin is not None:
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
        shutil.rmtree(inst, ignore_errors=True)


if __name__ == "__main__":
    main()
