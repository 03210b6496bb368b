"""What an adapter is given to publish (or to recognise) one dispatch."""

from __future__ import annotations

from typing import Any

from adapters.base import Publication, Rendering
from hub.models import Dispatch, Media


def marker_url(source_url: str, post_id: int, dispatch_id: int) -> str:
    """The URL that marks a dispatch's publication on the platform (WeChat: content_source_url)."""
    return (source_url or f"https://hub.invalid/p/{post_id}") + f"#hub-dispatch-{dispatch_id}"


def _article(s: Any, a: dict[str, Any]) -> dict[str, Any]:
    cover = s.get(Media, a["cover_id"]) if a.get("cover_id") else None
    return {**{k: a.get(k, "") for k in ("title", "content", "summary", "author", "source_url")},
            "cover": cover.data if cover else b"", "cover_mime": cover.mime if cover else ""}


def build_publication(s: Any, d: Dispatch) -> Publication:
    """What the adapter needs to publish (or recognise) dispatch ``d``: content, cover, marker."""
    post, rev, account = d.post, d.revision, d.account
    cover_id = rev.cover_id or account.default_cover_id
    cover = s.get(Media, cover_id) if cover_id else None
    variant = (rev.variants or {}).get(account.platform) or {}
    return Publication(
        dispatch_id=d.id, title=rev.title, content=rev.content, summary=rev.summary, author=rev.author,
        source_url=rev.source_url, cover=cover.data if cover else b"", cover_mime=cover.mime if cover else "",
        marker_url=marker_url(rev.source_url, post.id, d.id), variant=variant,
        resume={"stage": d.stage, "draft_ref": d.draft_ref, "platform_ref": d.platform_ref},
        link=rev.source_url or "",
        articles=[_article(s, a) for a in rev.articles or []],
        rendering=Rendering.from_json(approved) if (approved := (rev.renderings or {}).get(str(account.id))) else None,
    )
