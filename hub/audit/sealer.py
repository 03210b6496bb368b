"""The append queue and its sealer on PostgreSQL, and the session/engine hooks that seal on commit."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import sys
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy import exc as exc_mod
from sqlalchemy.orm import Session, SessionTransaction

from hub.audit import witness as witness_mod
from hub.audit.chain import (
    APPENDED,
    ENTRY_COLUMNS,
    GENESIS,
    HANDLED,
    MARKS,
    PENDING,
    QUEUE_COLUMNS,
    QUEUE_DOMAIN,
    SEAL_QUEUE,
    SETTLING,
    TRY_ON_COMMIT,
    Row,
    body_bytes,
    canonical,
    format_time,
    hash_bytes,
)
from hub.audit.recording import seal
from hub.models import utcnow

log = logging.getLogger(__name__)


# -- the append queue (PostgreSQL) ---------------------------------------------------------
def queue_mac(key: bytes, values: Sequence[Any]) -> str:
    """HMAC-SHA256 of a queued entry (``QUEUE_COLUMNS`` values) under the instance's queue key."""
    parts = list(values)
    parts[1] = format_time(parts[1])
    return hmac.new(key, QUEUE_DOMAIN + canonical(parts), hashlib.sha256).hexdigest()


_QUEUE_INSERT = f"INSERT INTO audit_queue ({', '.join((*QUEUE_COLUMNS, 'mac'))}) VALUES "
_QUEUE_ROW = "(" + ", ".join(["%s"] * (len(QUEUE_COLUMNS) + 1)) + ")"


def enqueue(session: Session, entries: Sequence[Any], key: bytes) -> list[str]:
    """Insert ``entries`` into the queue inside the open transaction (no lock taken); returns their nonces.

    One plain statement, sent without SQLAlchemy's compilation (it runs in every action).
    """
    now = utcnow()
    params: list[Any] = []
    nonces: list[str] = []
    for e in entries:
        e.at = now
        nonce = secrets.token_hex(16)
        values = [nonce, now, *(getattr(e, c) for c in QUEUE_COLUMNS[2:])]
        params.extend(values)
        params.append(queue_mac(key, values))
        nonces.append(nonce)
    sql = _QUEUE_INSERT + ", ".join([_QUEUE_ROW] * len(entries))
    session.connection().exec_driver_sql(sql, tuple(params))
    return nonces


# Advisory lock key of the sealer (PostgreSQL): "audit" in ASCII.
SEALER_LOCK = 0x6175646974
# Process-local counters (bench/audit.py prints them): lock tries after commit, tries that found the
# lock busy, sealing passes and entries chained by this process.
SEALER_STATS = {"tried": 0, "busy": 0, "passes": 0, "sealed": 0, "vacuums": 0}
QUEUE_VACUUM_EVERY = 1000  # queue rows this process cleared before it vacuums the queue (see _Sealer.tidy)
_cleared = 0  # queue rows this process cleared since it last vacuumed the queue
SEAL_BATCH = 5000      # queue rows chained per pass (one statement, one WAL flush)
MAX_PASSES = 64        # a writer that became the sealer returns to its own request after this many passes

_ENTRY_TYPES = ("bigint", "timestamp", "integer", *(["text"] * 11), "text", "text", "text")
_QUEUE_SELECT = ", ".join(f"q.{c}" for c in ("id", *QUEUE_COLUMNS, "mac"))
# The head and a batch of the queue (skipping rows already found forged), flagging rows already sealed (replays).
# The replay check is a LATERAL probe with LIMIT 1 so that it is always one unique-index lookup per
# queued row: as an EXISTS subquery the planner may hash it, reading the whole trail on every pass.
_FETCH_SQL = (
    f"SELECT h.seq, h.hash, {_QUEUE_SELECT}, r.nonce IS NOT NULL "
    "FROM audit_head h LEFT JOIN LATERAL (SELECT * FROM audit_queue WHERE id <> ALL(%s::bigint[]) "
    "ORDER BY id LIMIT %s) q ON true "
    "LEFT JOIN LATERAL (SELECT e.nonce FROM audit_entries e WHERE e.nonce = q.nonce LIMIT 1) r ON true "
    "WHERE h.id = 1 ORDER BY q.id"
)
# One statement, so one implicit transaction: insert the chained entries, clear their queue rows, move the head.
# If the head is not where the fetch found it, 1 / 0 fails the whole statement, so nothing is half-written.
_WRITE_SQL = (
    f"WITH appended AS (INSERT INTO audit_entries ({', '.join((*ENTRY_COLUMNS, 'nonce'))}) "
    f"SELECT * FROM unnest({', '.join(f'%s::{t}[]' for t in _ENTRY_TYPES)}) RETURNING 1), "
    "cleared AS (DELETE FROM audit_queue WHERE id = ANY(%s::bigint[]) RETURNING 1), "
    "moved AS (UPDATE audit_head SET seq = %s, hash = %s WHERE id = 1 AND seq = %s AND hash = %s RETURNING 1) "
    "SELECT 1 / count(*) FROM moved"
)


def _sealer_engine(engine: Any, witness: witness_mod.Witness) -> Any:
    """A small autocommit engine for the sealer: its advisory lock is held on its own connection.

    No pre-ping and no reset round trip on return: sealing is on every action's path.
    """
    eng = getattr(witness, "_sealer_engine", None)
    if eng is None or eng.url != engine.url:
        from sqlalchemy import create_engine

        from hub.db import ping_when_idle

        eng = create_engine(engine.url, pool_size=2, max_overflow=16, pool_recycle=300,
                            isolation_level="AUTOCOMMIT", pool_reset_on_return=None)
        ping_when_idle(eng)
        witness._sealer_engine = eng  # type: ignore[attr-defined]
        # A forked child (RQ's scheduler) disposes the app's engine with close=False; closing this
        # engine's connections there would end the parent's sessions on the server (they share the
        # sockets), so the child only lets go of them.
        created_in = os.getpid()
        event.listen(engine, "engine_disposed", lambda _e: eng.dispose(close=os.getpid() == created_in))
    return eng


class _Sealer:
    """One connection's turn at sealing (PostgreSQL). The caller holds the sealer's advisory lock.

    The lock is a session-level advisory lock on an autocommit connection, so
    a writer that finds it taken does not wait (and, trying it with its
    commit, pays no round trip for it; see :func:`_commit_then_seal`). That is
    safe because of the hand-over rule in :meth:`release`: a holder, after
    releasing the lock, looks at the queue again with a fresh snapshot and, if
    anything is left, tries to take the lock back. A writer's row is committed
    before it tries the lock; if the try fails, the holder at that moment
    releases later and then sees the row, and either seals it itself or finds
    the lock taken by a newer holder, which is bound by the same rule. So every
    committed row is sealed by a holder that started after it was committed.
    """

    def __init__(self, raw: Any, witness: witness_mod.Witness) -> None:
        self.raw = raw
        self.witness = witness
        self.forged: set[int] = set()
        self.appended: list[tuple[int, str]] = []

    def run(self, max_passes: int = MAX_PASSES) -> list[tuple[int, str]]:
        """Seal until the queue is empty, or hand over after ``max_passes``; releases the lock."""
        passes = 0
        while True:
            full = self.seal_pass()
            passes += 1
            if passes >= max_passes:
                # What is left is sealed by the next action's writer, a reader (settle) or the sweeper.
                self.raw.execute(f"SELECT pg_advisory_unlock({SEALER_LOCK})")
                break
            if full:
                continue
            if not self.release():
                break
        self.tidy()
        return self.appended

    def tidy(self) -> None:
        """Vacuum the queue after this process cleared ``QUEUE_VACUUM_EVERY`` rows from it.

        Every entry leaves a dead row in the queue. Autovacuum reclaims them
        when it is on and keeps up; when it is not (it can be switched off,
        and lags behind a busy trail), every look at the queue reads all the
        dead rows: 12 ms a look after 200,000 entries, where it should take
        0.1 ms. The queue is small, so vacuuming it is a few milliseconds;
        ``SKIP_LOCKED`` leaves it to a vacuum already running. The lock is
        released by now: no one waits for this.
        """
        global _cleared
        if _cleared < QUEUE_VACUUM_EVERY:
            return
        _cleared = 0
        try:
            self.raw.execute("VACUUM (SKIP_LOCKED) audit_queue")
            SEALER_STATS["vacuums"] += 1
        except Exception:  # not the owner, or the connection went: autovacuum or the next sealer does it
            log.warning("could not vacuum the audit queue", exc_info=True)

    def release(self) -> bool:
        """Release the lock, then take it back if the queue still holds rows; True if taken back."""
        skip = ",".join(str(i) for i in sorted(self.forged))
        cur = self.raw.execute(
            f"SELECT pg_advisory_unlock({SEALER_LOCK}); "
            f"SELECT CASE WHEN EXISTS (SELECT 1 FROM audit_queue WHERE id <> ALL('{{{skip}}}'::bigint[])) "
            f"THEN pg_try_advisory_lock({SEALER_LOCK}) ELSE false END")
        cur.nextset()
        row = cur.fetchone()
        return bool(row and row[0])

    def fetch(self) -> list[Row]:
        return self.raw.execute(_FETCH_SQL, (sorted(self.forged), SEAL_BATCH), prepare=True).fetchall()

    def seal_pass(self) -> bool:
        """Chain one batch of the queue; True if the batch was full (more may be waiting)."""
        rows = self.fetch()
        if not rows:  # no head row yet
            self.raw.execute("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, %s) ON CONFLICT DO NOTHING",
                             (GENESIS,))
            rows = self.fetch()
        seq0, prev0 = int(rows[0][0]), str(rows[0][1])
        queued = [r[2:] for r in rows if r[2] is not None]  # (id, *QUEUE_COLUMNS, mac, replayed)
        good = []
        key = self.witness.mac_key
        for r in queued:
            if hmac.compare_digest(str(r[-2]), queue_mac(key, r[1:-2])):
                good.append(r)
            else:
                self.forged.add(int(r[0]))
        if len(good) < len(queued):
            log.error("audit queue: %d row(s) with an invalid MAC left unsealed (written outside the hub?)",
                      len(queued) - len(good))
        if not good:
            return len(queued) >= SEAL_BATCH
        cols: list[list[Any]] = [[] for _ in range(len(ENTRY_COLUMNS) + 1)]
        done: list[tuple[int, str]] = []
        seq, prev = seq0, prev0
        nonces: set[str] = set()
        for r in good:
            if r[-1] or r[1] in nonces:  # a replayed queue row: its entry is already in the chain
                continue
            nonces.add(r[1])
            seq += 1
            # r[1:-2] = nonce, queued_at, actor_id ... details
            h = hash_bytes(prev, body_bytes(seq, *r[2:-2]))
            for col, v in zip(cols, (seq, *r[2:-2], prev, h, r[1]), strict=True):
                col.append(v)
            done.append((seq, h))
            prev = h
        ids = [int(r[0]) for r in good]
        self.raw.execute(_WRITE_SQL, (*cols, ids, seq, prev, seq0, prev0), prepare=True)
        _witness(self.witness, done)  # under the lock, so witness lines stay in sequence order
        self.appended.extend(done)
        SEALER_STATS["passes"] += 1
        SEALER_STATS["sealed"] += len(done)
        global _cleared
        _cleared += len(ids)
        return len(queued) >= SEAL_BATCH


def _got_lock(row: Any) -> bool:
    """Whether a ``pg_try_advisory_lock`` row says the lock was taken (counted in SEALER_STATS)."""
    got = bool(row and row[0])
    SEALER_STATS["tried"] += 1
    SEALER_STATS["busy"] += not got
    return got


def _with_sealer(engine: Any, witness: witness_mod.Witness, wait: bool,
                 max_passes: int = MAX_PASSES) -> list[tuple[int, str]]:
    eng = _sealer_engine(engine, witness)
    with eng.connect() as conn:
        raw = conn.connection.driver_connection
        try:
            if wait:
                raw.execute(f"SELECT pg_advisory_lock({SEALER_LOCK})")
            else:
                row = raw.execute(f"SELECT pg_try_advisory_lock({SEALER_LOCK})").fetchone()
                if not _got_lock(row):
                    return []  # the holder seals our rows after it releases (see _Sealer)
            return _Sealer(raw, witness).run(max_passes)
        except BaseException:
            conn.invalidate()  # closing the connection releases the lock
            raise


def seal_after_commit(engine: Any, witness: witness_mod.Witness) -> list[tuple[int, str]]:
    """After an action committed its queued entries: seal them, or leave them to the sealer running now.

    Never waits: if another process or thread holds the sealer's lock, it
    seals these rows before it lets go (see :class:`_Sealer`). With no
    contention the entries are chained before this returns.
    """
    return _with_sealer(engine, witness, wait=False)


def _witness(witness: witness_mod.Witness, done: list[tuple[int, str]]) -> None:
    if not done:
        return
    try:
        witness.append_heads(done)
    except Exception:  # the entries are sealed; `hub audit verify` shows the missing witness lines
        log.exception("could not append to the audit witness %s", witness.witness_path)


def seal_queue(engine: Any, witness: witness_mod.Witness) -> list[tuple[int, str]]:
    """Chain every queued entry with a valid HMAC, in queue order, in batches; witness each batch.

    Safe to run from any process at any time (``hub audit checkpoint``, the
    worker's sweeper and readers run it): it waits for the sealer's lock, and
    a sealer that finds the queue empty writes nothing.
    """
    return _with_sealer(engine, witness, wait=True, max_passes=sys.maxsize)


def settle(engine: Any, witness: witness_mod.Witness) -> None:
    """Make every committed entry visible in ``audit_entries`` before reading the trail (PostgreSQL).

    A writer that found the sealer busy returns before its entry is chained
    (the running sealer chains it moments later); every read of the trail
    calls this first, so it sees its own and everyone's committed actions.
    One cheap query when nothing is queued.
    """
    eng = _sealer_engine(engine, witness)
    with eng.connect() as conn:
        row = conn.connection.driver_connection.execute("SELECT EXISTS (SELECT 1 FROM audit_queue)").fetchone()
    if row and row[0]:
        seal_queue(engine, witness)


def queue_in_use(session: Session) -> witness_mod.Witness | None:
    """The witness whose queue key seals this session's entries, when the queue is used (PostgreSQL)."""
    bind = session.bind
    if bind is None or bind.dialect.name != "postgresql":
        return None
    w = witness_mod.for_bind(bind)
    return w if w is not None and w.mac_key else None


@event.listens_for(Session, "before_commit")
def _seal_pending(session: Session) -> None:
    pending = session.info.pop(PENDING, None)
    session.info.pop(MARKS, None)
    if not pending:
        return
    w = queue_in_use(session)
    if w is not None:
        enqueue(session, pending, w.mac_key)
        conn = session.connection()
        if conn.dialect.driver == "psycopg":
            conn.info[TRY_ON_COMMIT] = w  # see _commit_then_seal
        session.info[SEAL_QUEUE] = conn
    else:
        session.info.setdefault(APPENDED, []).extend(seal(session, pending))


@event.listens_for(Engine, "commit")
def _commit_then_seal(conn: Connection) -> None:
    """Commit a transaction that queued audit entries and try the sealer's lock in the same round trip.

    Runs just before the driver's commit, which then has nothing left to do
    (the connection is idle). ``COMMIT; SELECT pg_try_advisory_lock(...)`` is
    one simple query: the entries are committed before the lock is tried, as
    the hand-over rule of :class:`_Sealer` requires, and a writer that finds
    the sealer busy pays nothing more than its commit. A writer that gets the
    lock seals the queue on its own connection before it returns.
    """
    w = None if conn.invalidated else conn.info.pop(TRY_ON_COMMIT, None)
    if w is None:
        return
    import psycopg

    raw = conn.connection.driver_connection
    if raw is None or raw.info.transaction_status != psycopg.pq.TransactionStatus.INTRANS:
        return  # let the driver's own commit report what is wrong; the session hook seals afterwards
    cur = raw.cursor()
    try:
        cur.execute(f"COMMIT; SELECT pg_try_advisory_lock({SEALER_LOCK})")
    except psycopg.Error as exc:
        raise exc_mod.DBAPIError.instance("COMMIT", None, exc, psycopg.Error) from exc
    if cur.statusmessage != "COMMIT":  # the server rolled the transaction back instead
        raise exc_mod.OperationalError("COMMIT", None, RuntimeError(f"commit ended in {cur.statusmessage}"))
    conn.info[HANDLED] = True
    cur.nextset()
    if not _got_lock(cur.fetchone()):
        return  # the sealer that holds the lock chains these entries before it lets go
    raw.autocommit = True
    try:
        _Sealer(raw, w).run()
    except Exception:  # committed and queued: the next sealer chains them
        log.exception("could not seal the audit queue")
        try:
            raw.execute("SELECT pg_advisory_unlock_all()")
        except Exception:
            log.exception("could not release the audit sealer lock (the connection drops it when it closes)")
    finally:
        try:
            raw.autocommit = False
        except psycopg.Error:  # the connection broke while sealing; the pool replaces it
            log.warning("audit sealer connection lost", exc_info=True)


@event.listens_for(Engine, "rollback")
def _forget_try(conn: Connection) -> None:
    # An invalidated connection (the server went away) has no info to clear, and asking for it would
    # try to reconnect in the middle of the rollback.
    if not conn.invalidated:
        conn.info.pop(TRY_ON_COMMIT, None)


@event.listens_for(Session, "after_commit")
def _witness_appended(session: Session) -> None:
    appended = session.info.pop(APPENDED, None)
    w = witness_mod.for_bind(session.bind)
    conn = session.info.pop(SEAL_QUEUE, None)
    if conn is not None and w is not None and not conn.info.pop(HANDLED, False):
        try:  # the commit went through the driver alone: seal on the sealer's own connection
            seal_after_commit(session.bind, w)
        except Exception:  # the action and its queued entry are committed; the next sealer chains it
            log.exception("could not seal the audit queue")
    if not appended or w is None:
        return
    try:
        w.append_heads(appended)
    except Exception:  # the action is committed; a witness failure shows up in `hub audit verify`
        log.exception("could not append to the audit witness %s", w.witness_path)


@event.listens_for(Engine, "before_cursor_execute")
def _settle_before_reading(conn: Connection, _cursor: Any, statement: str, _params: Any, _context: Any,
                           _many: bool) -> None:
    """A query that reads the trail first waits for committed entries to be chained (see :func:`settle`).

    So the audit pages, a post's history, the reveal limit and everything else
    that reads ``audit_entries`` see every action committed before the query.
    A substring test on the SQL text: nothing is parsed or compiled again.
    """
    if "audit_entries" not in statement or conn.dialect.name != "postgresql" or conn.info.get(SETTLING):
        return
    if not statement.lstrip()[:6].upper().startswith(("SELECT", "WITH")):
        return
    w = witness_mod.for_bind(conn.engine)
    if w is not None and w.mac_key:
        settle(conn.engine, w)


@event.listens_for(Session, "after_transaction_create")
def _mark_savepoint(session: Session, trans: SessionTransaction) -> None:
    if trans.nested:
        session.info.setdefault(MARKS, {})[id(trans)] = len(session.info.get(PENDING, []))


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.nested:
        mark = session.info.get(MARKS, {}).pop(id(previous_transaction), None)
        if mark is not None and PENDING in session.info:
            del session.info[PENDING][mark:]
        return
    session.info.pop(PENDING, None)
    session.info.pop(APPENDED, None)
    session.info.pop(MARKS, None)
    session.info.pop(SEAL_QUEUE, None)


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, trans: SessionTransaction) -> None:
    # A savepoint's mark is still needed by after_soft_rollback, which runs after this hook.
    if not trans.nested and trans.parent is None:
        session.info.pop(PENDING, None)
        session.info.pop(APPENDED, None)
        session.info.pop(MARKS, None)
        session.info.pop(SEAL_QUEUE, None)


