"""Fail closed: if the audit entry cannot be written, the action did not happen (docs/design.md §4.4)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import func, select, text

from hub import audit
from hub.db import db
from hub.models import AuditEntry, Post, Unit
from hub.org.service import create_unit


@contextmanager
def audit_store_broken() -> Iterator[None]:
    """Make every insert into audit_entries fail, as a full disk or a revoked grant would."""
    assert db.engine is not None
    pg = db.engine.dialect.name == "postgresql"
    db.session.remove()
    with db.engine.begin() as c:
        if pg:  # the action's transaction writes to the queue there (hub.audit)
            c.execute(text("CREATE OR REPLACE FUNCTION test_audit_broken() RETURNS trigger AS $$ "
                           "BEGIN RAISE EXCEPTION 'audit store unavailable'; END $$ LANGUAGE plpgsql"))
            for table in ("audit_entries", "audit_queue"):
                c.execute(text(f"CREATE TRIGGER test_audit_broken BEFORE INSERT ON {table} "
                               "FOR EACH ROW EXECUTE FUNCTION test_audit_broken()"))
        else:
            c.execute(text("CREATE TRIGGER test_audit_broken BEFORE INSERT ON audit_entries "
                           "BEGIN SELECT RAISE(ABORT, 'audit store unavailable'); END"))
    try:
        yield
    finally:
        db.session.remove()
        with db.engine.begin() as c:
            if pg:
                for table in ("audit_entries", "audit_queue"):
                    c.execute(text(f"DROP TRIGGER IF EXISTS test_audit_broken ON {table}"))
                c.execute(text("DROP FUNCTION IF EXISTS test_audit_broken()"))
            else:
                c.execute(text("DROP TRIGGER IF EXISTS test_audit_broken"))


def _counts() -> tuple[int, int]:
    s = db.session()
    out = (s.scalar(select(func.count()).select_from(Post)) or 0,
           s.scalar(select(func.count()).select_from(AuditEntry)) or 0)
    db.session.remove()
    return out


def test_post_not_created_when_its_audit_entry_fails(world: Any, app: Any) -> None:
    api = world["api"]
    body = {"title": "关于做好防汛工作的通知", "content": "<p>请做好防汛工作。</p>", "account_ids": world["accounts"][:1]}
    posts_before, entries_before = _counts()
    witness_before = app.extensions["hub_witness"].witness_path.read_text()
    with audit_store_broken():
        r = api["editor"].post("/posts", json=body)
        assert r.status_code == 500
        assert "error" in r.get_json()
    assert _counts() == (posts_before, entries_before)
    assert app.extensions["hub_witness"].witness_path.read_text() == witness_before
    # With the audit store back, the same request works and is audited.
    r = api["editor"].post("/posts", json=body)
    assert r.status_code == 201
    assert _counts() == (posts_before + 1, entries_before + 1)
    assert audit.verify(db.session()).ok


def test_login_refused_when_its_audit_entry_fails(world: Any, client: Any) -> None:
    from support import PASSWORD  # type: ignore[import-not-found]

    app = client.application
    app.config["WTF_CSRF_ENABLED"] = False
    try:
        with audit_store_broken():
            r = client.post("/login", data={"username": "editor", "password": PASSWORD})
            assert r.status_code == 500
        assert client.get("/").status_code == 302  # still not logged in
        r = client.post("/login", data={"username": "editor", "password": PASSWORD})
        assert r.status_code == 302
        s = db.session()
        assert s.scalars(select(AuditEntry.action).order_by(AuditEntry.seq.desc())).first() == "auth.login"
    finally:
        app.config["WTF_CSRF_ENABLED"] = True


def test_unencodable_details_fail_the_action(app: Any) -> None:
    with pytest.raises(TypeError):
        with db.transaction() as s:
            create_unit(s, "fc1", "测试单位", None, "region")
            audit.record(s, "test.bad", details={"x": object()})
    assert db.session().scalars(select(Unit).where(Unit.code == "fc1")).first() is None


def test_rolled_back_savepoint_leaves_no_entry(app: Any) -> None:
    _, before = _counts()
    with db.transaction() as s:
        audit.record(s, "test.kept", summary="保留")
        sp = s.begin_nested()
        audit.record(s, "test.dropped", summary="回滚")
        sp.rollback()
        audit.record(s, "test.kept", summary="保留")
    s = db.session()
    actions = list(s.scalars(select(AuditEntry.action).where(AuditEntry.seq > before).order_by(AuditEntry.seq)))
    assert actions == ["test.kept", "test.kept"]
    assert audit.verify(s).ok


def test_rolled_back_transaction_leaves_no_entry(app: Any) -> None:
    _, before = _counts()
    with pytest.raises(RuntimeError):
        with db.transaction() as s:
            audit.record(s, "test.never", summary="不应出现")
            raise RuntimeError("action failed")
    with db.transaction() as s:
        audit.record(s, "test.after", summary="之后")
    s = db.session()
    assert list(s.scalars(select(AuditEntry.action).where(AuditEntry.seq > before))) == ["test.after"]
    assert audit.verify(s).ok
