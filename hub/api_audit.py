"""REST endpoints of the audit area, added to the API blueprint (see hub.api)."""

from __future__ import annotations

from .api import bp

__all__ = ["bp"]
