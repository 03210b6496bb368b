"""The entry format: canonical body, hash, and the names of the tables and session keys the trail uses."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import Table

from hub.models import AuditEntry, AuditHead
from hub.models.audit import AuditQueued

GENESIS = "0" * 64
DOMAIN = b"zhengwu-hub/audit-entry/v1\n"

# session.info keys
PENDING = "audit_pending"      # entries recorded in the open transaction, not yet sealed
APPENDED = "audit_appended"    # (seq, hash) sealed in the committing transaction, for the witness
MARKS = "audit_savepoints"    # savepoint -> len(pending) when it began
SEAL_QUEUE = "audit_seal_queue"     # the committing transaction queued entries (its connection): seal them
SETTLING = "audit_settling"
# Connection.info keys (PostgreSQL)
TRY_ON_COMMIT = "audit_try_on_commit"  # commit with _commit_then_seal (value: the witness)
HANDLED = "audit_sealed_on_commit"     # _commit_then_seal committed and tried (or took) the sealer's lock
QUEUE_DOMAIN = b"zhengwu-hub/audit-queue/v1\n"
QUEUE_COLUMNS = ("nonce", "queued_at", "actor_id", "actor_username", "actor_name", "actor_unit", "ip",
                 "user_agent", "action", "object_type", "object_id", "unit_code", "summary", "details")

ENTRIES: Table = AuditEntry.__table__  # type: ignore[assignment]
HEAD_TABLE: Table = AuditHead.__table__  # type: ignore[assignment]
QUEUE_TABLE: Table = AuditQueued.__table__  # type: ignore[assignment]

#: A row of ``audit_entries`` in ENTRY_COLUMNS order, as the verifier reads it.
Row = tuple[Any, ...]

ENTRY_COLUMNS = ("seq", "at", "actor_id", "actor_username", "actor_name", "actor_unit", "ip", "user_agent",
                 "action", "object_type", "object_id", "unit_code", "summary", "details", "prev_hash", "hash")




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


