"""The append queue on PostgreSQL: forged or replayed queue rows never enter the chain; stragglers are sealed."""

from __future__ import annotations

from typing import Any

import pytest
from audit_helpers import make_trail  # type: ignore[import-not-found]
from click.testing import CliRunner
from sqlalchemy import func, select, text

from hub import audit
from hub.db import db
from hub.models import AuditEntry
from hub.models.audit import AuditQueued


@pytest.fixture
def pg(app: Any) -> Any:
    if db.engine is None or db.engine.dialect.name != "postgresql":
        pytest.skip("the append queue is used on PostgreSQL (SQLite seals inside the action's transaction)")
    return app.extensions["hub_witness"]


def _count(model: Any) -> int:
    n = db.session().scalar(select(func.count()).select_from(model)) or 0
    db.session.remove()
    return int(n)


def test_entries_pass_through_the_queue(pg: Any) -> None:
    make_trail(5)
    assert _count(AuditQueued) == 0
    assert db.session().scalars(select(AuditEntry.nonce).where(AuditEntry.action == "test.event")).all()
    assert audit.verify(db.session()).ok


def test_forged_queue_row_is_never_sealed(pg: Any, run_verify: Any) -> None:
    make_trail(2)
    before = _count(AuditEntry)
    with db.engine.begin() as c:  # type: ignore[union-attr]
        c.execute(text("INSERT INTO audit_queue (nonce, queued_at, actor_id, actor_username, actor_name, actor_unit,"
                       " ip, user_agent, action, object_type, object_id, unit_code, summary, details, mac) VALUES "
                       "('f0f0', now(), NULL, 'mallory', '', '', '', '', 'post.approve', 'post', '1', '', '伪造',"
                       " '{}', :mac)"), {"mac": "0" * 64})
    make_trail(2)  # the hub keeps sealing; the forged row stays out of the chain
    assert _count(AuditEntry) == before + 2
    res = run_verify()
    assert res.code == 1 and "校验码无效" in res.output


def test_replayed_queue_row_is_not_sealed_twice(pg: Any) -> None:
    make_trail(1)
    row = db.session().execute(select(AuditEntry).order_by(AuditEntry.seq.desc())).scalars().first()
    assert row is not None and row.nonce
    values = [row.nonce, row.at, row.actor_id, row.actor_username, row.actor_name, row.actor_unit, row.ip,
              row.user_agent, row.action, row.object_type, row.object_id, row.unit_code, row.summary, row.details]
    mac = audit.queue_mac(pg.mac_key, values)  # what the original queue row carried
    db.session.remove()
    before = _count(AuditEntry)
    with db.engine.begin() as c:  # type: ignore[union-attr]
        c.execute(AuditQueued.__table__.insert().values({**dict(zip(audit.QUEUE_COLUMNS, values, strict=True)),
                                                         "mac": mac}))
    make_trail(1)
    assert _count(AuditEntry) == before + 1 and _count(AuditQueued) == 0
    assert audit.verify(db.session()).ok


def test_queued_entry_of_a_dead_writer_is_sealed_later(pg: Any) -> None:
    from hub.cli import main

    with db.transaction() as s:  # queued and committed, but the writer "died" before sealing
        audit.enqueue(s, [AuditEntry(
            actor_id=None, actor_username="system:test", actor_name="", actor_unit="", ip="", user_agent="",
            action="test.straggler", object_type="", object_id="", unit_code="", summary="滞留", details="{}",
            prev_hash="", hash="")], pg.mac_key)
    assert _count(AuditQueued) == 1
    pg.grace_seconds = 0
    res = audit.verify(db.session())
    assert res.ok and any("尚未入链" in w for w in res.warnings)
    db.session.remove()
    out = CliRunner().invoke(main, ["audit", "checkpoint"])
    assert out.exit_code == 0, out.output
    assert _count(AuditQueued) == 0
    s = db.session()
    assert s.scalars(select(AuditEntry.action).order_by(AuditEntry.seq.desc())).first() == "test.straggler"
    assert audit.verify(s).ok


def test_a_queued_row_copied_before_sealing_is_chained_once(pg: Any) -> None:
    with db.transaction() as s:  # queued and committed, not sealed yet
        audit.enqueue(s, [audit.PendingEntry(None, "system:test", "", "", "", "", "test.copied", "", "", "",
                                             "被复制的待入链记录", "{}")], pg.mac_key)
    with db.engine.begin() as c:  # type: ignore[union-attr]
        cols = ", ".join((*audit.QUEUE_COLUMNS, "mac"))
        c.execute(text(f"INSERT INTO audit_queue ({cols}) SELECT {cols} FROM audit_queue"))  # a valid copy
    assert _count(AuditQueued) == 2
    audit.seal_queue(db.engine, pg)
    assert _count(AuditQueued) == 0
    s = db.session()
    assert s.scalars(select(func.count()).where(AuditEntry.action == "test.copied")).one() == 1
    assert audit.verify(s).ok
