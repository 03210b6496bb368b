"""效力标注 after publication: pushing an approved validity change as an update, and the scheduled
expiry (``hub validity run``). docs/library.md.

A validity change of a published policy is a new revision reviewed like any edit
(``service.request_validity``); its final approval calls :func:`finalize_update` instead of creating
new dispatches: each published dispatch on a platform that can replace an item in place (the website)
is moved to the new revision and an update job pushes it (hub/dispatch/jobs/update.py); the others
keep what they published (recorded in the audit trail).

The scheduled expiry applies a date that was itself reviewed and approved (``expires_on``): it is
applied directly, without a second review, as a new revision marked ``auto`` and audited as
``post.expired``; the update job accepts such a revision only when it differs from the approved one
by the validity status alone (:func:`auto_expiry_sound`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.registry import UnknownPlatform, get_adapter
from hub import audit
from hub.content import revision_hash
from hub.dispatch import queueing
from hub.models import Approval, Dispatch, Post, Revision, utcnow
from hub.models.states import POST, PostStatus
from hub.posts import library
from hub.posts.rendering import render_targets


def _updatable(d: Dispatch) -> bool:
    try:
        return bool(get_adapter(d.account.platform).supports_update)
    except UnknownPlatform:
        return False


def push_update(session: Session, post: Post, rev: Revision, why: str) -> list[int]:
    """Move the post's published dispatches on updatable platforms to ``rev`` and queue their update
    pushes after the commit; returns their ids."""
    ids: list[int] = []
    kept: list[str] = []
    for d in library.published_dispatches(session, post):
        if _updatable(d):
            d.revision_id = rev.id
            ids.append(d.id)
        else:
            kept.append(d.account.name)
    session.flush()
    audit.record(session, "post.update_push", object_type="post", object_id=post.id, unit=post.unit,
                 summary=f"{why}：向 {len(ids)} 个账号推送更新" + (f"；{'、'.join(kept)} 不支持更新已发布内容，保持原样"
                                                                if kept else ""),
                 details={"revision": rev.number, "revision_hash": rev.hash, "dispatch_ids": ids,
                          "not_updatable": kept})
    queueing.update_after_commit(session, ids)
    return ids


def finalize_update(session: Session, post: Post) -> None:
    """The final approval of a revision of a post that is already published (a validity change)."""
    rev = post.current_revision
    assert rev is not None
    post.status = POST.check(post.status, PostStatus.APPROVED)
    audit.record(session, "post.approved", object_type="post", object_id=post.id, unit=post.unit,
                 summary=f"《{rev.title}》第 {rev.number} 版（效力标注）全部审核环节通过",
                 details={"revision": rev.number, "revision_hash": rev.hash,
                          "steps": [s["name"] for s in post.chain or []]})
    push_update(session, post, rev, "效力标注审核通过")
    failed = session.scalar(select(Dispatch.id).where(Dispatch.post_id == post.id, Dispatch.status == "failed")
                            .limit(1))
    post.status = POST.check(post.status, PostStatus.PARTIALLY_PUBLISHED if failed else PostStatus.PUBLISHED)


def _without_validity(fields: dict[str, Any]) -> dict[str, Any]:
    f = {k: v for k, v in fields.items() if k != "renderings"}
    f["library"] = {k: v for k, v in (f.get("library") or {}).items() if k != "validity"}
    return f


def auto_expiry_sound(session: Session, post: Post, rev: Revision) -> bool:
    """Whether ``rev`` is a scheduled expiry of an approved revision: marked ``auto``, the previous
    revision approved for its exact hash, and nothing but the validity status changed."""
    from hub.posts.service import revision_fields

    v = (rev.library or {}).get("validity") or {}
    if not v.get("auto") or v.get("status") != "expired" or rev.number < 2:
        return False
    prev = session.scalars(select(Revision).where(Revision.post_id == post.id,
                                                  Revision.number == rev.number - 1)).first()
    if prev is None or revision_hash(revision_fields(prev)) != prev.hash:
        return False
    if revision_hash(revision_fields(rev)) != rev.hash or post.current_revision_id != rev.id:
        return False
    approved = session.scalar(select(Approval.id).where(
        Approval.revision_id == prev.id, Approval.revision_hash == prev.hash, Approval.voided.is_(False),
        Approval.decision == "approved").limit(1))
    pv = (prev.library or {}).get("validity") or {}
    return (approved is not None and pv.get("expires_on") == v.get("expires_on")
            and _without_validity(revision_fields(rev)) == _without_validity(revision_fields(prev)))


def due(session: Session, as_of: date) -> list[Post]:
    """Published policies whose approved ``expires_on`` is on or before ``as_of`` and not yet 失效/已废止."""
    out = []
    for post in session.scalars(select(Post).join(Revision, Revision.id == Post.current_revision_id).where(
            Post.status.in_(("published", "partially_published")),
            Revision.category.in_(library.POLICY_CATEGORIES)).order_by(Post.id)).unique():
        rev = post.current_revision
        v = library.validity_of(rev) or {}
        if v.get("expires_on") and v["expires_on"] <= as_of.isoformat() and v.get("status") in ("valid", "amended"):
            out.append(post)
    return out


def expire_due(session: Session, as_of: date) -> list[int]:
    """Apply the scheduled expiries as of ``as_of``: returns the ids of the posts marked 失效."""
    from hub.posts.service import revision_fields

    done = []
    for post in due(session, as_of):
        rev = post.current_revision
        assert rev is not None
        f = revision_fields(rev)
        old = dict(f["library"].get("validity") or {})
        f["library"] = {**f["library"], "validity": {**old, "status": "expired", "auto": True}}
        f["renderings"] = render_targets(session, f)
        new = Revision(
            post_id=post.id, number=rev.number + 1, hash=revision_hash(f), title=rev.title, content=rev.content,
            summary=rev.summary, author=rev.author, category=rev.category, is_original=rev.is_original,
            source_url=rev.source_url, cover_id=rev.cover_id, cover_sha256=rev.cover_sha256,
            variants=dict(rev.variants or {}), account_ids=list(rev.account_ids or []),
            renderings=f["renderings"] or None, articles=rev.articles, video_id=rev.video_id,
            video_sha256=rev.video_sha256, library=f["library"], created_by_id=rev.created_by_id)
        session.add(new)
        session.flush()
        post.current_revision_id = new.id
        post.current_revision = new
        post.updated_at = utcnow()
        audit.record(session, "post.expired", object_type="post", object_id=post.id, unit=post.unit,
                     summary=f"《{rev.title}》到达失效日期 {old.get('expires_on')}，标注为失效（第 {new.number} 版，"
                             "按已审核的失效日期自动生效）",
                     details={"revision": new.number, "hash": new.hash, "previous_revision": rev.number,
                              "expires_on": old.get("expires_on"), "as_of": as_of.isoformat()})
        push_update(session, post, new, "到达失效日期")
        done.append(post.id)
    return done


def today_shanghai() -> date:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


def parse_day(value: str | None) -> date | None:
    """``--as-of``: a YYYY-MM-DD date, today in Beijing when not given; None when it is no date."""
    if not value:
        return today_shanghai()
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def run(session: Session, as_of: date | None = None) -> list[int]:
    """``hub validity run`` and the daily sweep: apply the expiries due as of ``as_of`` (default:
    today in Beijing), as the scheduler."""
    token = audit.current_actor.set(audit.Actor.system("scheduler"))
    try:
        return expire_due(session, as_of or today_shanghai())
    finally:
        audit.current_actor.reset(token)
