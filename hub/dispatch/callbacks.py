"""WeChat's server push for the dispatch engine: the callback's secrets, and the
``PUBLISHJOBFINISH`` and ``MASSSENDJOBFINISH`` events settling the dispatch they report on (through hub/dispatch/state.py,
like the jobs). The route itself, with signature checks and decryption, is in hub/dispatch/web.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from adapters import wechat_masssend
from adapters.base import PublishResult
from adapters.wechat import PUBLISH_STATUS_REASONS
from hub import audit
from hub.db import db
from hub.dispatch import state
from hub.models import Account, Dispatch, DispatchAttempt, utcnow
from hub.models.states import DispatchStatus


def callback_secrets(account: Account, vault: Any) -> dict[str, str]:
    """Only the two callback fields are decrypted, here where they are used."""
    from sqlalchemy.orm import object_session

    from hub.accounts.vault_admin import min_decryption_version
    from hub.vault import Sealed

    session = object_session(account)
    floor = min_decryption_version(session) if session is not None else 0
    out = {}
    for c in account.credentials:
        if c.field in ("callback_token", "encoding_aes_key", "app_id"):
            out[c.field] = vault.open(account.id, c.field, c.version,
                                      Sealed(c.key_version, c.wrapped_key, c.ciphertext), min_version=floor)
    return out


def publish_finished(account: Account, info: dict[str, Any]) -> None:
    """Settle the dispatch a PUBLISHJOBFINISH event reports on (if it is still waiting)."""
    publish_id = str(info.get("publish_id") or "")
    try:
        status = int(info.get("publish_status", -1))
    except (TypeError, ValueError):
        return
    if not publish_id or status == 1:
        return
    detail = info.get("article_detail") or {}
    items = detail.get("item") if isinstance(detail, dict) else None
    if isinstance(items, dict):
        items = [items]
    url = next((i.get("article_url") for i in items or [] if isinstance(i, dict) and i.get("article_url")), None)
    if status == 0:
        _settle(account, publish_id, {"publish_status": status}, published=PublishResult(
            "published", publish_id, str(info.get("article_id") or ""), url), message="微信推送：发布成功")
    else:
        reason = f"微信发布未成功：{PUBLISH_STATUS_REASONS.get(status, f'状态 {status}')}"
        _settle(account, publish_id, {"publish_status": status}, failed=reason, code=f"publish_status_{status}",
                absent=status != 5)


def mass_finished(account: Account, data: dict[str, Any]) -> None:
    """Settle the 群发 a MASSSENDJOBFINISH event reports on: ``Status`` "send success", "send fail"
    or "err(N)"; ``CopyrightCheckResult.CheckState`` 3 is the reprint stop."""
    msg_id = str(data.get("MsgID") or data.get("MsgId") or "").strip()
    status = str(data.get("Status") or "").strip()
    if not msg_id or not status:
        return
    ref = wechat_masssend.PREFIX + msg_id
    details = {"mass_status": status[:40]}
    if status == "send success":
        urls = (data.get("ArticleUrlResult") or {}) if isinstance(data.get("ArticleUrlResult"), dict) else {}
        item = (urls.get("ResultList") or {}).get("item") if isinstance(urls.get("ResultList"), dict) else None
        first = item[0] if isinstance(item, list) and item else item
        url = first.get("ArticleUrl") if isinstance(first, dict) else None
        _settle(account, ref, details, published=PublishResult("published", ref, url=url),
                message="微信推送：群发成功")
        return
    check = data.get("CopyrightCheckResult")
    check_state = check.get("CheckState") if isinstance(check, dict) else None

    def reason(d: Dispatch) -> str:
        variant = (d.revision.variants or {}).get("wechat") or {}
        return wechat_masssend.failure_reason("SEND_FAIL" if status == "send fail" else status, variant, check_state)

    _settle(account, ref, details, failed=reason, code="mass_send_fail")


def _settle(account: Account, ref: str, details: dict[str, Any], *, published: PublishResult | None = None,
            message: str = "", failed: str | Callable[[Dispatch], str] | None = None, code: str = "",
            absent: bool = True) -> None:
    """Settle the waiting dispatch of ``account`` whose platform reference is ``ref``."""
    token = audit.current_actor.set(audit.Actor.system("wechat-callback"))
    try:
        with db.transaction() as s:
            d = s.scalars(select(Dispatch).where(Dispatch.account_id == account.id,
                                                 Dispatch.platform_ref == ref)).first()
            if d is None or d.status not in (DispatchStatus.SENDING, DispatchStatus.UNCONFIRMED):
                return
            if d.claim is not None and d.lease_until and d.lease_until > utcnow():
                return  # a worker holds it and will see the same result by polling
            attempt = DispatchAttempt(dispatch_id=d.id, kind="callback", number=d.attempts, worker="web",
                                      details=details, finished_at=utcnow())
            if published is not None:
                state.mark_published(s, d, published, "callback")
                attempt.outcome, attempt.message = "published", message
            else:
                reason = failed(d) if callable(failed) else str(failed)
                state.mark_failed(d, reason, verify=False, absent=absent)
                attempt.outcome, attempt.message, attempt.code = "failed", reason, code
                audit.record(s, "dispatch.failed", object_type="dispatch", object_id=d.id, unit=d.post.unit,
                             summary=f"发布到「{account.name}」：{reason}",
                             details={"post_id": d.post_id, "code": code, "via": "callback"})
            s.add(attempt)
            state.settle_post(s, d.post)
    finally:
        audit.current_actor.reset(token)
