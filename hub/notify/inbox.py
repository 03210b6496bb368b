"""A person's in-app notifications (the bell) and their preferences."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from hub import audit
from hub.errors import BadRequest, NotFound
from hub.i18n_marks import N_
from hub.inputs import control_char
from hub.models import Notification, NotifyPreference, User, utcnow
from hub.notify.events import absolute
from hub.times import iso

EMAIL_RE = re.compile(r"^[^@\s<>,;\x00-\x1f\x7f]{1,64}@[^@\s<>,;\x00-\x1f\x7f]{1,190}$")
USERID_RE = re.compile(r"^[A-Za-z0-9_.@-]*$")
KIND_LABELS = {
    "review_waiting": N_("待审核"), "post_returned": N_("稿件退回"), "post_published": N_("发布成功"),
    "post_failed": N_("发布失败"), "dispatch_unconfirmed": N_("发布待核实"), "credential_due": N_("密码到期"),
    "silence": N_("静默预警"), "rectification_open": N_("整改通知"),
    "rectification_due": N_("整改逾期"),
}


def unread_count(session: Session, user: User) -> int:
    return int(session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))) or 0)


def items(session: Session, user: User, *, unread_only: bool = False, limit: int = 100) -> list[Notification]:
    stmt = select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return list(session.scalars(stmt.order_by(Notification.id.desc()).limit(max(1, min(limit, 500)))))


def item_json(n: Notification) -> dict[str, Any]:
    return {"id": n.id, "kind": n.kind, "text": n.text, "link": absolute(n.link) if n.link else "",
            "post_id": n.post_id, "created_at": iso(n.created_at), "read": n.read_at is not None}


def mark_read(session: Session, user: User, notification_id: int) -> Notification:
    n = session.get(Notification, notification_id)
    if n is None or n.user_id != user.id:
        raise NotFound("没有这条通知", code="notification_not_found")
    if n.read_at is None:
        n.read_at = utcnow()
    return n


def mark_all_read(session: Session, user: User) -> int:
    return int(session.execute(update(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)).values(read_at=utcnow())
        .execution_options(synchronize_session=False)).rowcount or 0)  # type: ignore[attr-defined]


def preferences(session: Session, user: User) -> NotifyPreference:
    p = session.get(NotifyPreference, user.id)
    return p if p is not None else NotifyPreference(user_id=user.id, email="", email_on=True, wecom_on=True,
                                                    dingtalk_on=True, digest=False, wecom_userid="")


def set_preferences(session: Session, user: User, *, email: str, email_on: bool, wecom_on: bool,
                    dingtalk_on: bool, digest: bool, wecom_userid: str = "") -> NotifyPreference:
    email = (email or "").strip()
    if email and (not EMAIL_RE.match(email) or control_char(email)):
        raise BadRequest("邮件地址格式不正确", code="invalid_email", field="email")
    wecom_userid = (wecom_userid or "").strip()
    if len(wecom_userid) > 64 or not USERID_RE.match(wecom_userid):
        raise BadRequest("企业微信账号只能包含字母、数字和 _ - . @，最长 64 个字符", code="invalid_wecom_userid",
                         field="wecom_userid")
    p = session.get(NotifyPreference, user.id)
    if p is None:
        p = NotifyPreference(user_id=user.id)
        session.add(p)
    p.email, p.email_on, p.wecom_on, p.dingtalk_on, p.digest = email, email_on, wecom_on, dingtalk_on, digest
    p.wecom_userid = wecom_userid
    p.updated_at = utcnow()
    audit.record(session, "notify.preferences", object_type="user", object_id=user.id, unit=user.unit,
                 summary="修改个人通知设置",
                 details={"email_given": bool(email), "wecom_account_given": bool(wecom_userid), "email_on": email_on, "wecom_on": wecom_on,
                          "dingtalk_on": dingtalk_on, "digest": digest})
    return p
