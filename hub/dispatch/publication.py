"""What an adapter is given to publish (or to recognise) one dispatch."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import and_, or_, select

from adapters.base import Publication, Rendering
from hub.config import get_settings
from hub.models import AuditEntry, Dispatch, Media
from hub.models.audit import AuditQueued
from hub.posts import library
from hub.posts.media import body_image_bytes

#: Human actions that let a dispatch go out: the final approval of its revision, "publish now" or a
#: new time (``post.reschedule``) after it, and an admin's retry of the dispatch.
RELEASE_ACTIONS = ("post.approved", "post.reschedule", "dispatch.retry")


def _article(s: Any, a: dict[str, Any]) -> dict[str, Any]:
    cover = s.get(Media, a["cover_id"]) if a.get("cover_id") else None
    return {**{k: a.get(k, "") for k in ("title", "content", "summary", "author", "source_url")},
            "cover": cover.data if cover else b"", "cover_mime": cover.mime if cover else ""}


def _is_public(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip).is_global
    except ValueError:
        return False


def _release_entries(s: Any, d: Dispatch) -> list[tuple[str, str, int | None, dict[str, Any]]]:
    """(action, ip, actor id, details) of the release actions of ``d``, oldest first: the sealed
    trail, then entries still queued for sealing (PostgreSQL seals just after the commit)."""
    post_id, dispatch_id = str(d.post_id), str(d.id)
    rows: list[tuple[str, str, int | None, dict[str, Any]]] = []
    for model, order in ((AuditEntry, AuditEntry.seq), (AuditQueued, AuditQueued.id)):
        cond = or_(and_(model.object_type == "post", model.object_id == post_id,
                        model.action.in_(("post.approved", "post.reschedule"))),
                   and_(model.object_type == "dispatch", model.object_id == dispatch_id,
                        model.action == "dispatch.retry"))
        for action, ip, actor_id, details in s.execute(
                select(model.action, model.ip, model.actor_id, model.details).where(cond).order_by(order)):
            try:
                parsed = json.loads(details or "{}")
            except ValueError:
                parsed = {}
            rows.append((action, ip or "", actor_id, parsed if isinstance(parsed, dict) else {}))
    return rows


def acting_ip(s: Any, d: Dispatch, configured: str = "") -> str:
    """The real IP of the user on whose action dispatch ``d`` goes out, as the audit trail recorded
    it: the final approver of its revision, or whoever later chose "publish now", a new time or an
    admin retry. A scheduled send (no one acts when it goes out) uses ``configured``
    (``HUB_WEIBO_RIP``) when set, and so does a recorded address that is not public (an intranet
    address behind the unit's NAT). "" when neither is known."""
    rows = _release_entries(s, d)
    final = max((i for i, r in enumerate(rows)
                 if r[0] == "post.approved" and r[3].get("revision_hash") == d.revision.hash), default=None)
    if final is None:
        return configured
    later = [r for r in rows[final + 1:] if r[2] is not None]  # people who acted after the approval
    action, ip = (later[-1] if later else rows[final])[:2]
    scheduled = d.post.publish_at is not None and action != "dispatch.retry"
    if configured and (scheduled or not _is_public(ip)):
        return configured
    return ip or configured


def build_publication(s: Any, d: Dispatch) -> Publication:
    """What the adapter needs to publish (or recognise) dispatch ``d``: content, covers, the approved
    rendering, the checkpointed references, rip and the bytes of the body images stored in the hub."""
    rev, account = d.revision, d.account
    cover_id = rev.cover_id or account.default_cover_id
    cover = s.get(Media, cover_id) if cover_id else None
    variant = (rev.variants or {}).get(account.platform) or {}
    configured = get_settings(current_app.config if has_app_context() else None).weibo_rip
    return Publication(
        dispatch_id=d.id, title=rev.title, content=rev.content, summary=rev.summary, author=rev.author,
        source_url=rev.source_url, cover=cover.data if cover else b"", cover_mime=cover.mime if cover else "",
        variant=variant,
        resume={"stage": d.stage, "draft_ref": d.draft_ref, "platform_ref": d.platform_ref},
        link=rev.source_url or "", rip=acting_ip(s, d, configured),
        articles=[_article(s, a) for a in rev.articles or []],
        rendering=Rendering.from_json(approved) if (approved := (rev.renderings or {}).get(str(account.id))) else None,
        images=body_image_bytes(s, d.post.unit_id, [rev.content, *(a.get("content", "") for a in rev.articles or [])]),
        **_video(s, rev.video_id, rev.video_sha256 or ""),
        library=library.for_platform({"category": rev.category, "library": rev.library or {}}),
    )


def _video(s: Any, video_id: int | None, sha256: str) -> dict[str, Any]:
    """The approved video's bytes, MIME type, SHA-256 and file (the worker checked its hash already)."""
    from hub.posts.video import video_file

    m = s.get(Media, video_id) if video_id else None
    if m is None or not sha256:
        return {}
    path = video_file(m)
    return {"video": path.read_bytes() if path.is_file() else b"", "video_mime": m.mime, "video_sha256": sha256,
            "video_path": str(path)}
