"""The audit trail: every action appends a hash-chained entry in its own transaction.

``record()`` is called inside the transaction of the action it records. It
queues the entry on the session; when that transaction commits, a
``before_commit`` hook takes the append lock, gives the queued entries their
sequence numbers and hashes and inserts them, all inside the same transaction.
If the entry cannot be written the commit fails and the action is rolled back
too (docs/design.md §4.4).

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

import json
from datetime import UTC, datetime
from typing import Any

from hub.audit.chain import (  # noqa: F401  (the public API: audit.record, audit.verify, …)
    APPENDED,
    DOMAIN,
    ENTRIES,
    ENTRY_COLUMNS,
    GENESIS,
    HANDLED,
    HEAD_TABLE,
    MARKS,
    PENDING,
    QUEUE_COLUMNS,
    QUEUE_DOMAIN,
    QUEUE_TABLE,
    SEAL_QUEUE,
    SETTLING,
    TRY_ON_COMMIT,
    Row,
    body_bytes,
    body_of,
    canonical,
    compute_hash,
    entry_body,
    format_time,
    hash_bytes,
)
from hub.audit.recording import (  # noqa: F401  (the public API: audit.record, audit.verify, …)
    Actor,
    PendingEntry,
    RequestInfo,
    current_actor,
    current_request,
    ensure_head,
    record,
    scrub,
    seal,
)
from hub.audit.sealer import (  # noqa: F401  (the public API: audit.record, audit.verify, …)
    MAX_PASSES,
    QUEUE_VACUUM_EVERY,
    SEAL_BATCH,
    SEALER_LOCK,
    SEALER_STATS,
    enqueue,
    queue_in_use,
    queue_mac,
    seal_after_commit,
    seal_queue,
    settle,
)
from hub.audit.verification import (  # noqa: F401  (the public API: audit.record, audit.verify, …)
    VerifyResult,
    checkpoint_now,
    iter_entries,
    iter_rows,
    queue_state,
    verify,
    verify_chain,
    verify_rows,
)
from hub.models import AuditEntry, utcnow  # noqa: F401  (audit.utcnow)


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
