"""Post lists: only the columns a list shows, one page at a time (keyset paging), on an index.

A list never loads whole posts (content, renderings, approvals and dispatches are for the post
page): :func:`list_posts` reads the id, status, times, title and unit of one page of rows, in one
query whose filter and order an index matches (``ix_posts_unit_updated``, ``ix_posts_updated``;
migration 0020), and says where the next page starts. The cursor is opaque to callers: the sort
key of the last row shown (``updated_at`` and ``id``), URL-safe. Issue 19 (a page's cost does not
grow with the data) and issue 17 (lists page past 200 rows).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from hub.errors import BadRequest
from hub.models import Post, PostSearch, Revision, Unit, User
from hub.posts import search

PAGE_SIZE = 50
MAX_PAGE = 200
BAD_CURSOR = "after 不是有效的翻页位置（请使用上一页返回的 next_after）"


@dataclass(frozen=True)
class PostRow:
    """A post as a list shows it (the template reads ``unit.name`` and ``current_revision.title``
    as it does on a :class:`~hub.models.Post`)."""

    id: int
    status: str
    title: str
    unit_code: str
    unit_name: str
    revision_number: int | None
    revision_hash: str | None
    creator_id: int
    creator_username: str
    creator_name: str
    publish_at: datetime | None
    created_at: datetime | None
    updated_at: datetime
    #: The search rank (hub/posts/search.py) when the list is a search's.
    rank: int | None = None

    @property
    def unit(self) -> Any:
        return SimpleNamespace(code=self.unit_code, name=self.unit_name)

    @property
    def current_revision(self) -> Any:
        return SimpleNamespace(title=self.title, number=self.revision_number, hash=self.revision_hash) \
            if self.revision_number is not None else None

    @property
    def creator(self) -> Any:
        return SimpleNamespace(id=self.creator_id, username=self.creator_username, name=self.creator_name,
                               to_ref=lambda: {"id": self.creator_id, "username": self.creator_username,
                                               "name": self.creator_name or self.creator_username})


def encode_cursor(row: PostRow, by: str = "updated") -> str:
    key = row.updated_at.isoformat(timespec="microseconds") if by == "updated" else \
        str(int(row.rank or 0)) if by == "rank" else ""
    raw = f"{by}|{key}|{row.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _split_cursor(cursor: str, by: str) -> tuple[str, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, key, ident = raw.split("|")
        n = int(ident)
        if kind != by or n < 1 or n > 2**31 - 1:
            raise ValueError
        return key, n
    except (ValueError, UnicodeDecodeError):
        raise BadRequest(BAD_CURSOR, code="invalid_cursor") from None


def decode_cursor(cursor: str, by: str = "updated") -> tuple[datetime | None, int]:
    """(updated_at, id) of the last row of the previous page (``updated_at`` None for the id order);
    400 for anything else, or for a cursor of the other order."""
    key, n = _split_cursor(cursor, by)
    if by != "updated":
        return None, n
    try:
        at = datetime.fromisoformat(key)
    except ValueError:
        at = None
    if at is None or at.tzinfo is not None:
        raise BadRequest(BAD_CURSOR, code="invalid_cursor")
    return at, n


def decode_rank_cursor(cursor: str) -> tuple[int, int]:
    """(rank, id) of the last row of the previous page of a search; 400 for anything else."""
    key, n = _split_cursor(cursor, "rank")
    if not key.isdigit() or len(key) > 12:
        raise BadRequest(BAD_CURSOR, code="invalid_cursor")
    return int(key), n


def parse_limit(raw: str | None, default: int = PAGE_SIZE) -> int:
    if raw in (None, ""):
        return default
    try:
        n = int(str(raw))
    except ValueError:
        n = 0
    if not 1 <= n <= MAX_PAGE:
        raise BadRequest(f"limit 必须是 1 到 {MAX_PAGE} 之间的整数", code="invalid_limit")
    return n


def list_posts(session: Session, unit_ids: set[int], *, status: str | None = None, creator_id: int | None = None,
               statuses: tuple[str, ...] = (), after: str | None = None,
               limit: int = PAGE_SIZE, by: str = "updated", q: list[str] | None = None,
               category: str | None = None) -> tuple[list[PostRow], str | None]:
    """One page of posts of ``unit_ids`` and the next page's cursor: the most recently changed first
    (``by="updated"``, the pages), or the newest first (``by="id"``, the API). With search terms ``q``
    (:func:`hub.posts.search.parse_query`) only the posts that hold them, best match first (the order
    ``by`` is then ignored); ``category`` is the current revision's 栏目."""
    if not unit_ids:
        return [], None
    rank = search.rank_expr(q) if q else None
    ranked = rank.label("search_rank") if rank is not None else None
    stmt = (select(Post.id, Post.status, Revision.title, Unit.code, Unit.name, Revision.number, Revision.hash,
                   Post.creator_id, User.username, User.name, Post.publish_at, Post.created_at, Post.updated_at,
                   *((ranked,) if ranked is not None else ()))
            .join(Unit, Unit.id == Post.unit_id).join(User, User.id == Post.creator_id)
            .outerjoin(Revision, Revision.id == Post.current_revision_id)
            .where(Post.unit_id.in_(unit_ids)))
    if q and rank is not None:
        by = "rank"
        stmt = stmt.join(PostSearch, PostSearch.post_id == Post.id).where(
            search.match_clause(session.get_bind().dialect.name, q))
    if category:
        stmt = stmt.where(Revision.category == category)
    if status:
        stmt = stmt.where(Post.status == status)
    if statuses:
        stmt = stmt.where(Post.status.in_(statuses))
    if creator_id is not None:
        stmt = stmt.where(Post.creator_id == creator_id)
    if after and rank is not None:
        best, ident = decode_rank_cursor(after)
        stmt = stmt.where(or_(rank < best, and_(rank == best, Post.id < ident)))
    elif after:
        when, ident = decode_cursor(after, by)
        stmt = stmt.where(Post.id < ident if when is None else
                          or_(Post.updated_at < when, and_(Post.updated_at == when, Post.id < ident)))
    order: tuple[Any, ...] = (Post.id.desc(),) if by == "id" else (Post.updated_at.desc(), Post.id.desc())
    if ranked is not None:
        order = (ranked.desc(), Post.id.desc())
    got = [PostRow(*tuple(r)) for r in session.execute(stmt.order_by(*order).limit(limit + 1))]
    more = len(got) > limit
    rows = got[:limit]
    return rows, (encode_cursor(rows[-1], by) if more and rows else None)
