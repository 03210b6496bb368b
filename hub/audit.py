"""The audit trail: every action appends a hash-chained entry in its own transaction.

``record()`` is called inside the transaction of the action it records, so if
the entry cannot be written the action is rolled back too (DESIGN rule 4).
Appends are serialised by updating the single ``audit_head`` row first: on
PostgreSQL that is a row lock, on SQLite the database writer lock.
"""

from __future__ import annotations

import contextvars
import getpass
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .models import AuditEntry, AuditHead, Unit, User, utcnow

GENESIS = "0" * 64
DOMAIN = b"zhengwu-hub/audit-entry/v1\n"

# Keys whose values must never be written to audit details.
_SECRET_WORDS = ("secret", "password", "token", "aeskey", "aes_key", "private", "credential_value")


@dataclass
class Actor:
    """Who performed an action, snapshotted into the entry."""

    id: int | None
    username: str
    name: str = ""
    unit: str = ""

    @classmethod
    def of(cls, user: User) -> Actor:
        return cls(user.id, user.username, user.display_name(), user.unit.code if user.unit else "")

    @classmethod
    def cli(cls) -> Actor:
        try:
            who = getpass.getuser()
        except Exception:  # no login name in some containers
            who = "unknown"
        return cls(None, f"cli:{who}", "", "")

    @classmethod
    def system(cls, what: str) -> Actor:
        return cls(None, f"system:{what}", "", "")


@dataclass
class RequestInfo:
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
            if any(w in lk for w in _SECRET_WORDS) and not lk.endswith(("_set", "_field", "_fields")):
                out[k] = "[redacted]"
            else:
                out[k] = scrub(v)
        return out
    if isinstance(details, list | tuple):
        return [scrub(v) for v in details]
    return details


def canonical(obj: Any) -> bytes:
    """Canonical JSON: sorted keys, no whitespace, UTF-8."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def format_time(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_body(e: AuditEntry) -> dict[str, Any]:
    """The fields covered by an entry's hash (everything except the hashes)."""
    return {
        "seq": int(e.seq),
        "at": format_time(e.at),
        "actor": {"id": e.actor_id, "username": e.actor_username, "name": e.actor_name, "unit": e.actor_unit},
        "ip": e.ip,
        "user_agent": e.user_agent,
        "action": e.action,
        "object_type": e.object_type,
        "object_id": e.object_id,
        "unit": e.unit_code,
        "summary": e.summary,
        "details": json.loads(e.details or "{}"),
    }


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
) -> AuditEntry:
    """Append an audit entry inside the caller's transaction and return it."""
    if isinstance(actor, User):
        actor = Actor.of(actor)
    actor = actor or current_actor.get() or Actor.system("unknown")
    req = current_request.get() or RequestInfo()
    unit_code = unit.code if isinstance(unit, Unit) else (unit or "")
    # Take the append lock: bump the head's seq (row lock / SQLite writer lock).
    row = session.execute(
        update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq + 1)
        .returning(AuditHead.seq, AuditHead.hash)
    ).first()
    if row is None:
        ensure_head(session)
        row = session.execute(
            update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq + 1)
            .returning(AuditHead.seq, AuditHead.hash)
        ).one()
    seq, prev = int(row[0]), str(row[1])
    entry = AuditEntry(
        seq=seq,
        at=utcnow(),
        actor_id=actor.id,
        actor_username=actor.username[:100],
        actor_name=(actor.name or "")[:100],
        actor_unit=actor.unit or "",
        ip=(req.ip or "")[:64],
        user_agent=(req.user_agent or "")[:300],
        action=action,
        object_type=object_type,
        object_id=str(object_id) if object_id not in (None, "") else "",
        unit_code=unit_code,
        summary=summary,
        details=canonical(scrub(details or {})).decode("utf-8"),
        prev_hash=prev,
        hash="",
    )
    entry.hash = compute_hash(prev, entry_body(entry))
    session.add(entry)
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(hash=entry.hash))
    session.flush()
    session.info.setdefault("audit_appended", []).append((entry.seq, entry.hash))
    return entry


@dataclass
class VerifyResult:
    ok: bool
    entries: int
    head: dict[str, Any] | None
    first_bad_seq: int | None = None
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"ok": self.ok, "entries": self.entries, "head": self.head}
        if not self.ok:
            d["first_bad_seq"] = self.first_bad_seq
            d["reason"] = self.reason
        return d


def iter_entries(session: Session, after: int = 0, batch: int = 5000) -> Iterator[AuditEntry]:
    """All entries in sequence order, fetched in batches."""
    last = after
    while True:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.seq > last).order_by(AuditEntry.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = int(rows[-1].seq)


def verify_chain(entries: Iterable[AuditEntry], head: AuditHead | None = None) -> VerifyResult:
    """Recompute the chain; report the first entry whose seq, link or hash is wrong."""
    prev = GENESIS
    expected = 1
    count = 0
    last: AuditEntry | None = None
    for e in entries:
        if int(e.seq) != expected:
            return VerifyResult(False, count, None, expected, f"entry {expected} is missing or out of order")
        if e.prev_hash != prev:
            return VerifyResult(False, count, None, int(e.seq), "previous-hash link is broken")
        if compute_hash(prev, entry_body(e)) != e.hash:
            return VerifyResult(False, count, None, int(e.seq), "entry content does not match its hash")
        prev = e.hash
        expected += 1
        count += 1
        last = e
    last_seq, last_hash = (int(last.seq), last.hash) if last else (0, GENESIS)
    head_d: dict[str, Any] = {"seq": last_seq, "hash": last_hash}
    if head is not None and (int(head.seq) != last_seq or head.hash != last_hash):
        bad = last_seq + 1 if int(head.seq) > last_seq else int(head.seq) + 1
        return VerifyResult(False, count, head_d, bad, "the chain head does not match the last entry (truncated?)")
    return VerifyResult(True, count, head_d)


def verify(session: Session) -> VerifyResult:
    """Verify the whole trail in the database."""
    return verify_chain(iter_entries(session), session.get(AuditHead, 1))


def entry_to_dict(e: AuditEntry, with_chain: bool = False) -> dict[str, Any]:
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
