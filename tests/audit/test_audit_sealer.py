"""The sealer on PostgreSQL: writers never wait for it, and no committed entry is ever left out.

A writer commits its queued entry and tries the sealer's lock in the same
round trip. If another connection holds the lock, the writer returns at once
and the holder, after releasing, looks at the queue again and chains what it
finds (the hand-over rule). Anything that reads the trail first waits for the
running sealer, so it sees every committed action.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from audit_helpers import make_trail  # type: ignore[import-not-found]
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from hub import audit
from hub.audit import sealer as audit_sealer
from hub.db import db
from hub.models import AuditEntry, Unit
from hub.org.service import create_unit


@pytest.fixture
def pg(app: Any) -> Any:
    if db.engine is None or db.engine.dialect.name != "postgresql":
        pytest.skip("the sealer runs on PostgreSQL (SQLite chains inside the action's transaction)")
    return app.extensions["hub_witness"]


def _raw(instance: dict[str, str]) -> psycopg.Connection[Any]:
    return psycopg.connect(instance["HUB_DATABASE_URL"], autocommit=True)


def _counts(raw: psycopg.Connection[Any]) -> tuple[int, int]:
    """(entries, queued) read on a plain driver connection, which never waits for the sealer."""
    row = raw.execute("SELECT (SELECT count(*) FROM audit_entries), (SELECT count(*) FROM audit_queue)").fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


@pytest.fixture
def busy_sealer(pg: Any, instance: dict[str, str]) -> Iterator[psycopg.Connection[Any]]:
    """Another connection holding the sealer's lock, as a sealer in another process would."""
    raw = _raw(instance)
    raw.execute(f"SELECT pg_advisory_lock({audit.SEALER_LOCK})")
    yield raw
    raw.close()


def _in_thread(fn: Any, app: Any) -> threading.Thread:
    def run() -> None:
        with app.app_context():
            try:
                fn()
            finally:
                db.session.remove()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def test_writer_does_not_wait_for_a_busy_sealer_and_the_holder_chains_its_entry(
        pg: Any, app: Any, busy_sealer: Any) -> None:
    before, _ = _counts(busy_sealer)
    make_trail(1)  # the hub's own action, while another connection holds the lock
    assert _counts(busy_sealer) == (before, 1)  # committed, not yet chained: the writer did not wait
    # The holder lets go and, by the hand-over rule, looks again and chains the straggler.
    sealer = audit_sealer._Sealer(busy_sealer, pg)
    assert sealer.release() is True
    sealer.run()
    assert _counts(busy_sealer) == (before + 1, 0)
    assert [seq for seq, _ in sealer.appended] == [before + 1]
    assert pg.witness_path.read_text().splitlines()[-1].split()[0] == str(before + 1)
    assert audit.verify(db.session(), pg).ok


def test_reading_the_trail_waits_for_the_running_sealer(pg: Any, app: Any, busy_sealer: Any) -> None:
    before, _ = _counts(busy_sealer)
    make_trail(1)
    assert _counts(busy_sealer) == (before, 1)
    seen: list[str] = []
    reader = _in_thread(lambda: seen.extend(db.session().scalars(
        select(AuditEntry.action).where(AuditEntry.seq > before))), app)
    reader.join(timeout=1.0)
    assert reader.is_alive()  # the read waits while a sealer is at work ...
    busy_sealer.execute(f"SELECT pg_advisory_unlock({audit.SEALER_LOCK})")
    reader.join(timeout=30)
    assert not reader.is_alive()
    assert seen == ["test.event"]  # ... and then sees the entry that sealer had not chained yet
    assert _counts(busy_sealer) == (before + 1, 0)


def test_a_query_of_the_trail_sees_entries_queued_behind_a_busy_sealer(
        pg: Any, app: Any, instance: dict[str, str], busy_sealer: Any) -> None:
    before, _ = _counts(busy_sealer)
    make_trail(2)
    assert _counts(busy_sealer) == (before, 2)
    release = threading.Timer(0.5, lambda: busy_sealer.execute(f"SELECT pg_advisory_unlock({audit.SEALER_LOCK})"))
    release.start()
    s = db.session()
    rows = s.scalars(select(AuditEntry).where(AuditEntry.action == "test.event").order_by(AuditEntry.seq)).all()
    release.join()
    assert [r.summary for r in rows] == ["测试事件 0", "测试事件 1"]


_WRITER = """
import sys
from hub import audit, create_app
from hub.db import db
app = create_app({"RATELIMIT_STORAGE_URI": "memory://"})
with app.app_context():
    audit.current_actor.set(audit.Actor.system("writer-%s" % sys.argv[1]))
    for i in range(int(sys.argv[2])):
        with db.transaction() as s:
            audit.record(s, "test.concurrent", object_type="test", object_id=i, summary="并发写入")
    db.session.remove()
"""


def test_concurrent_writer_processes_lose_no_entry(pg: Any, app: Any, instance: dict[str, str]) -> None:
    writers, each = 4, 40
    env = dict(os.environ, **instance)
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(i), str(each)], env=env)
             for i in range(writers)]
    for p in procs:
        assert p.wait(timeout=120) == 0
    s = db.session()  # reading settles whatever a busy sealer had not chained yet
    actions = s.scalars(select(AuditEntry.actor_username).where(AuditEntry.action == "test.concurrent")).all()
    assert sorted(set(actions)) == [f"system:writer-{i}" for i in range(writers)]
    assert len(actions) == writers * each
    raw = _raw(instance)
    try:
        assert _counts(raw)[1] == 0
    finally:
        raw.close()
    res = audit.verify(s, pg)
    assert res.ok and res.entries == res.witnessed >= writers * each, res.to_dict()


def test_verify_sees_one_snapshot_while_entries_are_appended(pg: Any, app: Any) -> None:
    make_trail(20)
    stop = threading.Event()

    def append() -> None:
        while not stop.is_set():
            make_trail(1)

    writer = _in_thread(append, app)
    try:
        results = [audit.verify(db.session(), pg) for _ in range(15)]
    finally:
        stop.set()
        writer.join(timeout=30)
    bad = [r.to_dict() for r in results if not r.ok]
    assert not bad  # a head read before the entries would look like an appended or truncated tail
    assert results[-1].entries > 20


def test_a_commit_that_fails_at_commit_time_fails_the_action(pg: Any, app: Any, instance: dict[str, str]) -> None:
    raw = _raw(instance)
    try:
        raw.execute("CREATE FUNCTION test_refuse_commit() RETURNS trigger AS $$ "
                    "BEGIN RAISE EXCEPTION 'refused at commit'; END $$ LANGUAGE plpgsql")
        raw.execute("CREATE CONSTRAINT TRIGGER test_refuse_commit AFTER INSERT ON audit_queue "
                    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_refuse_commit()")
        before, _ = _counts(raw)
        with pytest.raises(DBAPIError, match="refused at commit"):
            with db.transaction() as s:
                create_unit(s, "cf1", "提交时失败", None, "region")
        db.session.remove()
        assert db.session().scalars(select(Unit).where(Unit.code == "cf1")).first() is None
        assert _counts(raw) == (before, 0)
        raw.execute("DROP TRIGGER test_refuse_commit ON audit_queue")
        with db.transaction() as s:  # the connection is usable again, and the next action is chained
            create_unit(s, "cf1", "提交时失败", None, "region")
        assert _counts(raw) == (before + 1, 0)
    finally:
        raw.execute("DROP TRIGGER IF EXISTS test_refuse_commit ON audit_queue")
        raw.execute("DROP FUNCTION IF EXISTS test_refuse_commit()")
        raw.close()
    assert audit.verify(db.session(), pg).ok
    db.session.remove()
    with db.engine.connect() as c:  # type: ignore[union-attr]
        assert c.execute(text("SELECT count(*) FROM units WHERE code = 'cf1'")).scalar() == 1


def test_the_worker_sweep_chains_entries_of_a_writer_that_died_before_sealing(
        pg: Any, app: Any, instance: dict[str, str]) -> None:
    from hub.dispatch.jobs.sweep import sweep
    from hub.models.audit import AuditQueued

    raw = _raw(instance)
    try:
        before, _ = _counts(raw)
        with db.transaction() as s:  # queued and committed, then the writer "died" before sealing
            audit.enqueue(s, [audit.PendingEntry(None, "system:test", "", "", "", "", "test.straggler", "", "", "",
                                                 "滞留", "{}")], pg.mac_key)
        assert db.session().query(AuditQueued).count() == 1
        db.session.remove()
        sweep()
        assert _counts(raw) == (before + 1, 0)
    finally:
        raw.close()
    assert audit.verify(db.session(), pg).ok


def test_a_sealing_pass_that_finds_the_head_moved_writes_nothing(
        pg: Any, app: Any, instance: dict[str, str], busy_sealer: Any) -> None:
    before, _ = _counts(busy_sealer)
    make_trail(1)  # queued behind the lock we hold
    sealer = audit_sealer._Sealer(busy_sealer, pg)
    real_fetch = sealer.fetch

    def fetch_then_move_head() -> Any:
        rows = real_fetch()
        busy_sealer.execute("UPDATE audit_head SET seq = seq + 1 WHERE id = 1")  # someone bypassing the lock
        return rows

    sealer.fetch = fetch_then_move_head  # type: ignore[method-assign]
    with pytest.raises(psycopg.errors.DivisionByZero):
        sealer.seal_pass()
    assert _counts(busy_sealer) == (before, 1)  # no entry inserted, the queued row kept
    busy_sealer.execute("UPDATE audit_head SET seq = seq - 1 WHERE id = 1")
    sealer = audit_sealer._Sealer(busy_sealer, pg)
    sealer.seal_pass()
    assert _counts(busy_sealer) == (before + 1, 0)
    assert audit.verify(db.session(), pg).ok


def _queue_vacuums(raw: psycopg.Connection[Any]) -> int:
    row = raw.execute("SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'audit_queue'").fetchone()
    assert row is not None
    return int(row[0])


def test_sealer_vacuums_the_queue_after_clearing_enough_rows(
        pg: Any, app: Any, instance: dict[str, str], monkeypatch: Any) -> None:
    # Every chained entry leaves a dead queue row; with autovacuum off or behind, looking at the queue
    # would read them all. The sealer vacuums the queue itself after clearing QUEUE_VACUUM_EVERY rows.
    monkeypatch.setattr(audit_sealer, "QUEUE_VACUUM_EVERY", 5)
    monkeypatch.setattr(audit_sealer, "_cleared", 0)
    raw = _raw(instance)
    try:
        before = _queue_vacuums(raw)
        make_trail(4)  # one transaction each, each chained by its own writer
        assert _queue_vacuums(raw) == before
        make_trail(1)
        assert _queue_vacuums(raw) == before + 1
        assert audit_sealer._cleared == 0
        assert _counts(raw)[1] == 0 and audit.verify(db.session()).ok
    finally:
        raw.close()
