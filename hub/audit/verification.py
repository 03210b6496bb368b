"""Verification: walk the chain, compare it with its head and the witness outside the database."""

from __future__ import annotations

import hmac
from collections.abc import Generator, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hub.audit import witness as witness_mod
from hub.audit.chain import (
    ENTRIES,
    ENTRY_COLUMNS,
    GENESIS,
    HEAD_TABLE,
    QUEUE_COLUMNS,
    QUEUE_TABLE,
    SETTLING,
    Row,
    body_bytes,
    hash_bytes,
)
from hub.audit.sealer import queue_mac
from hub.models import AuditEntry, AuditHead, utcnow


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




def iter_rows(session: Session, after: int = 0, batch: int = 10000) -> Iterator[Row]:
    """Entry rows (columns in ``ENTRY_COLUMNS`` order) with ``seq > after``, in sequence order."""
    t = ENTRIES
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
    t = HEAD_TABLE
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
            conn.info[SETTLING] = True  # verification reads and never seals
            try:
                with Session(bind=conn) as snap:
                    return _verify(snap, witness, state, start, now)
            finally:
                conn.info.pop(SETTLING, None)
    return _verify(session, witness, state, start, now)


def _verify(session: Session, witness: witness_mod.Witness | None, state: witness_mod.WitnessState | None,
            start: int, now: datetime | None) -> VerifyResult:
    start = max(1, int(start))
    prev = GENESIS
    if start > 1:
        t = ENTRIES
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
    cols = [*(QUEUE_TABLE.c[c] for c in QUEUE_COLUMNS), QUEUE_TABLE.c.mac]
    for r in session.execute(select(*cols).order_by(QUEUE_TABLE.c.id)):
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


