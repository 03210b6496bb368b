"""Intake from the platforms: a follower's WeChat text message (from the callback route in
hub/dispatch/web.py, answered within WeChat's 5 seconds) and Weibo comments (from the pull job).

A WeChat message matching a servable 问答库 entry is answered at once with that entry's answer
(the passive reply), audited and counted, and still lands in the inbox, marked auto-answered."""

from __future__ import annotations

from typing import Any

from hub import audit
from hub.db import db
from hub.interaction import inbox, qa
from hub.models import Account, InboxMessage, utcnow


def wechat_text(account_id: int, data: dict[str, Any]) -> str | None:
    """Store a follower's text message (once per MsgId); the passive reply text, if auto-answered."""
    msg_id = str(data.get("MsgId") or "").strip()
    openid = str(data.get("FromUserName") or "").strip()
    key = f"wechat:{account_id}:{msg_id}" if msg_id else f"wechat:{account_id}:{openid}:{data.get('CreateTime')}"
    text = str(data.get("Content") or "").strip()
    if not text:
        return None
    token = audit.current_actor.set(audit.Actor.system("wechat-callback"))
    try:
        with db.transaction() as s:
            account = s.get(Account, account_id)
            if account is None:
                return None
            msg, created = inbox.intake(s, unit=account.unit, channel="wechat", text=text[:5000],
                                        received_at=inbox.wechat_received_at(data.get("CreateTime")),
                                        account=account, external_key=key[:200], contacts={"openid": openid})
            if not created:
                return msg.answer_text if msg.auto_answered else None
            entry = qa.match(s, account.unit, text)
            if entry is None:
                return None
            auto_answer(s, msg, entry)
            return entry.answer
    finally:
        audit.current_actor.reset(token)


def auto_answer(s: Any, msg: InboxMessage, entry: Any) -> None:
    now = utcnow()
    msg.auto_answered, msg.qa_entry_id, msg.answer_text = True, entry.id, entry.answer
    msg.answered_at, msg.answer_unit_id, msg.delivered_via = now, msg.unit_id, "wechat"
    msg.status, msg.close_reason, msg.closed_at = "closed", "auto_answered", now
    entry.served_count = (entry.served_count or 0) + 1
    audit.record(s, "message.auto_answer", object_type="message", object_id=msg.id, unit=msg.unit,
                 summary=f"留言 #{msg.id} 由问答库条目 #{entry.id} 自动答复",
                 details={"qa_entry_id": entry.id, "channel": msg.channel})


def weibo_comment(s: Any, account: Account, comment: Any) -> bool:
    """Store one pulled Weibo comment or @mention (once per comment id); True if new."""
    text = str(getattr(comment, "text", "") or "").strip()
    if not text:
        return False
    created_at = getattr(comment, "created_at", None)
    if created_at is not None and created_at.tzinfo is not None:
        from datetime import UTC

        created_at = created_at.astimezone(UTC).replace(tzinfo=None)
    _msg, created = inbox.intake(s, unit=account.unit, channel="weibo", text=text[:5000],
                                 received_at=created_at or utcnow(), account=account,
                                 external_key=f"weibo:{account.id}:{comment.comment_id}"[:200],
                                 thread_ref=str(comment.status_id)[:64],
                                 contacts={"weibo_uid": str(comment.user_id)})
    return created
