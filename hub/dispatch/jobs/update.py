"""The update job: push a published dispatch's new revision (a validity change, 效力标注) to a platform
that replaces a published item in place (the website's idempotent PUT by key). docs/library.md.

The same defences as a first publication: the revision must be the post's current one with a
complete approval set for its hash (or be a sound scheduled expiry of an approved revision,
``hub.posts.validity.auto_expiry_sound``), and what would be sent now must be the approved
rendering. A refused or failed update leaves the item as it was and is audited; a retryable
platform error is retried with the publish job's backoff.
"""

from __future__ import annotations

import logging
from typing import Any

from adapters.base import PlatformError
from hub import audit
from hub.accounts.service import decrypt_credentials
from hub.approval.decisions import approval_set_valid
from hub.db import db
from hub.dispatch import queueing
from hub.dispatch.holder import make_adapter
from hub.dispatch.jobs.publish import backoff_seconds, rendering_unchanged
from hub.dispatch.publication import build_publication
from hub.models import Dispatch
from hub.posts.validity import auto_expiry_sound
from hub.runtime import get_app

log = logging.getLogger(__name__)
MAX_TRIES = 5


def update_dispatch(dispatch_id: int, attempt: int = 1) -> str:
    """RQ job: push the update of one published dispatch (ids only)."""
    app = get_app()
    with app.app_context():
        token = audit.current_actor.set(audit.Actor.system("worker"))
        try:
            return _update(app, dispatch_id, attempt)
        finally:
            audit.current_actor.reset(token)
            db.session.remove()


def _update(app: Any, dispatch_id: int, attempt: int) -> str:
    with db.transaction() as s:
        d = s.get(Dispatch, dispatch_id)
        if d is None or d.status != "published":
            return "skipped"
        post, rev, account = d.post, d.revision, d.account
        ok, reason = approval_set_valid(s, post, rev)
        if not ok and auto_expiry_sound(s, post, rev):
            ok, reason = True, ""
        if ok:
            ok, reason = rendering_unchanged(app, s, d)
        if not ok:
            audit.record(s, "dispatch.update_refused", object_type="dispatch", object_id=d.id, unit=post.unit,
                         summary=f"拒绝向「{account.name}」推送更新：{reason}",
                         details={"post_id": post.id, "revision_hash": rev.hash, "reason": reason})
            return "refused"
        pub = build_publication(s, d)
        try:
            creds = decrypt_credentials(account, app.extensions["hub_vault"])
        except Exception as exc:  # locked vault, missing key
            audit.record(s, "dispatch.update_failed", object_type="dispatch", object_id=d.id, unit=post.unit,
                         summary=f"向「{account.name}」推送更新失败：凭据不可用",
                         details={"post_id": post.id, "reason": getattr(exc, "message", "") or "vault"})
            return "failed"
        adapter = make_adapter(app, account, creds, None)
        del creds
        adapter.images = pub.images
        names = (account.name, post.id, rev.number, rev.hash)
    try:
        result = adapter.publish(pub)
    except PlatformError as exc:
        retry = (exc.retryable or exc.ambiguous) and attempt < MAX_TRIES
        with db.transaction() as s:
            d = s.get(Dispatch, dispatch_id)
            assert d is not None
            audit.record(s, "dispatch.update_failed", object_type="dispatch", object_id=d.id, unit=d.post.unit,
                         summary=f"向「{names[0]}」推送更新失败：{exc.message}" + ("，稍后重试" if retry else ""),
                         details={"post_id": names[1], "revision": names[2], "attempt": attempt})
        if retry:  # the PUT is idempotent by key: sending it again is safe
            queueing.enqueue(app.config, queueing.UPDATE, dispatch_id, backoff_seconds(attempt), attempt + 1)
        return "failed"
    with db.transaction() as s:
        d = s.get(Dispatch, dispatch_id)
        assert d is not None
        if result.url:
            d.url = result.url
        audit.record(s, "dispatch.updated", object_type="dispatch", object_id=d.id, unit=d.post.unit,
                     summary=f"已向「{names[0]}」推送第 {names[2]} 版（效力标注）",
                     details={"post_id": names[1], "revision": names[2], "revision_hash": names[3]})
    return "updated"
