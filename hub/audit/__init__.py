"""The audit trail: every action appends a hash-chained entry in its own transaction.

``record()`` is called inside the transaction of the action it records. It
queues the entry on the session; when that transaction commits, a
``before_commit`` hook takes the append lock, gives the queued entries their
sequence numbers and hashes and inserts them, all inside the same transaction.
If the entry cannot be written the commit fails and the action is rolled back
too (DESIGN rule 4).

Appends are serialised on the single ``audit_head`` row: on PostgreSQL a row
lock, on SQLite the database writer lock.

* SQLite (writes are serialised by the database anyway): the entries are
  numbered, hashed and inserted into ``audit_entries`` right before the commit.
* PostgreSQL: holding a global lock through every action's commit (its WAL
  flush) would serialise all writers. Instead the action's transaction
  inserts the entries into ``audit_queue`` (no lock; if that insert fails the
  action fails), each row with an HMAC whose key is derived from the
  instance's secret key, outside the database. Right after the commit the
  sealer (:func:`seal_queue`) takes the head lock and chains every queued row
  with a valid HMAC in one batch: concurrent writers share one lock hold and
  one WAL flush. A row that someone with database access forged is never
  sealed, and ``hub audit verify`` reports it.

After each commit that extended the chain, the new ``(seq, hash)`` pairs are
appended to the witness file outside the database (see :mod:`hub.audit.witness`).

Each entry's hash is SHA-256 over ``DOMAIN``, the previous entry's hash, a
newline and the canonical JSON of the entry's body (:func:`entry_body`).
"""

from __future__ import annotations

import contextvars
import getpass
import hashlib
import hmac
import json
import logging
import secrets
import sys
from collections.abc import Generator, Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Table, event, insert, select, update
from sqlalchemy import exc as exc_mod
from sqlalchemy.orm import Session, SessionTransaction

from hub.audit import witness as witness_mod
from hub.models import AuditEntry, AuditHead, Unit, User, utcnow
from hub.models.audit import AuditQueued

log = logging.getLogger(__name__)

GENESIS = "0" * 64
DOMAIN = b"zhengwu-hub/audit-entry/v1\n"

# Keys whose values must never be written to audit details.
_SECRET_WORDS = ("secret", "password", "token", "aeskey", "aes_key", "private", "credential_value")

# session.info keys
PENDING = "audit_pending"      # entries recorded in the open transaction, not yet sealed
APPENDED = "audit_appended"    # (seq, hash) sealed in the committing transaction, for the witness
_MARKS = "audit_savepoints"    # savepoint -> len(pending) when it began
_SEAL = "audit_seal_queue"     # the committing transaction queued entries (its connection): seal them
_SETTLING = "audit_settling"
# Connection.info keys (PostgreSQL)
_TRY_ON_COMMIT = "audit_try_on_commit"  # commit with _commit_then_seal (value: the witness)
_HANDLED = "audit_sealed_on_commit"     # _commit_then_seal committed and tried (or took) the sealer's lock
QUEUE_DOMAIN = b"zhengwu-hub/audit-queue/v1\n"
QUEUE_COLUMNS = ("nonce", "queued_at", "actor_id", "actor_username", "actor_name", "actor_unit", "ip",
                 "user_agent", "action", "object_type", "object_id", "unit_code", "summary", "details")

_ENTRIES: Table = AuditEntry.__table__  # type: ignore[assignment]
_HEAD: Table = AuditHead.__table__  # type: ignore[assignment]
_QUEUE: Table = AuditQueued.__table__  # type: ignore[assignment]

ENTRY_COLUMNS = ("seq", "at", "actor_id", "actor_username", "actor_name", "actor_unit", "ip", "user_agent",
                 "action", "object_type", "object_id", "unit_code", "summary", "details", "prev_hash", "hash")


@dataclass
class Actor:
    """Who performed an action, snapshotted into the entry."""

    id: int | None
    username: str
    name: str = ""
    unit: str = ""

    @classmethod
    def of(cls, user: User) -> Actor:
        """The snapshot of a user: id, username, display name and unit code."""
        return cls(user.id, user.username, user.display_name(), user.unit.code if user.unit else "")

    @classmethod
    def cli(cls) -> Actor:
        """The operator running a ``hub`` command: ``cli:<os user>``."""
        try:
            who = getpass.getuser()
        except Exception:  # no login name in some containers
            who = "unknown"
        return cls(None, f"cli:{who}", "", "")

    @classmethod
    def system(cls, what: str) -> Actor:
        """A background part of the hub (worker, scheduler): ``system:<what>``."""
        return cls(None, f"system:{what}", "", "")


@dataclass
class RequestInfo:
    """The client's IP address and user agent, snapshotted into entries made during a request."""

    ip: str = ""
    user_agent: str = ""


current_actor: contextvars.ContextVar[Actor | None] = contextvars.ContextVar("hub_actor", default=None)
current_request: contextvars.ContextVar[RequestInfo | None] = contextvars.ContextVar("hub_req", default=None)


def scrub(details: Any) -> Any:
    """Drop any value whose key names a secret. Defence in depth: callers never pass secrets."""
    if isinstance(details, dict):
        out = {}
        for k, v in details.items():
            lk = str(k).lower()
            if any(w in lk for w in _SECRET_WORDS) and not lk.endswith(("_set", "_field", "_fields", "_prefix")):
                out[k] = "[redacted]"
            else:
                out[k] = scrub(v)
        return out
    if isinstance(details, list | tuple):
        return [scrub(v) for v in details]
    return details


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_quote = json.encoder.encode_basestring  # the string encoder of ensure_ascii=False (C when available)


def canonical(obj: Any) -> bytes:
    """Canonical JSON: sorted keys, no whitespace, UTF-8."""
    return _ENCODER.encode(obj).encode("utf-8")


def format_time(at: datetime | str) -> str:
    """An entry time (naive UTC) as hashed and exported: ``YYYY-MM-DDTHH:MM:SS.ffffffZ``.

    Also takes the time as stored text (ISO 8601); text that is no time at all
    is kept as it is, so that the entry cannot match its hash.
    """
    return _time_text(at) + "Z"


def _time_text(at: datetime | str) -> str:
    if isinstance(at, str):
        try:
            return datetime.fromisoformat(at).isoformat(timespec="microseconds")
        except ValueError:
            return at
    return at.isoformat(timespec="microseconds")


def body_of(seq: int, at: datetime, actor_id: int | None, actor_username: str, actor_name: str,
            actor_unit: str, ip: str, user_agent: str, action: str, object_type: str, object_id: str,
            unit_code: str, summary: str, details: str) -> dict[str, Any]:
    """The hashed body of an entry from its column values (``details`` as stored JSON text)."""
    return {
        "seq": int(seq),
        "at": format_time(at),
        "actor": {"id": actor_id, "username": actor_username, "name": actor_name, "unit": actor_unit},
        "ip": ip,
        "user_agent": user_agent,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "unit": unit_code,
        "summary": summary,
        "details": json.loads(details or "{}"),
    }


_TEMPLATE = ('{"action":%s,"actor":{"id":%s,"name":%s,"unit":%s,"username":%s},"at":"%s","details":%s,'
             '"ip":%s,"object_id":%s,"object_type":%s,"seq":%d,"summary":%s,"unit":%s,"user_agent":%s}')
# The same with the string quotes in place, for rows whose strings need no escaping (nearly all).
_PLAIN = ('{"action":"%s","actor":{"id":%s,"name":"%s","unit":"%s","username":"%s"},"at":"%sZ","details":%s,'
          '"ip":"%s","object_id":"%s","object_type":"%s","seq":%d,"summary":"%s","unit":"%s","user_agent":"%s"}')


def body_bytes(seq: int, at: datetime | str, actor_id: int | None, actor_username: str, actor_name: str,
               actor_unit: str, ip: str, user_agent: str, action: str, object_type: str, object_id: str,
               unit_code: str, summary: str, details: str) -> bytes:
    """``canonical(body_of(...))`` built directly (the hot path of sealing and verifying).

    ``at`` may also be given as text: ``YYYY-MM-DDTHH:MM:SS.ffffff`` is used
    as it is, other spellings are read as :func:`format_time` reads them.

    ``details`` is stored in canonical form, so it is spliced in as it is; a
    stored value that is not canonical no longer matches the hash. JSON (with
    ``ensure_ascii=False``) escapes only ``"``, ``\\`` and characters below
    U+0020, and the latter are not printable: when the row's strings are
    printable and hold neither quote nor backslash, they are spliced into a
    template that already holds the quotes (one test per row instead of ten
    encoder calls).
    """
    plain = "".join((action, actor_name, actor_unit, actor_username, ip, user_agent, object_type, object_id,
                     unit_code, summary))
    aid = "null" if actor_id is None else int(actor_id)
    when = at if isinstance(at, str) and len(at) == 26 else _time_text(at)
    if plain.isprintable() and '"' not in plain and "\\" not in plain:
        return (_PLAIN % (action, aid, actor_name, actor_unit, actor_username, when, details or "{}", ip,
                          object_id, object_type, int(seq), summary, unit_code, user_agent)).encode("utf-8")
    q = _quote
    return (_TEMPLATE % (
        q(action), aid, q(actor_name), q(actor_unit), q(actor_username), when + "Z", details or "{}", q(ip),
        q(object_id), q(object_type), int(seq), q(summary), q(unit_code), q(user_agent),
    )).encode("utf-8")


def hash_bytes(prev_hash: str, body: bytes) -> str:
    """SHA-256 over DOMAIN, the previous hash, a newline and the canonical body bytes."""
    return hashlib.sha256(DOMAIN + prev_hash.encode("ascii") + b"\n" + body).hexdigest()


def entry_body(e: AuditEntry) -> dict[str, Any]:
    """The fields covered by an entry's hash (everything except the hashes)."""
    return body_of(e.seq, e.at, e.actor_id, e.actor_username, e.actor_name, e.actor_unit, e.ip, e.user_agent,
                   e.action, e.object_type, e.object_id, e.unit_code, e.summary, e.details)


def compute_hash(prev_hash: str, body: dict[str, Any]) -> str:
    """SHA-256 with domain separation over the previous hash and the canonical body."""
    h = hashlib.sha256()
    h.update(DOMAIN)
    h.update(prev_hash.encode("ascii"))
    h.update(b"\n")
    h.update(canonical(body))
    return h.hexdigest()


def ensure_head(session: Session) -> None:
    """Create the chain head row if it is missing (idempotent)."""
    if session.get(AuditHead, 1) is None:
        session.add(AuditHead(id=1, seq=0, hash=GENESIS))
        session.flush()


# -- appending ------------------------------------------------------------------------------
@dataclass(slots=True)
class PendingEntry:
    """An entry recorded in an open transaction: the fields of an ``AuditEntry`` without the ORM.

    ``seq``, ``at``, ``prev_hash`` and ``hash`` are set when it is sealed
    (SQLite: at commit; PostgreSQL: ``at`` at commit, the rest by the sealer).
    """

    actor_id: int | None
    actor_username: str
    actor_name: str
    actor_unit: str
    ip: str
    user_agent: str
    action: str
    object_type: str
    object_id: str
    unit_code: str
    summary: str
    details: str
    seq: int = 0
    at: datetime | None = None
    prev_hash: str = ""
    hash: str = ""


def record(
    session: Session,
    action: str,
    *,
    object_type: str = "",
    object_id: Any = "",
    unit: Unit | str | None = None,
    summary: str = "",
    details: dict[str, Any] | None = None,
    actor: Actor | User | None = None,
) -> PendingEntry:
    """Record an audit entry in the caller's transaction and return it.

    The entry is sealed (numbered, hashed, inserted) when the transaction
    commits; its ``seq`` and ``hash`` are set then. If sealing fails, the
    commit fails and the whole action is rolled back.
    """
    who: Actor = (Actor.of(actor) if isinstance(actor, User) else actor) or current_actor.get() \
        or Actor.system("unknown")
    req = current_request.get() or RequestInfo()
    unit_code: str = unit.code if isinstance(unit, Unit) else str(unit or "")
    entry = PendingEntry(
        who.id, who.username[:100], (who.name or "")[:100], (who.unit or "")[:64], (req.ip or "")[:64],
        (req.user_agent or "")[:300], action[:64], (object_type or "")[:32],
        (str(object_id) if object_id not in (None, "") else "")[:64], unit_code[:64], summary or "",
        # Serialise now so that a detail that cannot be encoded fails the action at once.
        canonical(scrub(details or {})).decode("utf-8"),
    )
    if not session.in_transaction():
        # Begin now so that a rollback before any SQL still fires the hooks that drop this entry.
        session.begin()
    session.info.setdefault(PENDING, []).append(entry)
    return entry


def _take_head(session: Session, n: int) -> tuple[int, str]:
    """Lock the head and reserve ``n`` sequence numbers; returns (last reserved seq, previous hash)."""
    head = _HEAD
    stmt = update(head).where(head.c.id == 1).values(seq=head.c.seq + n).returning(head.c.seq, head.c.hash)
    row = session.execute(stmt).first()
    if row is None:
        ensure_head(session)
        row = session.execute(stmt).one()
    return int(row[0]), str(row[1])


def seal(session: Session, entries: Sequence[PendingEntry]) -> list[tuple[int, str]]:
    """Number, hash and insert ``entries`` under the append lock (inside the open transaction)."""
    if not entries:
        return []
    last, prev = _take_head(session, len(entries))
    at = utcnow()
    rows = []
    out = []
    for i, e in enumerate(entries):
        e.seq = last - len(entries) + 1 + i
        e.at = at
        e.prev_hash = prev
        e.hash = hash_bytes(prev, body_bytes(*(getattr(e, c) for c in ENTRY_COLUMNS[:14])))
        prev = e.hash
        row = {c: getattr(e, c) for c in ENTRY_COLUMNS}
        row["nonce"] = None
        rows.append(row)
        out.append((e.seq, e.hash))
    head = _HEAD
    move_head = update(head).where(head.c.id == 1).values(hash=prev)
    if session.get_bind().dialect.name == "postgresql":
        # One round trip while the lock is held: the insert rides along as a data-modifying CTE.
        ins = insert(_ENTRIES).values(rows).returning(_ENTRIES.c.seq).cte("appended")
        session.execute(move_head.add_cte(ins))
    else:
        session.execute(insert(_ENTRIES), rows)
        session.execute(move_head)
    return out


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
        event.listen(engine, "engine_disposed", lambda _e: eng.dispose())
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
    session.info.pop(_MARKS, None)
    if not pending:
        return
    w = queue_in_use(session)
    if w is not None:
        enqueue(session, pending, w.mac_key)
        conn = session.connection()
        if conn.dialect.driver == "psycopg":
            conn.info[_TRY_ON_COMMIT] = w  # see _commit_then_seal
        session.info[_SEAL] = conn
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
    w = None if conn.invalidated else conn.info.pop(_TRY_ON_COMMIT, None)
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
    conn.info[_HANDLED] = True
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
        conn.info.pop(_TRY_ON_COMMIT, None)


@event.listens_for(Session, "after_commit")
def _witness_appended(session: Session) -> None:
    appended = session.info.pop(APPENDED, None)
    w = witness_mod.for_bind(session.bind)
    conn = session.info.pop(_SEAL, None)
    if conn is not None and w is not None and not conn.info.pop(_HANDLED, False):
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
    if "audit_entries" not in statement or conn.dialect.name != "postgresql" or conn.info.get(_SETTLING):
        return
    if not statement.lstrip()[:6].upper().startswith(("SELECT", "WITH")):
        return
    w = witness_mod.for_bind(conn.engine)
    if w is not None and w.mac_key:
        settle(conn.engine, w)


@event.listens_for(Session, "after_transaction_create")
def _mark_savepoint(session: Session, trans: SessionTransaction) -> None:
    if trans.nested:
        session.info.setdefault(_MARKS, {})[id(trans)] = len(session.info.get(PENDING, []))


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.nested:
        mark = session.info.get(_MARKS, {}).pop(id(previous_transaction), None)
        if mark is not None and PENDING in session.info:
            del session.info[PENDING][mark:]
        return
    session.info.pop(PENDING, None)
    session.info.pop(APPENDED, None)
    session.info.pop(_MARKS, None)
    session.info.pop(_SEAL, None)


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, trans: SessionTransaction) -> None:
    # A savepoint's mark is still needed by after_soft_rollback, which runs after this hook.
    if not trans.nested and trans.parent is None:
        session.info.pop(PENDING, None)
        session.info.pop(APPENDED, None)
        session.info.pop(_MARKS, None)
        session.info.pop(_SEAL, None)


# -- verification ---------------------------------------------------------------------------
@dataclass
class VerifyResult:
    """The outcome of a verification; ``first_bad_seq`` names the first entry that cannot be trusted."""

    ok: bool
    entries: int
    head: dict[str, Any] | None
    first_bad_seq: int | None = None
    reason: str = ""
    start: int = 1
    witnessed: int = 0
    checkpoints: int = 0
    last_checkpoint: dict[str, Any] | None = None
    key_id: str = ""
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``GET /api/v1/audit/verify``: {ok, entries, head, ...}."""
        d: dict[str, Any] = {"ok": self.ok, "entries": self.entries, "head": self.head,
                             "witness": {"entries": self.witnessed, "checkpoints": self.checkpoints,
                                         "last_checkpoint": self.last_checkpoint, "key_id": self.key_id},
                             "warnings": list(self.warnings)}
        if self.start != 1:
            d["start"] = self.start
        if not self.ok:
            d["first_bad_seq"] = self.first_bad_seq
            d["reason"] = self.reason
        return d


class _Problems:
    """Collects problems and keeps the one with the lowest sequence number."""

    def __init__(self) -> None:
        self.seq: int | None = None
        self.reason = ""
        self.unnumbered: list[str] = []

    def add(self, seq: int | None, reason: str) -> None:
        if seq is None:
            self.unnumbered.append(reason)
        elif self.seq is None or seq < self.seq:
            self.seq, self.reason = seq, reason

    def bound(self) -> int | None:
        return self.seq

    @property
    def found(self) -> bool:
        return self.seq is not None or bool(self.unnumbered)


Row = tuple[Any, ...]


def iter_rows(session: Session, after: int = 0, batch: int = 10000) -> Iterator[Row]:
    """Entry rows (columns in ``ENTRY_COLUMNS`` order) with ``seq > after``, in sequence order."""
    t = _ENTRIES
    cols = [t.c[c] for c in ENTRY_COLUMNS]
    last = after
    while True:
        rows = session.execute(select(*cols).where(t.c.seq > last).order_by(t.c.seq).limit(batch)).all()
        if not rows:
            return
        yield from (tuple(r) for r in rows)
        last = int(rows[-1][0])


# The entry time comes formatted as the hash covers it (``format_time`` without the "Z"): the
# server formats it on its own core while the verifier hashes the previous batch.
_ROWS_SQL = ("SELECT " + ", ".join(
    """to_char(at, 'YYYY-MM-DD"T"HH24:MI:SS.US')""" if c == "at" else c for c in ENTRY_COLUMNS
) + " FROM audit_entries WHERE seq > %s ORDER BY seq LIMIT %s")


def _prefetched_rows(session: Session, after: int = 0, batch: int = 20000) -> Generator[Row, None, None]:
    """Like :func:`iter_rows`, but on PostgreSQL the next batch is fetched while the caller works on this one.

    A helper thread runs the batched queries on the session's own connection
    (so in its transaction, with the same visibility as :func:`iter_rows`)
    with a plain driver cursor (tuples, no ORM or result processing); the
    database produces the next batch on another core while the caller hashes.
    The entry time comes as text, formatted as hashed (see ``_ROWS_SQL``).
    The session must not be used until the generator is closed.
    """
    bind = session.get_bind()
    if bind.dialect.name == "sqlite":
        yield from _sqlite_rows(session, after, batch)
        return
    if bind.dialect.name != "postgresql":
        yield from iter_rows(session, after=after)
        return
    import queue
    import threading

    raw = session.connection().connection.driver_connection
    out: queue.Queue[list[Row] | BaseException | None] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def put(item: list[Row] | BaseException | None) -> bool:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def fetch() -> None:
        last = after
        try:
            with raw.cursor() as cur:  # type: ignore[union-attr]
                # Walk the primary key: with statistics not yet updated after a burst of appends the
                # planner chose to scan and sort the whole table for every batch (twice the time).
                cur.execute("SELECT current_setting('enable_sort'), set_config('enable_sort', 'off', true)")
                before = cur.fetchone()[0]
                while not stop.is_set():
                    cur.execute(_ROWS_SQL, (last, batch), prepare=True)
                    rows = cur.fetchall()
                    if not rows or not put(rows):
                        break
                    last = int(rows[-1][0])
                cur.execute("SELECT set_config('enable_sort', %s, true)", (before,))
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put(exc)
            return
        put(None)

    worker = threading.Thread(target=fetch, name="audit-verify-fetch", daemon=True)
    worker.start()
    try:
        while True:
            item = out.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield from item
    finally:
        stop.set()
        worker.join()


# SQLite keeps times as text, "YYYY-MM-DD HH:MM:SS.ffffff" as SQLAlchemy writes them: with the "T"
# they are what the hash covers (``body_bytes`` parses any other spelling).
_SQLITE_ROWS_SQL = ("SELECT " + ", ".join("replace(at, ' ', 'T')" if c == "at" else c for c in ENTRY_COLUMNS)
                    + " FROM audit_entries WHERE seq > ? ORDER BY seq")


def _sqlite_rows(session: Session, after: int, batch: int) -> Iterator[Row]:
    """The rows of :func:`iter_rows` on SQLite, read with the driver's cursor (the time as text)."""
    raw = session.connection().connection.driver_connection
    cur = raw.cursor()  # type: ignore[union-attr]
    try:
        cur.execute(_SQLITE_ROWS_SQL, (after,))
        while rows := cur.fetchmany(batch):
            yield from rows
    finally:
        cur.close()


def iter_entries(session: Session, after: int = 0, batch: int = 5000) -> Iterator[AuditEntry]:
    """All entries (ORM objects) in sequence order, fetched in batches."""
    last = after
    while True:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.seq > last).order_by(AuditEntry.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = int(rows[-1].seq)


def _row_of(e: AuditEntry) -> Row:
    return tuple(getattr(e, c) for c in ENTRY_COLUMNS)


def verify_rows(rows: Iterable[Row], *, head: tuple[int, str] | None = None,
                state: witness_mod.WitnessState | None = None, start: int = 1, prev: str = GENESIS,
                now: datetime | None = None, grace_seconds: int = witness_mod.DEFAULT_GRACE_SECONDS,
                ) -> VerifyResult:
    """Recompute the chain from ``start`` and hold it against the head row and the witness state.

    ``prev`` is the hash of entry ``start - 1`` (GENESIS for the whole trail).
    Detects edited, deleted, inserted and reordered entries (broken link or
    hash), a rebuilt chain (hashes differ from the witness), a truncated tail
    (witness or signed checkpoint beyond the last entry, or head row ahead),
    entries that never went through the application (not in the witness) and
    forged checkpoints (bad signature).
    """
    now = now or utcnow()
    grace = timedelta(seconds=grace_seconds)
    p = _Problems()
    heads: dict[int, str] = state.heads if state else {}
    valid_cps: dict[int, list[witness_mod.Checkpoint]] = {}
    adopt_seq = 0
    last_cp: witness_mod.Checkpoint | None = None
    if state is not None:
        for ln in state.malformed:
            p.add(None, f"见证文件第 {ln} 行格式错误（被改动或写入了垃圾数据）")
        for seq, (a, b) in state.conflicts.items():
            if seq >= start:
                p.add(seq, f"见证文件对第 {seq} 条记录了两个不同的哈希（{a[:12]}… / {b[:12]}…），链曾被改写")
        for cp in state.checkpoints:
            if not cp.valid:
                if cp.seq:
                    p.add(cp.seq, f"检查点（第 {cp.line} 行，第 {cp.seq} 条）：{cp.problem}")
                else:
                    p.add(None, f"检查点文件第 {cp.line} 行：{cp.problem}")
                continue
            valid_cps.setdefault(cp.seq, []).append(cp)
            if cp.kind == "adopt":
                adopt_seq = max(adopt_seq, cp.seq)
            if last_cp is None or cp.seq > last_cp.seq or (cp.seq == last_cp.seq and cp.at > last_cp.at):
                last_cp = cp
    expected = start
    count = 0
    last_seq, last_hash = start - 1, prev
    anchor = start - 1  # the last seq proven by a matching signed checkpoint
    unwitnessed = 0
    bound = p.bound()  # problems found in the witness files; within the loop every problem ends it
    for row in rows:
        seq = int(row[0])
        if bound is not None and seq >= bound:
            break
        if seq != expected:
            p.add(expected, f"第 {expected} 条记录缺失或顺序被打乱（下一条是第 {seq} 条）")
            break
        if row[14] != prev:
            p.add(seq, "与前一条记录的哈希链接断开（记录被删除、插入或调换）")
            break
        h = hash_bytes(prev, body_bytes(*row[:14]))
        if h != row[15]:
            p.add(seq, "记录内容与其哈希不符（记录被改动）")
            break
        w = heads.get(seq)
        if w is not None and w != h:
            p.add(seq, "哈希与见证文件不符（链被改写后重新计算）")
            break
        cps = valid_cps.get(seq)
        if cps:
            if any(c.hash != h for c in cps):
                p.add(anchor + 1, f"第 {anchor + 1}–{seq} 条之间的记录与第 {seq} 条的已签名检查点不符")
                break
            anchor = seq
        if state is not None and w is None and seq > adopt_seq:
            at = row[1] if row[1].__class__ is not str else datetime.fromisoformat(row[1])
            if at < now - grace or at > now + grace:
                p.add(seq, "记录不在见证文件中（不是经由本系统写入的？）")
                break
            unwitnessed += 1
        prev = h
        last_seq, last_hash = seq, h
        expected += 1
        count += 1
    head_d: dict[str, Any] = {"seq": last_seq, "hash": last_hash}
    if p.bound() is None:
        # The whole chain from ``start`` recomputed: compare its end with what says how long it was.
        if head is not None and (int(head[0]) != last_seq or head[1] != last_hash):
            bad = last_seq + 1 if int(head[0]) > last_seq else int(head[0]) + 1
            p.add(bad, f"链头记录为第 {head[0]} 条，与最后一条记录（第 {last_seq} 条）不符（尾部被截断或追加？）")
        if state is not None and state.max_seq > last_seq:
            p.add(last_seq + 1, f"见证文件记录到第 {state.max_seq} 条，数据库只到第 {last_seq} 条（尾部被截断）")
        beyond = [c.seq for cps in valid_cps.values() for c in cps if c.seq > last_seq]
        if beyond:
            p.add(last_seq + 1, f"已签名检查点记录到第 {max(beyond)} 条，数据库只到第 {last_seq} 条（尾部被截断）")
    res = VerifyResult(ok=not p.found, entries=count, head=head_d, start=start)
    if p.found:
        res.first_bad_seq = p.seq
        res.reason = p.reason if p.seq is not None else "；".join(p.unnumbered)
        if p.seq is not None and p.unnumbered:
            res.warnings.extend(p.unnumbered)
    if state is not None:
        res.witnessed = len(state.heads)
        res.checkpoints = sum(len(v) for v in valid_cps.values())
        res.key_id = state.key_id
        if last_cp is not None:
            res.last_checkpoint = {"seq": last_cp.seq, "hash": last_cp.hash, "at": last_cp.at, "kind": last_cp.kind}
        if state.key_missing:
            res.warnings.append("没有检查点签名密钥（请运行 hub init）")
        if unwitnessed:
            res.warnings.append(f"{unwitnessed} 条最新记录尚未写入见证文件（刚提交或写入中）")
    return res


def verify_chain(entries: Iterable[AuditEntry], head: AuditHead | None = None) -> VerifyResult:
    """Recompute the chain of ``entries`` alone (no witness); report the first bad entry."""
    return verify_rows((_row_of(e) for e in entries),
                       head=(int(head.seq), head.hash) if head is not None else None)


def _head_row(session: Session) -> tuple[int, str] | None:
    t = _HEAD
    row = session.execute(select(t.c.seq, t.c.hash).where(t.c.id == 1)).first()
    return (int(row[0]), str(row[1])) if row else None


def verify(session: Session, witness: witness_mod.Witness | None = None, *, start: int = 1,
           public_key: Any = None, use_witness: bool = True, now: datetime | None = None) -> VerifyResult:
    """Verify the trail in the database from ``start`` against the head row, the witness and checkpoints.

    ``witness`` defaults to the witness bound to the session's engine;
    ``public_key`` (an Ed25519 public key) pins the checkpoint key instead of
    the instance's own.
    """
    if witness is None and use_witness:
        witness = witness_mod.for_bind(session.bind)
    # The witness first: whatever it names was committed before the snapshot below is taken.
    state = witness.read(public_key) if witness is not None else None
    bind = session.get_bind()
    if bind.dialect.name == "postgresql" and isinstance(bind, Engine):
        # One snapshot for the head row, the entries and the queue, so entries appended while this
        # runs are not seen half-way (a head read before them would look like a truncated tail).
        with bind.connect() as conn:
            conn.execution_options(isolation_level="REPEATABLE READ")
            conn.info[_SETTLING] = True  # verification reads and never seals
            try:
                with Session(bind=conn) as snap:
                    return _verify(snap, witness, state, start, now)
            finally:
                conn.info.pop(_SETTLING, None)
    return _verify(session, witness, state, start, now)


def _verify(session: Session, witness: witness_mod.Witness | None, state: witness_mod.WitnessState | None,
            start: int, now: datetime | None) -> VerifyResult:
    start = max(1, int(start))
    prev = GENESIS
    if start > 1:
        t = _ENTRIES
        prow = session.execute(select(t.c.hash).where(t.c.seq == start - 1)).first()
        if prow is None:
            return VerifyResult(False, 0, None, start - 1, f"第 {start - 1} 条记录缺失", start=start)
        prev = str(prow[0])
        if state is not None and state.heads.get(start - 1, prev) != prev:
            return VerifyResult(False, 0, None, start - 1, "哈希与见证文件不符（链被改写后重新计算）", start=start)
    grace = witness.grace_seconds if witness else witness_mod.DEFAULT_GRACE_SECONDS
    head = _head_row(session)
    with closing(_prefetched_rows(session, after=start - 1)) as rows:
        res = verify_rows(rows, head=head, state=state, start=start, prev=prev, now=now, grace_seconds=grace)
    if witness is not None and witness.mac_key and session.bind is not None \
            and session.bind.dialect.name == "postgresql":
        forged, waiting = queue_state(session, witness, now=now, grace_seconds=grace)
        if forged:
            msg = f"审计队列中有 {forged} 条记录的校验码无效（不是经由本系统写入的），已拒绝入链"
            if res.ok:
                res.ok, res.reason = False, msg
            else:
                res.warnings.append(msg)
        if waiting:
            res.warnings.append(f"审计队列中有 {waiting} 条已提交的记录尚未入链（运行 hub audit checkpoint 会将其入链）")
    return res


def queue_state(session: Session, witness: witness_mod.Witness, *, now: datetime | None = None,
                grace_seconds: int = witness_mod.DEFAULT_GRACE_SECONDS) -> tuple[int, int]:
    """(rows with an invalid HMAC, valid rows waiting longer than the grace period) in the queue."""
    now = now or utcnow()
    forged = waiting = 0
    cols = [*(_QUEUE.c[c] for c in QUEUE_COLUMNS), _QUEUE.c.mac]
    for r in session.execute(select(*cols).order_by(_QUEUE.c.id)):
        if not hmac.compare_digest(str(r[-1]), queue_mac(witness.mac_key, r[:-1])):
            forged += 1
        elif r[1] < now - timedelta(seconds=grace_seconds):
            waiting += 1
    return forged, waiting


def checkpoint_now(session: Session, witness: witness_mod.Witness, kind: str = "manual") -> dict[str, Any] | None:
    """Sign a checkpoint of the current head (``hub audit checkpoint``, ``hub init``). None if empty."""
    head = _head_row(session)
    if head is None or head[0] == 0:
        return None
    return witness.write_checkpoint(head[0], head[1], kind)


# -- output shapes ----------------------------------------------------------------------------
def entry_to_dict(e: AuditEntry, with_chain: bool = False) -> dict[str, Any]:
    """An entry as JSON; ``with_chain`` adds every hashed field plus prev_hash and hash."""
    d: dict[str, Any] = {
        "seq": int(e.seq),
        "at": format_time(e.at),
        "actor": {"id": e.actor_id, "username": e.actor_username, "name": e.actor_name, "unit": e.actor_unit},
        "action": e.action,
        "object_type": e.object_type,
        "object_id": e.object_id,
        "unit": e.unit_code,
        "summary": e.summary,
    }
    if with_chain:
        d.update({"ip": e.ip, "user_agent": e.user_agent, "details": json.loads(e.details or "{}"),
                  "prev_hash": e.prev_hash, "hash": e.hash})
    return d


def utc_iso(dt: datetime) -> str:
    """A naive UTC datetime as ISO 8601 with Z."""
    return dt.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")
