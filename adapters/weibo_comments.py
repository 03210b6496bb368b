"""Weibo comments: what the public writes under the account's statuses or where it @mentions the account.

``comments/to_me.json`` (comments on the account's statuses) and ``comments/mentions.json`` (comments
that @mention the account) are read since the last comment id seen; ``comments/reply.json`` answers one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .base import PlatformError

DEFAULT_API_BASE = "https://api.weibo.com"

__all__ = ["InboundComment", "PlatformError", "fetch_comments", "reply_comment"]


@dataclass
class InboundComment:
    """One comment from the public. ``kind``: "comment" (on the account's status) | "mention"."""

    comment_id: str
    status_id: str
    user_id: str
    text: str
    created_at: datetime  # timezone-aware, UTC
    kind: str


def fetch_comments(credentials: dict[str, str], *, since_id: str | None,
                   api_base: str | None = None) -> list[InboundComment]:
    """Every comment to the account and every comment mentioning it newer than ``since_id``, oldest first.

    ``credentials``: the account's (``access_token``). ``api_base``: the account's API base (else
    ``credentials["api_base"]``, else https://api.weibo.com). Raises :class:`PlatformError`.
    """
    raise NotImplementedError


def reply_comment(credentials: dict[str, str], *, status_id: str, comment_id: str, text: str,
                  api_base: str | None = None) -> str:
    """Reply ``text`` to the comment ``comment_id`` on status ``status_id``; returns the reply's id.

    Raises :class:`PlatformError`.
    """
    raise NotImplementedError
