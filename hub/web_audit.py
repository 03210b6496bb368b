"""Web pages of the audit area, added to the web blueprint (see hub.web)."""

from __future__ import annotations

from .web import bp

__all__ = ["bp"]
