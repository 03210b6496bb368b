"""Pooled PostgreSQL connections are tested on checkout only after sitting idle (hub.db.ping_when_idle)."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, text

from hub.db import ping_when_idle

TEST_DB = os.environ.get("HUB_TEST_DATABASE_URL", "")
pytestmark = pytest.mark.skipif(not TEST_DB, reason="needs PostgreSQL (HUB_TEST_DATABASE_URL)")


def _engine(idle: float) -> object:
    eng = create_engine(TEST_DB.replace("postgresql://", "postgresql+psycopg://", 1), pool_size=1, max_overflow=0)
    ping_when_idle(eng, idle)
    return eng


def _kill(pid: int) -> None:
    admin = create_engine(TEST_DB.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        assert c.execute(text("SELECT pg_terminate_backend(:p, 10000)"), {"p": pid}).scalar()  # waits for it
    admin.dispose()


def test_an_idle_connection_killed_by_the_server_is_replaced_before_use() -> None:
    eng = _engine(idle=0.0)  # every checkout counts as idle
    try:
        with eng.connect() as c:  # type: ignore[attr-defined]
            first = c.execute(text("SELECT pg_backend_pid()")).scalar()
        _kill(first)
        with eng.connect() as c:  # type: ignore[attr-defined]
            second = c.execute(text("SELECT pg_backend_pid()")).scalar()
        assert second != first
    finally:
        eng.dispose()  # type: ignore[attr-defined]


def test_a_connection_used_moments_ago_is_not_pinged() -> None:
    """No round trip on checkout: a connection killed right after use fails its next statement once
    (what pool_pre_ping would have hidden at the cost of a ping in every transaction), then the pool heals."""
    from sqlalchemy.exc import OperationalError

    eng = _engine(idle=3600.0)
    try:
        with eng.connect() as c:  # type: ignore[attr-defined]
            first = c.execute(text("SELECT pg_backend_pid()")).scalar()
        _kill(first)
        c = eng.connect()  # type: ignore[attr-defined]
        with pytest.raises(OperationalError, match="terminating connection"):
            c.execute(text("SELECT 1"))
        c.rollback()  # the hub's connection listeners must not get in the way (see the test below)
        c.close()
        with eng.connect() as c:  # type: ignore[attr-defined]
            assert c.execute(text("SELECT pg_backend_pid()")).scalar() != first
    finally:
        eng.dispose()  # type: ignore[attr-defined]


def test_a_session_whose_connection_died_rolls_back_and_works_again(app: object) -> None:
    """After the server drops a connection mid-transaction, rollback must succeed (the audit hooks on
    commit and rollback must not touch the dead connection) and the next transaction gets a new one."""
    from sqlalchemy.exc import OperationalError

    from hub.db import db

    s = db.session()
    pid = s.execute(text("SELECT pg_backend_pid()")).scalar()
    _kill(int(pid or 0))
    with pytest.raises(OperationalError):
        s.execute(text("SELECT 1"))
    s.rollback()
    assert db.session().execute(text("SELECT pg_backend_pid()")).scalar() != pid


def test_a_connection_broken_under_a_raw_driver_call_is_replaced_on_checkout() -> None:
    """The audit sealer talks to psycopg directly; SQLAlchemy never sees that call fail, so the pool
    must notice the driver's own "closed" mark and hand out a new connection (not fail forever)."""
    import psycopg

    # As the sealer's engine: autocommit and no reset round trip when a connection is returned.
    eng = create_engine(TEST_DB.replace("postgresql://", "postgresql+psycopg://", 1), pool_size=1, max_overflow=0,
                        isolation_level="AUTOCOMMIT", pool_reset_on_return=None)
    ping_when_idle(eng, 3600.0)
    try:
        with eng.connect() as c:  # type: ignore[attr-defined]
            first = c.execute(text("SELECT pg_backend_pid()")).scalar()
        _kill(first)
        with eng.connect() as c, pytest.raises(psycopg.OperationalError):  # type: ignore[attr-defined]
            c.connection.driver_connection.execute("SELECT 1")
        with eng.connect() as c:  # type: ignore[attr-defined]
            assert c.connection.driver_connection.execute("SELECT pg_backend_pid()").fetchone()[0] != first
    finally:
        eng.dispose()  # type: ignore[attr-defined]


def test_a_forked_child_leaves_the_parents_sealer_connections_open(app: object) -> None:
    """RQ's scheduler is a forked child of the worker; when it lets go of the inherited pools it must
    not close the sockets it shares with its parent (the parent's audit sealing would then fail)."""
    from hub.audit import sealer
    from hub.audit import witness as witness_mod
    from hub.db import db
    from hub.worker import _after_fork_in_child

    w = witness_mod.for_bind(db.engine)
    assert w is not None
    sealer.settle(db.engine, w)  # the sealer's own engine now holds a pooled connection
    pid = os.fork()
    if pid == 0:  # the child: what the worker's at-fork hook does, then leave
        try:
            _after_fork_in_child()
            import gc

            gc.collect()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    sealer.settle(db.engine, w)  # the parent's pooled sealer connection still works
