"""Named states and the moves allowed between them (docs/design.md §10).

Each status is a ``StrEnum``: it compares equal to the string stored in the database, so the
columns and migrations are unchanged. Every code path that moves a post, dispatch, filing or
account calls :func:`check` (or :meth:`Transitions.check`) first, as wagtail's workflow
transitions refuse from the wrong state: a move the table does not allow is a programming
error or a race, and raises :class:`IllegalTransition` before anything is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum


class PostStatus(StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    PARTIALLY_PUBLISHED = "partially_published"
    FAILED = "failed"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class DispatchStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    UNCONFIRMED = "unconfirmed"
    PUBLISHED = "published"
    FAILED = "failed"
    CANCELLED = "cancelled"
    WITHDRAWN = "withdrawn"
    #: Approved for a manual-publish account (视频号, 头条号 …): waits for an editor to publish it by
    #: hand and record its URL (hub/dispatch/manual.py).
    AWAITING_MANUAL = "awaiting_manual"


class FilingStatus(StrEnum):
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"


class AccountStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CLOSED = "closed"


class IllegalTransition(RuntimeError):
    """A move the transition table does not allow (never shown to a user as such: callers check
    the state first and answer 409; this is the last line of defence)."""

    def __init__(self, kind: str, old: str, new: str) -> None:
        super().__init__(f"{kind}: {old} -> {new} is not an allowed transition")
        self.kind, self.old, self.new = kind, old, new


class Transitions:
    """An allowed-moves table: ``{from: {to, ...}}``; ``None`` as *from* is creation."""

    def __init__(self, kind: str, table: Mapping[str | None, Iterable[str]]) -> None:
        self.kind = kind
        self.table: dict[str | None, frozenset[str]] = {k: frozenset(v) for k, v in table.items()}

    def allowed(self, old: str | None, new: str) -> bool:
        return new in self.table.get(None if old is None else str(old), frozenset())

    def check(self, old: str | None, new: str) -> str:
        """Return ``new`` if ``old -> new`` is allowed, else raise :class:`IllegalTransition`."""
        if not self.allowed(old, new):
            raise IllegalTransition(self.kind, str(old), str(new))
        return new

    def sources(self, new: str) -> tuple[str, ...]:
        """Every state from which ``new`` may be reached (for conditional ``UPDATE … WHERE``)."""
        return tuple(sorted(k for k, v in self.table.items() if k is not None and new in v))


P, D, F, A = PostStatus, DispatchStatus, FilingStatus, AccountStatus

#: docs/design.md §10.2
POST = Transitions("post", {
    None: {P.DRAFT},
    P.DRAFT: {P.DRAFT, P.IN_REVIEW},
    P.REJECTED: {P.DRAFT, P.IN_REVIEW},
    P.IN_REVIEW: {P.DRAFT, P.IN_REVIEW, P.REJECTED, P.APPROVED, P.PUBLISHING},
    P.APPROVED: {P.DRAFT, P.APPROVED, P.PUBLISHING, P.PUBLISHED, P.PARTIALLY_PUBLISHED, P.FAILED,
                 P.WITHDRAWN},
    P.PUBLISHING: {P.PUBLISHING, P.PUBLISHED, P.PARTIALLY_PUBLISHED, P.FAILED, P.WITHDRAWN},
    P.FAILED: {P.PUBLISHING, P.PUBLISHED, P.PARTIALLY_PUBLISHED, P.FAILED},
    P.PARTIALLY_PUBLISHED: {P.PUBLISHING, P.PUBLISHED, P.PARTIALLY_PUBLISHED, P.WITHDRAWN, P.IN_REVIEW},
    P.PUBLISHED: {P.PUBLISHED, P.WITHDRAWN, P.IN_REVIEW},
    P.WITHDRAWN: set(),
})

#: docs/design.md §10.3
DISPATCH = Transitions("dispatch", {
    None: {D.PENDING},
    D.PENDING: {D.SENDING, D.CANCELLED, D.PUBLISHED},
    D.SENDING: {D.SENDING, D.PENDING, D.UNCONFIRMED, D.PUBLISHED, D.FAILED, D.AWAITING_MANUAL},
    D.AWAITING_MANUAL: {D.PUBLISHED, D.CANCELLED},
    D.UNCONFIRMED: {D.UNCONFIRMED, D.PENDING, D.SENDING, D.PUBLISHED, D.FAILED},
    D.FAILED: {D.PENDING, D.PUBLISHED},
    D.CANCELLED: {D.PENDING},
    D.PUBLISHED: {D.WITHDRAWN},
    D.WITHDRAWN: set(),
})

#: docs/design.md §10.4
FILING = Transitions("filing", {
    None: {F.IN_REVIEW},
    F.IN_REVIEW: {F.IN_REVIEW, F.APPROVED, F.REJECTED, F.SUPERSEDED},
    F.APPROVED: set(),
    F.REJECTED: set(),
    F.SUPERSEDED: set(),
})

#: docs/design.md §10.5
ACCOUNT = Transitions("account", {
    None: {A.PENDING},
    A.PENDING: {A.ACTIVE, A.CLOSED},
    A.ACTIVE: {A.SUSPENDED, A.CLOSED},
    A.SUSPENDED: {A.ACTIVE, A.CLOSED},
    A.CLOSED: set(),
})

DISPATCH_TERMINAL = (D.PUBLISHED, D.FAILED, D.CANCELLED)
