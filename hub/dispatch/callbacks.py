"""WeChat's server push for the dispatch engine: the callback's secrets, and the
``PUBLISHJOBFINISH`` event settling the dispatch it reports on (through hub/dispatch/state.py,
like the jobs). The route itself, with signature checks and decryption, is in hub/dispatch/web.py.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

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
    token = audit.current_actor.set(audit.Actor.system("wechat-callback"))
    try:
        with db.transaction() as s:
            d = s.scalars(select(Dispatch).where(Dispatch.account_id == account.id,
                                                 Dispatch.platform_ref == publish_id)).first()
            if d is None or d.status not in (DispatchStatus.SENDING, DispatchStatus.UNCONFIRMED):
                return
            if d.claim is not None and d.lease_until and d.lease_until > utcnow():
                return  # a worker holds it and will see the same result by polling
            attempt = DispatchAttempt(dispatch_id=d.id, kind="callback", number=d.attempts, worker="web",
                                      details={"publish_status": status}, finished_at=utcnow())
            if status == 0:
                state.mark_published(s, d, PublishResult("published", publish_id, str(info.get("article_id") or ""),
                                                   url), "callback")
                attempt.outcome, attempt.message = "published", "微信推送：发布成功"
            else:
                reason = f"微信发布未成功：{PUBLISH_STATUS_REASONS.get(status, f'状态 {status}')}"
                state.mark_failed(d, reason, verify=False, absent=status != 5)
                attempt.outcome, attempt.message, attempt.code = "failed", reason, f"publish_status_{status}"
                audit.record(s, "dispatch.failed", object_type="dispatch", object_id=d.id, unit=d.post.unit,
                             summary=f"发布到「{account.name}」：{reason}",
                             details={"post_id": d.post_id, "code": f"publish_status_{status}", "via": "callback"})
            s.add(attempt)
            state.settle_post(s, d.post)
    finally:
        audit.current_actor.reset(token)
