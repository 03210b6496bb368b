"""REST endpoints of the review area, added to the API blueprint (see hub.api)."""

from __future__ import annotations

from .api import bp

__all__ = ["bp"]
