"""Helpers for the audit tests: a small trail and an attacker with raw database access."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import text

from hub import audit
from hub.db import db


def make_trail(n: int) -> None:
    """Append ``n`` entries through the real append path, one transaction each."""
    token = audit.current_actor.set(audit.Actor.system("test"))
    try:
        for i in range(n):
            with db.transaction() as s:
                audit.record(s, "test.event", object_type="test", object_id=i, unit="",
                             summary=f"测试事件 {i}", details={"i": i, "revision_hash": "ab" * 32})
    finally:
        audit.current_actor.reset(token)


class Attacker:
    """Someone with write access to the database who bypasses the append-only triggers."""

    def __init__(self) -> None:
        assert db.engine is not None
        self.engine = db.engine
        self.dialect = db.engine.dialect.name

    @contextmanager
    def conn(self) -> Iterator[Any]:
        db.session.remove()
        with self.engine.begin() as c:
            if self.dialect == "postgresql":
                c.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only"))
            else:
                c.execute(text("DROP TRIGGER IF EXISTS audit_entries_no_update"))
                c.execute(text("DROP TRIGGER IF EXISTS audit_entries_no_delete"))
            try:
                yield c
            finally:
                # Leave the shared test database as the migration made it.
                if self.dialect == "postgresql":
                    c.execute(text("ALTER TABLE audit_entries ENABLE TRIGGER audit_entries_append_only"))
        if self.dialect == "sqlite":
            from importlib import import_module

            mig = import_module("hub.migrations.versions.0002_audit_guard")
            with self.engine.begin() as c2:
                for sql in mig.SQLITE_TRIGGERS:
                    c2.execute(text(sql))

    def rows(self) -> list[dict[str, Any]]:
        with self.engine.connect() as c:
            rows = [dict(r._mapping) for r in c.execute(text("SELECT * FROM audit_entries ORDER BY seq"))]
        for r in rows:
            if isinstance(r["at"], str):  # SQLite hands raw text back
                r["at"] = datetime.fromisoformat(r["at"])
        return rows

    def renumber(self, c: Any, from_seq: int, delta: int) -> None:
        """Shift every seq >= from_seq by delta (two steps: the primary key is checked per row)."""
        c.execute(text("UPDATE audit_entries SET seq = -(seq + :d) WHERE seq >= :s"), {"d": delta, "s": from_seq})
        c.execute(text("UPDATE audit_entries SET seq = -seq WHERE seq < 0"))

    def rechain(self, c: Any, from_seq: int) -> None:
        """Recompute prev_hash/hash from ``from_seq`` to the end and point the head at the new end."""
        rows = [dict(r._mapping) for r in c.execute(text("SELECT * FROM audit_entries ORDER BY seq"))]
        prev = audit.GENESIS
        for r in rows:
            seq = int(r["seq"])
            if seq >= from_seq:
                at = r["at"]
                if isinstance(at, str):
                    at = datetime.fromisoformat(at)
                body = audit.body_of(seq, at, r["actor_id"], r["actor_username"], r["actor_name"],
                                     r["actor_unit"], r["ip"], r["user_agent"], r["action"], r["object_type"],
                                     r["object_id"], r["unit_code"], r["summary"], r["details"])
                h = audit.compute_hash(prev, body)
                c.execute(text("UPDATE audit_entries SET prev_hash = :p, hash = :h WHERE seq = :s"),
                          {"p": prev, "h": h, "s": seq})
                prev = h
            else:
                prev = r["hash"]
        last = int(rows[-1]["seq"]) if rows else 0
        c.execute(text("UPDATE audit_head SET seq = :s, hash = :h WHERE id = 1"), {"s": last, "h": prev})


class VerifyRun:
    def __init__(self, code: int, output: str) -> None:
        self.code, self.output = code, output

    def names(self, seq: int) -> bool:
        return f"seq {seq}:" in self.output and f"第 {seq} 条" in self.output
