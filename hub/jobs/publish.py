"""Publishing: one RQ job per dispatch, carrying only the dispatch id.

The job claims the dispatch with a conditional update (pending -> sending),
re-checks the approval set of the exact revision hash, decrypts the account's
credentials in this process only, calls the adapter, and settles the
dispatch and the post in one transaction with their audit entries.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from rq import Queue
from sqlalchemy import select, update

from adapters.base import PlatformError, Publication, PublishResult
from adapters.registry import UnknownPlatform, get_adapter

from .. import audit
from ..db import db
from ..models import DISPATCH_TERMINAL, Dispatch, Media, Post, utcnow
from ..queue import RedisTokenCache, get_queue, get_redis
from ..services.accounts import decrypt_credentials
from ..services.posts import SHANGHAI, approval_set_valid
from ..vault import VaultError
from . import get_app

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
POLL_DELAY = 5


def job_id(dispatch_id: int, attempt: int) -> str:
    return f"dispatch-{dispatch_id}-{attempt}"


def enqueue_dispatches(config: dict[str, Any], dispatch_ids: list[int], delay: float = 0) -> int:
    """Put publish jobs on the queue; a lost enqueue is picked up by the sweeper."""
    if not dispatch_ids:
        return 0
    try:
        q = get_queue(config)
        for did in dispatch_ids:
            if delay:
                q.enqueue_in(timedelta(seconds=delay), publish_dispatch, did, job_timeout=600)
            else:
                q.enqueue(publish_dispatch, did, job_timeout=600)
        return len(dispatch_ids)
    except Exception:  # Redis down: the sweeper re-enqueues pending dispatches
        log.warning("could not enqueue dispatches %s; the sweeper will retry", dispatch_ids, exc_info=False)
        return 0


def _settle_post(session: Any, post: Post) -> None:
    """A post's status follows its dispatches; updated in the same transaction as the last one."""
    session.flush()
    statuses = session.scalars(select(Dispatch.status).where(
        Dispatch.post_id == post.id, Dispatch.revision_id == post.current_revision_id)).all()
    if not statuses or post.status not in ("publishing", "approved"):
        return
    if any(s not in DISPATCH_TERMINAL for s in statuses):
        return
    published = sum(1 for s in statuses if s == "published")
    new = "published" if published == len(statuses) else ("failed" if published == 0 else "partially_published")
    post.status = new
    audit.record(session, f"post.{new}", object_type="post", object_id=post.id, unit=post.unit,
                 summary={"published": "全部平台发布成功", "failed": "发布失败",
                          "partially_published": "部分平台发布成功"}[new],
                 details={"published": published, "total": len(statuses)})


def _next_day_shanghai() -> datetime:
    now = datetime.now(SHANGHAI)
    nxt = (now + timedelta(days=1)).replace(hour=0, minute=5, second=0, microsecond=0)
    return nxt.astimezone(UTC).replace(tzinfo=None)


def publish_dispatch(dispatch_id: int) -> str:
    app = get_app()
    with app.app_context():
        token = audit.current_actor.set(audit.Actor.system("worker"))
        try:
            return _publish(app, dispatch_id)
        finally:
            audit.current_actor.reset(token)
            db.session.remove()


def _publish(app: Any, dispatch_id: int) -> str:
    now = utcnow()
    with db.transaction() as s:
        d = s.get(Dispatch, dispatch_id)
        if d is None:
            return "missing"
        if d.status != "pending":
            return f"skipped:{d.status}"
        if d.not_before and d.not_before > now:
            return "not-due"
        won = s.execute(update(Dispatch).where(Dispatch.id == d.id, Dispatch.status == "pending")
                        .values(status="sending", attempts=Dispatch.attempts + 1, updated_at=now)
                        .execution_options(synchronize_session=False)).rowcount  # type: ignore[attr-defined]
        if won != 1:
            return "lost-race"
        s.refresh(d)
        post, rev, account = d.post, d.revision, d.account
        ok, reason = approval_set_valid(s, post, rev)
        if not ok or account.status != "active":
            reason = reason or f"账号「{account.name}」未处于启用状态"
            d.status, d.error = "failed", f"拒绝发布：{reason}"
            audit.record(s, "dispatch.refused", object_type="dispatch", object_id=d.id, unit=post.unit,
                         summary=f"拒绝发布到「{account.name}」：{reason}",
                         details={"post_id": post.id, "revision_hash": rev.hash, "reason": reason})
            _settle_post(s, post)
            return "refused"
        audit.record(s, "dispatch.attempt", object_type="dispatch", object_id=d.id, unit=post.unit,
                     summary=f"第 {d.attempts} 次发布到「{account.name}」",
                     details={"post_id": post.id, "revision_hash": rev.hash, "attempt": d.attempts,
                              "account_id": account.id})
        cover_id = rev.cover_id or account.default_cover_id
        cover = s.get(Media, cover_id) if cover_id else None
        variant = (rev.variants or {}).get(account.platform) or {}
        pub = Publication(
            dispatch_id=d.id, title=rev.title, content=rev.content, summary=rev.summary, author=rev.author,
            source_url=rev.source_url, cover=cover.data if cover else b"", cover_mime=cover.mime if cover else "",
            marker_url=(rev.source_url or f"https://hub.invalid/p/{post.id}") + f"#hub-dispatch-{d.id}",
            variant=variant,
        )
        platform, api_base = account.platform, account.api_base
        try:
            creds = decrypt_credentials(account, app.extensions["hub_vault"])
            creds_error = None
        except (VaultError, Exception) as exc:  # locked vault, missing key, tampered row
            creds, creds_error = {}, getattr(exc, "message", None) or "无法解密账号凭据"
    if creds_error:
        return _settle(app, dispatch_id, error=PlatformError(f"凭据不可用：{creds_error}", code="vault"))
    try:
        adapter_cls = get_adapter(platform)
    except UnknownPlatform as exc:
        return _settle(app, dispatch_id, error=PlatformError(str(exc), code="no_adapter"))
    adapter = adapter_cls(api_base, creds, RedisTokenCache(get_redis(app.config)))
    del creds
    try:
        result = adapter.publish(pub)
    except PlatformError as exc:
        return _settle(app, dispatch_id, error=exc)
    except Exception as exc:  # an adapter bug must not leave the dispatch in 'sending'
        log.exception("adapter crashed on dispatch %s", dispatch_id)
        return _settle(app, dispatch_id, error=PlatformError(
            f"适配器内部错误（{type(exc).__name__}），结果待核实", code="adapter_error", ambiguous=True))
    return _settle(app, dispatch_id, result=result)


def _settle(app: Any, dispatch_id: int, *, result: PublishResult | None = None,
            error: PlatformError | None = None) -> str:
    later: tuple[float, str] | None = None
    with db.transaction() as s:
        d = s.get(Dispatch, dispatch_id)
        assert d is not None
        post, account = d.post, d.account
        if result is not None:
            d.platform_ref = result.platform_ref or d.platform_ref
            d.draft_ref = result.draft_ref or d.draft_ref
            if result.status == "published":
                d.status, d.url, d.article_id, d.error = "published", result.url, result.article_id, None
                d.published_at = utcnow()
                audit.record(s, "dispatch.published", object_type="dispatch", object_id=d.id, unit=post.unit,
                             summary=f"已发布到「{account.name}」", details={
                                 "post_id": post.id, "url": result.url, "platform_ref": d.platform_ref,
                                 "revision_hash": d.revision.hash})
                outcome = "published"
            else:
                d.error = "平台正在处理发布，稍后确认结果"
                later = (POLL_DELAY, "poll")
                audit.record(s, "dispatch.submitted", object_type="dispatch", object_id=d.id, unit=post.unit,
                             summary=f"已提交到「{account.name}」，等待平台处理",
                             details={"post_id": post.id, "platform_ref": d.platform_ref})
                outcome = "submitted"
        else:
            assert error is not None
            draft_ref = getattr(error, "draft_ref", None)
            if draft_ref:
                d.draft_ref = draft_ref
            if error.ambiguous:
                d.status, d.error = "unconfirmed", error.message
                action, outcome = "dispatch.unconfirmed", "unconfirmed"
            elif (error.retryable or error.quota) and d.attempts < MAX_ATTEMPTS:
                delay = min(300, 5 * 2 ** (d.attempts - 1))
                d.status, d.error = "pending", error.message
                d.not_before = _next_day_shanghai() if error.quota else utcnow() + timedelta(seconds=delay)
                later = (max(1.0, (d.not_before - utcnow()).total_seconds()), "retry")
                action, outcome = "dispatch.retry_scheduled", "retry"
            else:
                d.status, d.error = "failed", error.message
                action, outcome = "dispatch.failed", "failed"
            audit.record(s, action, object_type="dispatch", object_id=d.id, unit=post.unit,
                         summary=f"发布到「{account.name}」：{error.message}",
                         details={"post_id": post.id, "code": str(error.code), "attempt": d.attempts})
        _settle_post(s, post)
    if later:
        delay, kind = later
        q: Queue = get_queue(app.config)
        if kind == "poll":
            q.enqueue_in(timedelta(seconds=delay), poll_dispatch, dispatch_id, job_timeout=300)
        else:
            q.enqueue_in(timedelta(seconds=delay), publish_dispatch, dispatch_id, job_timeout=600)
    return outcome


def poll_dispatch(dispatch_id: int) -> str:
    """Ask the platform how a submitted publication is doing."""
    app = get_app()
    with app.app_context():
        token = audit.current_actor.set(audit.Actor.system("worker"))
        try:
            with db.transaction() as s:
                d = s.get(Dispatch, dispatch_id)
                if d is None or d.status != "sending" or not d.platform_ref:
                    return "skipped"
                account = d.account
                creds = decrypt_credentials(account, app.extensions["hub_vault"])
                adapter = get_adapter(account.platform)(account.api_base, creds,
                                                        RedisTokenCache(get_redis(app.config)))
                ref = d.platform_ref
            try:
                result = adapter.status(ref)
            except PlatformError as exc:
                if exc.retryable:
                    get_queue(app.config).enqueue_in(timedelta(seconds=POLL_DELAY), poll_dispatch, dispatch_id)
                    return "retry"
                return _settle(app, dispatch_id, error=exc)
            return _settle(app, dispatch_id, result=result)
        finally:
            audit.current_actor.reset(token)
            db.session.remove()


def sweep() -> int:
    """Re-enqueue pending dispatches that are due (lost enqueues, scheduled posts, retries)."""
    app = get_app()
    with app.app_context():
        try:
            now = utcnow()
            s = db.session()
            ids = s.scalars(select(Dispatch.id).where(
                Dispatch.status == "pending",
                (Dispatch.not_before.is_(None)) | (Dispatch.not_before <= now),
                Dispatch.updated_at <= now - timedelta(seconds=20),
            ).limit(500)).all()
            s.rollback()
            # Scheduled posts whose time has come move to publishing.
            with db.transaction() as s2:
                token = audit.current_actor.set(audit.Actor.system("scheduler"))
                try:
                    due = s2.scalars(select(Post).where(Post.status == "approved", Post.publish_at <= now)).all()
                    for post in due:
                        pending = s2.scalars(select(Dispatch.id).where(
                            Dispatch.post_id == post.id, Dispatch.revision_id == post.current_revision_id)).all()
                        if pending:
                            post.status = "publishing"
                            audit.record(s2, "post.publishing", object_type="post", object_id=post.id,
                                         unit=post.unit, summary="到达定时发布时间，开始发布")
                            ids = list(ids) + list(pending)
                finally:
                    audit.current_actor.reset(token)
            return enqueue_dispatches(app.config, sorted(set(ids)))
        finally:
            db.session.remove()
