"""Times as the API writes them (docs/design.md §4.7: stored in UTC; ISO 8601 on the wire)."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(dt: datetime | None) -> str | None:
    """A stored (naive UTC) time as ISO 8601 with ``Z``; None stays None."""
    return dt.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z") if dt else None
