"""Database engine and session handling shared by web, worker and CLI.

SQLite (the embedded default) is shared by several processes: WAL journal,
a busy timeout and foreign keys on. Transactions that write begin with
``BEGIN IMMEDIATE`` so that two processes never deadlock on a lock upgrade;
plain reads begin deferred so readers never queue.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
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
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


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
