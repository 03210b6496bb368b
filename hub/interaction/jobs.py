"""Interaction jobs.

* ``send_answer(answer_id)`` (RQ job, queued after the approval commits): checks the approved hash
  again, decrypts what it needs here in the worker (the account's credentials, the follower's
  openid), sends the answer where the message came from — a WeChat customer-service message
  (outside WeChat's 48-hour window, code 45015, the answer is published on the public page
  instead), a Weibo comment reply — and closes the message. Other channels: the public page.
  A call whose outcome is unknown (a timeout) is never repeated blindly: the answer becomes
  ``failed`` with the reason, for staff to check and resend by editing it.
* ``sweep(app)`` (the worker's sweeper, every few seconds): re-enqueues approved answers whose
  enqueue was lost, pulls Weibo comments and @mentions once a minute, and once a Beijing day warns
  on and escalates due messages and erases contact data past its retention period.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, select, update

from hub import audit
from hub.config import get_settings
from hub.db import db
from hub.interaction import answers, inbox, intake
from hub.interaction.queueing import enqueue
from hub.models import Account, ContactSecret, InboxMessage, InteractionCursor, MessageAnswer, utcnow

log = logging.getLogger(__name__)
WEIBO_KEY = "hub:interaction:weibo:{queue}"
DAY_KEY = "hub:interaction:{queue}:{day}"
WEIBO_EVERY = 60


def send_answer(answer_id: int) -> str:
    from hub.runtime import get_app

    app = get_app()
    with app.app_context():
        token = audit.current_actor.set(audit.Actor.system("interaction"))
        try:
            return _send(app, answer_id)
        finally:
            audit.current_actor.reset(token)
            db.session.remove()


def _send(app: Any, answer_id: int) -> str:
    from adapters.base import PlatformError
    from hub.accounts.service import decrypt_credentials

    with db.transaction() as s:
        ans = s.get(MessageAnswer, answer_id)
        if ans is None or ans.status != "approved":
            return "skipped"
        if not answers.approved_for_send(s, ans):
            ans.status = "in_review"
            audit.record(s, "answer.refused", object_type="answer", object_id=ans.id, unit=ans.message.unit,
                         summary=f"留言 #{ans.message_id} 的答复与审核通过的内容不符，未发出", details={})
            return "refused"
        # claim: approved -> sending, so that two workers cannot both send it
        res = s.execute(update(MessageAnswer).where(MessageAnswer.id == ans.id, MessageAnswer.status == "approved",
                                                    MessageAnswer.revision_hash == ans.revision_hash)
                        .values(status="sending", updated_at=utcnow()).execution_options(synchronize_session=False))
        if res.rowcount != 1:  # type: ignore[attr-defined]
            return "skipped"
    s = db.session()
    ans = s.get(MessageAnswer, answer_id)
    assert ans is not None
    s.refresh(ans)
    msg = ans.message
    via, ref, error = "page", None, None
    try:
        if msg.channel == "wechat" and msg.account is not None:
            from adapters.wechat_messages import OutsideWindow, send_custom_text

            openid = inbox.open_contact(s, msg, "openid")
            if openid:
                try:
                    send_custom_text(decrypt_credentials(msg.account, app.extensions["hub_vault"]), openid, ans.text,
                                     api_base=msg.account.api_base)
                    via = "wechat"
                except OutsideWindow:
                    via = "page"
        elif msg.channel == "weibo" and msg.account is not None:
            from adapters.weibo_comments import reply_comment

            comment_id = (msg.external_key or "").rsplit(":", 1)[-1]
            ref = reply_comment(decrypt_credentials(msg.account, app.extensions["hub_vault"]),
                                status_id=msg.thread_ref or "", comment_id=comment_id, text=ans.text,
                               api_base=msg.account.api_base)
            via = "weibo"
    except PlatformError as exc:
        error = str(exc)[:500] or exc.__class__.__name__
    except Exception as exc:  # network: outcome unknown, never repeated blindly
        error = f"发送结果未知：{exc.__class__.__name__}"
    s.rollback()
    with db.transaction() as s2:
        ans = s2.get(MessageAnswer, answer_id)
        assert ans is not None
        msg = ans.message
        if error:
            ans.status, ans.send_error = "failed", error
            msg.status = "open"
            audit.record(s2, "answer.send_failed", object_type="answer", object_id=ans.id, unit=msg.unit,
                         summary=f"留言 #{msg.id} 的答复未能发出：{error}", details={"channel": msg.channel})
            return "failed"
        now = utcnow()
        ans.status, ans.sent_at, ans.platform_ref, ans.send_error = "sent", now, ref, None
        msg.answer_text, msg.answered_at, msg.answer_unit_id, msg.delivered_via = ans.text, now, msg.unit_id, via
        msg.status, msg.close_reason, msg.closed_at = "closed", "answered", now
        inbox.close_alerts(s2, msg)
        where = {"wechat": "以微信客服消息发给留言人", "weibo": "以微博评论回复", "page": "在公开页面发布"}[via]
        audit.record(s2, "answer.sent", object_type="answer", object_id=ans.id, unit=msg.unit,
                     summary=f"留言 #{msg.id} 的答复已{where}，办结",
                     details={"message_id": msg.id, "via": via, "hash": ans.revision_hash})
    return via


# -- Weibo -------------------------------------------------------------------------------------
def pull_weibo(app: Any) -> int:
    """Pull new comments and @mentions of every active Weibo account into the inbox."""
    from adapters.base import PlatformError
    from adapters.weibo_comments import fetch_comments
    from hub.accounts.service import decrypt_credentials

    new = 0
    ids = list(db.session().scalars(select(Account.id).where(Account.platform == "weibo",
                                                              Account.status == "active")))
    db.session.remove()
    for aid in ids:
        s = db.session()
        account = s.get(Account, aid)
        if account is None or not account.credentials:
            continue
        cursor = s.get(InteractionCursor, aid)
        try:
            comments = fetch_comments(decrypt_credentials(account, app.extensions["hub_vault"]),
                                      since_id=cursor.since_id if cursor else None, api_base=account.api_base)
        except (PlatformError, Exception):  # the next pull tries again
            log.warning("weibo comment pull failed for account %s", aid, exc_info=True)
            db.session.remove()
            continue
        s.rollback()
        with db.transaction() as s2:
            account = s2.get(Account, aid)
            assert account is not None
            cursor = s2.get(InteractionCursor, aid)
            if cursor is None:
                cursor = InteractionCursor(account_id=aid)
                s2.add(cursor)
            for c in comments:
                new += 1 if intake.weibo_comment(s2, account, c) else 0
                if _later(str(c.comment_id), cursor.since_id):
                    cursor.since_id = str(c.comment_id)
            cursor.polled_at = utcnow()
        db.session.remove()
    return new


def _later(a: str, b: str | None) -> bool:
    if b is None:
        return True
    if a.isascii() and a.isdigit() and b.isascii() and b.isdigit():
        return int(a) > int(b)
    return a > b


# -- daily --------------------------------------------------------------------------------------
def erase_contacts(as_of_days: int) -> int:
    """Delete the sealed contact data of messages closed more than ``as_of_days`` days ago."""
    cutoff = utcnow() - timedelta(days=as_of_days)
    with db.transaction() as s:
        ids = list(s.scalars(select(InboxMessage.id).where(
            InboxMessage.status == "closed", InboxMessage.closed_at < cutoff,
            InboxMessage.contact_erased_at.is_(None))))
        if not ids:
            return 0
        s.execute(delete(ContactSecret).where(ContactSecret.message_id.in_(ids)))
        s.execute(update(InboxMessage).where(InboxMessage.id.in_(ids)).values(contact_erased_at=utcnow()))
        audit.record(s, "message.contacts_erased", object_type="message", object_id="",
                     summary=f"{len(ids)} 条已办结留言的联系方式超过保存期限（{as_of_days} 天），已删除",
                     details={"messages": len(ids), "retention_days": as_of_days})
    return len(ids)


def daily(app: Any, as_of: date) -> dict[str, int]:
    with db.transaction() as s:
        counts = inbox.escalate(s, as_of)
    counts["erased"] = erase_contacts(get_settings(app.config).contact_retention_days)
    return counts


def sweep(app: Any) -> None:
    """Called by the worker's sweeper (hub/worker.py) every few seconds."""
    from hub.oversight.monitor import today
    from hub.queue import get_redis

    queue = app.config.get("HUB_QUEUE", "hub")
    redis = get_redis(app.config)
    with app.app_context():
        token = audit.current_actor.set(audit.Actor.system("interaction"))
        try:
            stale = utcnow() - timedelta(seconds=30)
            ids = list(db.session().scalars(select(MessageAnswer.id).where(
                MessageAnswer.status == "approved", MessageAnswer.updated_at < stale).limit(100)))
            db.session.remove()
            for aid in ids:
                enqueue(answers.SEND, aid)
            if redis.set(WEIBO_KEY.format(queue=queue), "1", nx=True, ex=WEIBO_EVERY):
                pull_weibo(app)
            day = today()
            if redis.set(DAY_KEY.format(queue=queue, day=day.isoformat()), "1", nx=True, ex=2 * 86400):
                log.info("interaction daily %s: %s", day, daily(app, day))
        finally:
            audit.current_actor.reset(token)
            db.session.remove()
