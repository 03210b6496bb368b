"""Lookups a page repeats per row, remembered for one transaction of one session.

List pages ask the same small questions for every row (the unit tree, an account's latest filing,
who supervises a unit). :func:`memo` gives a dict kept in ``session.info`` for the current
transaction: it is dropped when the transaction (or savepoint) ends, and when the session flushes
an object of one of the model classes the entry depends on, so a write in the same transaction
is never answered from a stale memo. Page costs then stay independent of the rows shown (issue 19;
tests/perf/test_statement_counts.py).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

_KEY = "hub_memo"
_DEPENDS = "hub_memo_depends"


def memo(session: Session, name: str, depends_on: tuple[type, ...]) -> dict[Any, Any]:
    """The transaction's memo ``name``; forgotten when an object of ``depends_on`` is flushed."""
    store = session.info.setdefault(_KEY, {})
    if name not in store:
        store[name] = {}
        session.info.setdefault(_DEPENDS, {})[name] = depends_on
    return store[name]


@event.listens_for(Session, "after_flush")
def _forget_on_flush(session: Session, _ctx: object) -> None:
    depends = session.info.get(_DEPENDS)
    if not depends:
        return
    touched = {type(o) for o in (*session.new, *session.dirty, *session.deleted)}
    store = session.info.get(_KEY, {})
    for name, kinds in list(depends.items()):
        if any(issubclass(t, kinds) for t in touched):
            store.pop(name, None)
            depends.pop(name, None)


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, _tx: object) -> None:
    session.info.pop(_KEY, None)
    session.info.pop(_DEPENDS, None)
