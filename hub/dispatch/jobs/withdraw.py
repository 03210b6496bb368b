"""Withdraw (撤稿) jobs: take one dispatch's publication down from its platform.

The web process only marks the post withdrawn and enqueues these jobs (ids
only); credentials are decrypted here, in the worker, as for publishing. A
dispatch still being sent waits until it settles; a platform without a
delete call gets the dispatch marked withdrawn with a message saying it must
be removed by hand.
"""

from __future__ import annotations

import logging
from typing import Any

from adapters.base import PlatformError
from hub import audit
from hub.accounts.service import decrypt_credentials
from hub.db import db
from hub.dispatch import queueing, state
from hub.models import Dispatch
from hub.models.states import DispatchStatus
from hub.queue import RedisTokenCache, get_redis
from hub.runtime import get_app

log = logging.getLogger(__name__)

WAIT_SECONDS = 5
MAX_WAITS = 60  # five minutes for an in-flight publication to settle
MAX_RETRIES = 5
NOT_SUPPORTED = "该平台不支持通过接口删除已发布内容：已标记为撤稿，请到平台后台手动删除"
ALREADY_GONE = "平台上已没有该内容（已在平台后台删除，或上次撤稿请求已生效但未收到答复）：已标记为撤稿"


def withdraw_dispatch(dispatch_id: int, attempt: int = 0) -> str:
    """RQ job: withdraw one dispatch's publication."""
    app = get_app()
    with app.app_context():
        token = audit.current_actor.set(audit.Actor.system("worker"))
        try:
            return _withdraw(app, dispatch_id, attempt)
        finally:
            audit.current_actor.reset(token)
            db.session.remove()


def _later(app: Any, dispatch_id: int, attempt: int) -> None:
    queueing.enqueue(app.config, queueing.WITHDRAW, dispatch_id, WAIT_SECONDS, attempt + 1,
                     timeout=queueing.WITHDRAW_TIMEOUT)


def _withdraw(app: Any, dispatch_id: int, attempt: int) -> str:
    from adapters.registry import get_adapter

    with db.transaction() as s:
        d = s.get(Dispatch, dispatch_id)
        if d is None:
            return "missing"
        post, account = d.post, d.account
        if post.status != "withdrawn":
            return "post-not-withdrawn"
        if d.status == DispatchStatus.PENDING:
            state.cancel(s, d, "已撤稿，取消发布")
            audit.record(s, "dispatch.cancelled", object_type="dispatch", object_id=d.id, unit=post.unit,
                         summary=f"撤稿：取消发布到「{account.name}」", details={"post_id": post.id})
            return "cancelled"
        if d.status in (DispatchStatus.SENDING, DispatchStatus.UNCONFIRMED):
            if attempt < MAX_WAITS:
                _later(app, dispatch_id, attempt)
                return "waiting"
            d.error = "撤稿未完成：发布结果一直未能确认，请到平台后台核实并手动删除"
            audit.record(s, "dispatch.withdraw_failed", object_type="dispatch", object_id=d.id, unit=post.unit,
                         summary=f"撤稿未完成（「{account.name}」发布结果未确认）", details={"post_id": post.id})
            return "gave-up"
        if d.status != DispatchStatus.PUBLISHED:
            return f"skipped:{d.status}"
        platform, api_base, ref, article_id = account.platform, account.api_base, d.platform_ref, d.article_id
        try:
            creds = decrypt_credentials(account, app.extensions["hub_vault"])
        except Exception as exc:  # locked vault, missing key, tampered row
            creds = None
            cred_error = getattr(exc, "message", None) or "无法解密账号凭据"
    outcome: str
    message: str | None = None
    retry = False
    if creds is None:
        outcome, message = "failed", f"撤稿失败：凭据不可用（{cred_error}）"
    else:
        try:
            adapter = get_adapter(platform)(api_base, creds, RedisTokenCache(get_redis(app.config)))
        except Exception as exc:  # no adapter for the platform, or it is disabled
            adapter, outcome, message = None, "failed", f"撤稿失败：{exc}"
        del creds
        if adapter is not None:
            try:
                if adapter.withdraw(ref, article_id):
                    outcome = "withdrawn"
                else:
                    outcome, message = "gone", ALREADY_GONE
            except NotImplementedError:
                outcome, message = "unsupported", NOT_SUPPORTED
            except PlatformError as exc:
                retry = (exc.retryable or exc.ambiguous or exc.stale_token) and attempt < MAX_RETRIES
                outcome, message = "failed", f"撤稿失败：{exc.message}"
            except Exception as exc:  # an adapter bug must not lose the withdrawal silently
                log.exception("adapter crashed withdrawing dispatch %s", dispatch_id)
                outcome, message = "failed", f"撤稿失败：适配器内部错误（{type(exc).__name__}）"
    with db.transaction() as s:
        d = s.get(Dispatch, dispatch_id)
        assert d is not None
        post, account = d.post, d.account
        if outcome in ("withdrawn", "gone", "unsupported"):
            state.mark_withdrawn(d, message)
            summary = {"withdrawn": f"已从「{account.name}」撤下",
                       "gone": f"「{account.name}」上已没有该内容，已标记撤稿",
                       "unsupported": f"「{account.name}」不支持接口删除，已标记撤稿"}[outcome]
            audit.record(s, "dispatch.withdrawn", object_type="dispatch", object_id=d.id, unit=post.unit,
                         summary=summary,
                         details={"post_id": post.id, "platform_ref": d.platform_ref,
                                  "deleted_on_platform": outcome == "withdrawn", "already_gone": outcome == "gone"})
        else:
            d.error = (message or "撤稿失败") + ("，稍后重试" if retry else "")
            audit.record(s, "dispatch.withdraw_failed", object_type="dispatch", object_id=d.id, unit=post.unit,
                         summary=f"从「{account.name}」撤稿失败", details={"post_id": post.id, "error": message,
                                                                     "attempt": attempt, "retry": retry})
    if retry:
        _later(app, dispatch_id, attempt)
    return outcome
