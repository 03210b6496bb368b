"""Full-text search of posts: the titles and bodies of their current revisions, on an index, ranked.

What is searched is one row per post in ``post_search`` (:class:`~hub.models.PostSearch`): the current
revision's title and the plain text of its body (and of its further articles), written by
:func:`index_revision` whenever a revision becomes current, and in bulk by :func:`index_rows`
(migration 0021's backfill, bench/seed.py).

The query ``q`` is cut at white space into at most :data:`MAX_TERMS` terms; a post matches when every
term occurs (as a substring, letter case ignored) in its title or its body. Chinese has no spaces
between words, so the indexes are of character trigrams:

* PostgreSQL: ``LIKE '%term%'`` on ``title`` and ``body`` (stored in lower case, as the terms are),
  each with a ``pg_trgm`` GIN index (``gin_trgm_ops``), combined by a bitmap OR; the planner reads
  the whole table instead when a term is in a large share of the posts (bench/search.py);
* SQLite: the FTS5 table ``post_search_fts`` (``tokenize='trigram'``): ``MATCH '"term"'`` for terms of
  three characters or more; a term of one or two characters (under a trigram) is matched with LIKE
  on ``post_search`` (a scan, the only way for so short a term).

Rank: per term, 1,000,000 when the title holds it plus the number of times the body holds it, summed
over the terms; so posts whose title matches come first, then those whose body matches more often.
Ties, and pages, go by post id, newest first (the cursor is the rank and id of the last row shown).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    bindparam,
    case,
    cast,
    column,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    table,
)
from sqlalchemy.orm import Session

from hub.content import html_to_text
from hub.errors import BadRequest
from hub.inputs import control_char
from hub.models import PostSearch, Revision

MAX_QUERY = 100
MAX_TERMS = 5
#: How much a title match outweighs body matches.
TITLE_WEIGHT = 1_000_000
FTS_TABLE = "post_search_fts"
_BREAKS = re.compile(r"<(?:br|/p|/h[1-6]|/li|/div|/blockquote|/tr|/td|/th)\b[^>]*>", re.IGNORECASE)


def text_of(content: str) -> str:
    """The plain text of sanitised body HTML: paragraphs on their own lines, entities decoded."""
    return html.unescape(html_to_text(_BREAKS.sub("\n", content or "")))


def document(rev: Revision | Any) -> tuple[str, str]:
    """(title, body text) of a revision as search sees it, in lower case (so that a case-sensitive
    LIKE, faster than ILIKE, ignores letter case); the further articles' titles and text belong to
    the body."""
    parts = [text_of(rev.content)]
    for a in rev.articles or []:
        parts += [a.get("title") or "", text_of(a.get("content") or "")]
    return (rev.title or "").lower(), "\n".join(p for p in parts if p).lower()


def index_revision(session: Session, rev: Revision) -> None:
    """Make ``rev`` what its post is found by (called when it becomes the post's current revision)."""
    title, body = document(rev)
    row = session.get(PostSearch, rev.post_id)
    if row is None:
        session.add(PostSearch(post_id=rev.post_id, title=title, body=body))
    else:
        row.title, row.body = title, body


def index_rows(conn: Any, rows: Iterable[tuple[int, str, str, list[dict[str, Any]] | None]]) -> None:
    """Bulk insert of (post id, title, content HTML, articles) of posts not yet indexed."""
    batch = []
    for post_id, title, content, articles in rows:
        t, b = document(_Rev(title, content, articles))
        batch.append({"post_id": post_id, "title": t, "body": b})
    if batch:
        conn.execute(insert(PostSearch), batch)


class _Rev:
    def __init__(self, title: str, content: str, articles: list[dict[str, Any]] | None) -> None:
        self.title, self.content, self.articles = title, content, articles


def parse_query(raw: str | None) -> list[str]:
    """The terms of ``q`` (empty: no search); 400 ``invalid_query`` for what cannot be a query."""
    q = (raw or "").strip()
    if not q:
        return []
    if len(q) > MAX_QUERY or control_char(re.sub(r"[\t\r\n]", " ", q)):
        raise BadRequest(f"搜索词最长 {MAX_QUERY} 个字符，且不能含控制字符", code="invalid_query")
    terms = list(dict.fromkeys(q.lower().split()))
    if len(terms) > MAX_TERMS:
        raise BadRequest(f"搜索词最多 {MAX_TERMS} 个（以空格分隔）", code="invalid_query")
    return terms


def _like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _contains(col: Any, term: str) -> ColumnElement[bool]:
    return col.like(_like(term), escape="\\")


def match_clause(dialect: str, terms: list[str]) -> ColumnElement[bool]:
    """The WHERE clause on ``post_search`` that every term occurs, on the dialect's index."""
    ps = PostSearch.__table__.c
    short = [t for t in terms if dialect != "sqlite" or len(t) < 3]
    clauses: list[ColumnElement[bool]] = [or_(_contains(ps.title, t), _contains(ps.body, t)) for t in short]
    long = [t for t in terms if t not in short]
    if long:
        fts = table(FTS_TABLE, column("rowid"))
        expr = " AND ".join('"' + t.replace('"', '""') + '"' for t in long)
        clauses.append(ps.post_id.in_(select(fts.c.rowid).where(
            literal_column(FTS_TABLE).op("MATCH")(bindparam("fts_query", expr)))))
    return and_(*clauses)


def rank_expr(terms: list[str]) -> ColumnElement[int]:
    """The rank of a matching row (see the module's docstring)."""
    ps = PostSearch.__table__.c
    parts: list[Any] = []
    for t in terms:
        in_title = case((_contains(ps.title, t), literal(TITLE_WEIGHT)), else_=literal(0))
        removed = func.length(ps.body) - func.length(func.replace(ps.body, t, ""))
        times = removed.self_group().op("/", return_type=Integer)(literal(len(t)))  # integer division on both
        parts += [in_title, times]
    out = parts[0]
    for p in parts[1:]:
        out = out + p
    return cast(out, Integer)
