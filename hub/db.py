"""Database engine and session handling shared by web, worker and CLI.

SQLite (the embedded default) is shared by several processes: WAL journal,
a busy timeout and foreign keys on. Transactions that write begin with
``BEGIN IMMEDIATE`` so that two processes never deadlock on a lock upgrade;
plain reads begin deferred so readers never queue.
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.orm import Session, scoped_session, sessionmaker

# Whether the next SQLite transaction on this context should take the write lock up front.
# Only ``Database.transaction()`` sets it: plain reads begin deferred and never queue.
write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("hub_write_intent", default=False)


def _install_sqlite_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write_intent.get() else "BEGIN")


def make_engine(url: str) -> Engine:
    """Create the engine for ``url`` with the settings this application relies on."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        _install_sqlite_hooks(engine)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    engine = create_engine(url, pool_size=5, max_overflow=10)
    ping_when_idle(engine)
    return engine


PING_AFTER_IDLE_SECONDS = 5.0


def ping_when_idle(engine: Engine, idle: float = PING_AFTER_IDLE_SECONDS) -> None:
    """Test a pooled connection on checkout only if it sat idle for ``idle`` seconds.

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout: with a session per
    transaction that is one round trip (two, with the implicit BEGIN) added to
    every transaction. A connection used moments ago is almost surely alive;
    one that idled (or a server restart) is tested and, if dead, replaced
    before the transaction starts. A connection that dies in that short window
    fails its next statement, and SQLAlchemy then invalidates the whole pool. A connection the
    driver already marks closed (its server end went away under a raw driver call, which SQLAlchemy
    does not see) is replaced on checkout too.
    """

    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info["hub_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        if getattr(dbapi_conn, "closed", False):  # the driver already knows it is gone (no round trip)
            raise exc.DisconnectionError("pooled connection is closed")
        since = record.info.get("hub_idle_since")
        if since is None or time.monotonic() - since < idle:
            return
        try:
            with dbapi_conn.cursor() as cur:
                cur.execute("SELECT 1")
            dbapi_conn.rollback()
        except Exception as e:
            raise exc.DisconnectionError("pooled connection is dead") from e


class Database:
    """Holds the engine and a scoped session; bound to an app by ``init_app``."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self._factory: sessionmaker[Session] | None = None
        self.session: scoped_session[Session] = scoped_session(self._make_session)  # type: ignore[arg-type]

    def _make_session(self) -> Session:
        if self._factory is None:
            raise RuntimeError("database not initialised: call init_app first")
        return self._factory()

    def configure(self, url: str) -> None:
        """Point this database at ``url`` (disposes any previous engine)."""
        self.session.remove()
        if self.engine is not None:
            self.engine.dispose()
        self.engine = make_engine(url)
        self._factory = sessionmaker(bind=self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine is not None and self.engine.dialect.name == "sqlite"

    def init_app(self, app: Any) -> None:
        self.configure(app.config["HUB_DATABASE_URL"])

        @app.teardown_appcontext
        def _remove_session(_exc: BaseException | None) -> None:
            self.session.remove()

        @app.teardown_request
        def _remove_request_session(_exc: BaseException | None) -> None:
            self.session.remove()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write transaction on the scoped session: commit on success, roll back on error."""
        s = self.session()
        token = write_intent.set(True)
        try:
            if s.in_transaction():
                s.commit()
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            write_intent.reset(token)


db = Database()

log = logging.getLogger(__name__)

#: ``Session.info`` key of the callbacks waiting for the session's transaction to commit.
AFTER_COMMIT = "hub_after_commit"


def after_commit(session: Session, callback: Callable[[], object]) -> None:
    """Run ``callback()`` once the session's current transaction commits; drop it on rollback.

    This is the one way a service asks for a side effect of its change (a job on the queue, a
    scheduled job deleted): the controller only commits. Callbacks run in order; one that
    raises is logged and does not stop the others (the database is already committed, and
    the sweeper finds whatever a lost enqueue left behind).
    """
    session.info.setdefault(AFTER_COMMIT, []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    callbacks = session.info.pop(AFTER_COMMIT, None)
    for cb in callbacks or ():
        try:
            cb()
        except Exception:
            log.warning("after-commit callback %r failed", cb, exc_info=True)


@event.listens_for(Session, "after_rollback")
def _drop_after_commit(session: Session) -> None:
    session.info.pop(AFTER_COMMIT, None)
