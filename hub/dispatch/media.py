"""What each account's platform already holds of the hub's uploads, so an image goes up once.

The adapters see this as ``adapters.base.MediaStore`` (``adapter.media``, set in
hub/dispatch/holder.py): before uploading a cover or a body image they ask for an earlier upload of
the same bytes to the same account, and remember each new one. Rows are ``PlatformMedia``
(account, kind, SHA-256 of the bytes as sent; unique).

* Body images (``kind`` "image": WeChat ``media/uploadimg`` URLs) are kept and reused for ever: they
  do not count against the account's material library and WeChat offers no way to delete them.
* Covers (``kind`` "cover": WeChat permanent ``thumb`` materials, which do count) are reused while
  they are held and deleted on the platform (``material/del_material``) once no dispatch may use
  them any more — see :func:`covers_in_use` — and nothing has used them for ``HUB_MEDIA_KEEP``
  seconds (default 7 days, so the account's default cover is not uploaded and deleted again for
  every post). That check runs after each publish run of the account; a full library (45034) runs
  it at once, without the keep period.

A reused cover that the platform no longer holds (40007 before the draft exists: someone deleted it
in the back office) is forgotten and uploaded afresh once, in the same run (:func:`publish`).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from adapters.base import Adapter, PlatformError, Publication, PublishResult, StoredMedia
from hub.db import db
from hub.models import Dispatch, Media, PlatformMedia, Post, utcnow
from hub.models.states import DispatchStatus, PostStatus

log = logging.getLogger(__name__)

#: Dispatches that may still send (their drafts, if any, still in the draft box).
_UNSETTLED = (DispatchStatus.PENDING, DispatchStatus.SENDING, DispatchStatus.UNCONFIRMED)
#: The platform's answer for a media id it does not hold.
INVALID_MEDIA_ID = 40007


def covers_in_use(s: Session, account_id: int) -> set[str]:
    """SHA-256 (of the hub's image) of every cover that a dispatch of the account may still send:
    pending, sending or unconfirmed dispatches, and failed ones an admin may still retry (their
    revision is the post's current one and the post is not withdrawn), whose draft may still be in
    the draft box referring to its thumb. Published, cancelled and withdrawn dispatches, and failed
    ones of an edited or withdrawn post, use nothing any more."""
    retriable = and_(Dispatch.status == DispatchStatus.FAILED, Post.current_revision_id == Dispatch.revision_id,
                     Post.status != PostStatus.WITHDRAWN)
    holding = s.scalars(select(Dispatch).join(Post, Post.id == Dispatch.post_id).where(
        Dispatch.account_id == account_id, or_(Dispatch.status.in_(_UNSETTLED), retriable))).unique().all()
    ids: set[int] = set()
    for d in holding:
        main = d.revision.cover_id or d.account.default_cover_id
        ids.update(i for i in [main, *((a or {}).get("cover_id") for a in d.revision.articles or [])] if i)
    if not ids:
        return set()
    return set(s.scalars(select(Media.sha256).where(Media.id.in_(ids))))


class DbMediaStore:
    """``adapters.base.MediaStore`` for one account, in the hub's database. ``reused`` lists the
    covers handed out from the store during this run (what a 40007 may be about)."""

    def __init__(self, account_id: int, keep_seconds: float) -> None:
        self.account_id = account_id
        self.keep_seconds = keep_seconds
        self.reused: list[StoredMedia] = []

    def _where(self, kind: str) -> Any:
        return and_(PlatformMedia.account_id == self.account_id, PlatformMedia.kind == kind)

    def get(self, kind: str, sha256: str) -> StoredMedia | None:
        with db.transaction() as s:
            row = s.scalars(select(PlatformMedia).where(self._where(kind), PlatformMedia.sha256 == sha256)).first()
            if row is None:
                return None
            row.last_used_at = utcnow()
            item = StoredMedia(row.kind, row.media_id, row.url)
        if kind == "cover":
            self.reused.append(item)
        return item

    def put(self, kind: str, sha256: str, media: StoredMedia, source_sha256: str = "") -> StoredMedia:
        try:
            with db.transaction() as s:
                s.add(PlatformMedia(account_id=self.account_id, kind=kind, sha256=sha256, source_sha256=source_sha256,
                                    media_id=media.media_id, url=media.url))
            return media
        except IntegrityError:  # stored by another run meanwhile: that one is kept
            s = db.session()
            row = s.scalars(select(PlatformMedia).where(self._where(kind), PlatformMedia.sha256 == sha256)).first()
            kept = StoredMedia(row.kind, row.media_id, row.url) if row is not None else media
            s.rollback()
            return kept

    def forget(self, kind: str, media_id: str) -> None:
        with db.transaction() as s:
            s.execute(delete(PlatformMedia).where(self._where(kind), PlatformMedia.media_id == media_id))
        self.reused = [m for m in self.reused if not (m.kind == kind and m.media_id == media_id)]

    def releasable(self, kind: str, *, all_unused: bool = False) -> list[StoredMedia]:
        if kind != "cover":  # body images cost nothing to keep and cannot be deleted
            return []
        s = db.session()
        try:
            in_use = covers_in_use(s, self.account_id)
            stmt = select(PlatformMedia).where(self._where(kind)).order_by(PlatformMedia.last_used_at)
            if not all_unused:
                stmt = stmt.where(PlatformMedia.last_used_at <= utcnow() - timedelta(seconds=self.keep_seconds))
            return [StoredMedia(r.kind, r.media_id, r.url) for r in s.scalars(stmt)
                    if r.source_sha256 not in in_use]
        finally:
            s.rollback()


def publish(adapter: Adapter, pub: Publication) -> PublishResult:
    """``adapter.publish(pub)``; when the platform says a media id is invalid (40007) before the draft
    exists and this run reused stored covers, those are forgotten (and deleted, should one still be
    there) and the publication is made once more with fresh uploads — not a failure."""
    try:
        return adapter.publish(pub)
    except PlatformError as exc:
        store = adapter.media
        if not isinstance(store, DbMediaStore) or exc.code != INVALID_MEDIA_ID or exc.draft_ref or not store.reused:
            raise
        reused = list(store.reused)
        log.info("dispatch %s: a reused cover is gone from the platform; uploading it again", pub.dispatch_id)
        try:
            adapter.release_media(reused)
        except Exception:  # best effort: the store forgets them anyway
            log.warning("could not delete stale materials of dispatch %s", pub.dispatch_id, exc_info=True)
        for item in reused:
            store.forget(item.kind, item.media_id)
    return adapter.publish(pub)


def release_unused(adapter: Adapter, rate_wait: Any = None) -> int:
    """After a publish run has settled: delete the account's cover materials no dispatch uses any
    more (best effort; whatever fails is tried after the next run). ``rate_wait``: the platform's
    rate budget (the run's lease is no longer held, so the holder's hooks are not used)."""
    if adapter.media is None:
        return 0
    adapter.before_call = rate_wait or (lambda: None)
    adapter.checkpoint = lambda *_a, **_k: None
    try:
        return adapter.release_media()
    except Exception:
        log.warning("could not release unused media of account %s", getattr(adapter.media, "account_id", "?"),
                    exc_info=True)
        return 0
