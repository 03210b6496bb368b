"""Recording: who did what (Actor, RequestInfo), record() inside the action's transaction, and sealing on SQLite."""

from __future__ import annotations

import contextvars
import getpass
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from hub.audit.chain import (
    ENTRIES,
    ENTRY_COLUMNS,
    GENESIS,
    HEAD_TABLE,
    PENDING,
    body_bytes,
    canonical,
    hash_bytes,
)
from hub.models import AuditHead, Unit, User, utcnow

log = logging.getLogger(__name__)

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
    head = HEAD_TABLE
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
    head = HEAD_TABLE
    move_head = update(head).where(head.c.id == 1).values(hash=prev)
    if session.get_bind().dialect.name == "postgresql":
        # One round trip while the lock is held: the insert rides along as a data-modifying CTE.
        ins = insert(ENTRIES).values(rows).returning(ENTRIES.c.seq).cte("appended")
        session.execute(move_head.add_cte(ins))
    else:
        session.execute(insert(ENTRIES), rows)
        session.execute(move_head)
    return out


