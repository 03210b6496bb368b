"""Content checks as the hub uses them (the engine lives in review.checks)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ..models import Revision


def run_checks(content: str, *, is_html: bool | None = None) -> list[dict[str, Any]]:
    """Findings for ``content`` (text or HTML) as dicts in the API's shape."""
    from review.checks import check_content

    return [f.to_dict() for f in check_content(content, is_html=is_html)]


def findings_for_revision(session: Session, rev: Revision) -> list[dict[str, Any]]:
    """Findings over a revision's title, summary and body (body offsets into its HTML)."""
    out = []
    for where, text, html in (("title", rev.title, False), ("summary", rev.summary, False),
                              ("content", rev.content, True)):
        if not text:
            continue
        for f in run_checks(text, is_html=html):
            f["field"] = where
            out.append(f)
    return out
