"""The inbox: intake from every channel (one message per delivery, however often it is
delivered), due dates in working days, who sees and handles what, assignment, forwarding,
closing spam and abuse, the due-date warning and the overdue escalation (a ``message_overdue``
MonitorAlert the 监测台 shows to the unit's admins and the supervisors above).

Audit entries name the message by id and channel only: never its text or the sender's data."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub import audit
from hub.errors import BadRequest, Conflict, Forbidden, NotFound
from hub.interaction.masking import mask
from hub.models import (
    Account,
    ContactSecret,
    InboxMessage,
    MessageAnswer,
    MonitorAlert,
    Unit,
    User,
    utcnow,
)
from hub.org.service import unit_by_code
from hub.oversight import workdays
from hub.oversight.monitor import SHANGHAI, beijing_date, today
from hub.permissions import is_admin_of, is_supervisor_over, member_unit_ids, overseen_unit_ids, subtree_ids

ANSWER_WORKING_DAYS = 5
WARN_WORKING_DAYS = 3
HANDLER_ROLES = ("editor", "reviewer", "admin")
STAFF_CHANNELS = ("phone", "letter", "transfer")
OPEN_STATUSES = ("open", "in_review", "approved")
#: Sealed contact fields are stored (and bound into the encryption) as "contact:<field>", so that they can
#: never be mistaken for an account credential of the same number.
PREFIX = "contact:"


def due_dates(received_at: datetime) -> tuple[date, date]:
    """(warning day, due day): 3 and 5 working days after the Beijing day of ``received_at``."""
    day = beijing_date(received_at)
    return workdays.add_working_days(day, WARN_WORKING_DAYS), workdays.add_working_days(day, ANSWER_WORKING_DAYS)


def _vault() -> Any:
    from flask import current_app

    return current_app.extensions["hub_vault"]


# -- contact data (sealed) --------------------------------------------------------------------
def seal_contacts(session: Session, message: InboxMessage, values: dict[str, str]) -> None:
    vault = _vault()
    for field, value in values.items():
        if not value:
            continue
        sealed = vault.seal(message.id, PREFIX + field, 1, value)
        session.add(ContactSecret(message_id=message.id, account_id=message.id, field=PREFIX + field, version=1,
                                  key_version=sealed.key_version, wrapped_key=sealed.wrapped_key,
                                  ciphertext=sealed.ciphertext))


def open_contact(session: Session, message: InboxMessage, field: str) -> str | None:
    """One contact value in plain text, where it is used (the worker sending an answer)."""
    from hub.accounts.vault_admin import min_decryption_version
    from hub.vault import Sealed

    row = session.scalars(select(ContactSecret).where(ContactSecret.message_id == message.id,
                                                      ContactSecret.field == PREFIX + field)).first()
    if row is None:
        return None
    return str(_vault().open(row.account_id, row.field, row.version,
                             Sealed(row.key_version, row.wrapped_key, row.ciphertext),
                             min_version=min_decryption_version(session)))


def contact_fields(session: Session, message: InboxMessage) -> list[str]:
    """Which contact fields are held for a message (names only: values are never shown)."""
    return [f.removeprefix(PREFIX) for f in
            session.scalars(select(ContactSecret.field).where(ContactSecret.message_id == message.id))]


# -- intake -----------------------------------------------------------------------------------
def intake(session: Session, *, unit: Unit, channel: str, text: str, received_at: datetime,
           account: Account | None = None, external_key: str | None = None, thread_ref: str | None = None,
           contacts: dict[str, str] | None = None, created_by: User | None = None) -> tuple[InboxMessage, bool]:
    """Store one message (or find the one a repeated delivery already stored): (message, created)."""
    if external_key:
        found = session.scalars(select(InboxMessage).where(InboxMessage.external_key == external_key)).first()
        if found is not None:
            return found, False
    warn_on, due_on = due_dates(received_at)
    contacts = {k: v.strip() for k, v in (contacts or {}).items() if v and v.strip()}
    names = tuple(v for k, v in contacts.items() if k == "name")
    msg = InboxMessage(unit_id=unit.id, account_id=account.id if account else None, channel=channel,
                       external_key=external_key, thread_ref=thread_ref, text=text,
                       public_text=mask(text, names), received_at=received_at, due_on=due_on, warn_on=warn_on,
                       status="open", created_by_id=created_by.id if created_by else None)
    try:
        with session.begin_nested():
            session.add(msg)
            session.flush()
    except IntegrityError:  # the same delivery stored by a concurrent request
        found = session.scalars(select(InboxMessage).where(InboxMessage.external_key == external_key)).first()
        if found is None:
            raise
        return found, False
    seal_contacts(session, msg, contacts)
    audit.record(session, "message.receive", object_type="message", object_id=msg.id, unit=unit,
                 summary=f"收到{channel_label(channel)}留言 #{msg.id}，{due_on.isoformat()} 前答复",
                 details={"channel": channel, "account_id": msg.account_id, "due_on": due_on.isoformat()},
                 actor=created_by)
    return msg, True


def channel_label(channel: str) -> str:
    return {"wechat": "微信", "weibo": "微博", "form": "网站留言", "phone": "电话", "letter": "来信",
            "transfer": "12345 转办"}.get(channel, channel)


def parse_received_at(raw: str) -> datetime:
    """ISO 8601; without an offset it means Asia/Shanghai. Stored as naive UTC."""
    try:
        dt = datetime.fromisoformat(raw)
    except (TypeError, ValueError):
        raise BadRequest("received_at 应为 ISO 8601 时间", code="bad_time", field="received_at") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=SHANGHAI)
    out = dt.astimezone(UTC).replace(tzinfo=None)
    if out > utcnow() + timedelta(minutes=5):
        raise BadRequest("received_at 不能晚于现在", code="future_time", field="received_at")
    return out


def record(session: Session, user: User, unit_code: str, channel: str, text: str, received_at: str,
           name: str = "", phone: str = "") -> InboxMessage:
    """Staff record a message that came by phone, letter or a 12345 transfer."""
    unit = unit_by_code(session, unit_code)
    if not may_handle_unit(session, user, unit.id):
        if unit.id not in visible_units(session, user):
            raise NotFound("单位不存在或不可见", code="unit_not_found")
        raise Forbidden("只有本单位的编辑、审核人或管理员可以登记留言", code="not_handler")
    if channel not in STAFF_CHANNELS:
        raise BadRequest("channel 应为 phone、letter 或 transfer", code="bad_channel", field="channel")
    text = text.strip()
    if not text:
        raise BadRequest("留言内容不能为空", code="missing_text", field="text")
    when = parse_received_at(received_at)
    msg, _ = intake(session, unit=unit, channel=channel, text=text, received_at=when,
                    contacts={"name": name, "phone": phone}, created_by=user)
    return msg


# -- who sees and handles ---------------------------------------------------------------------
def visible_units(session: Session, user: User) -> set[int]:
    return member_unit_ids(user) | overseen_unit_ids(session, user)


def may_handle_unit(session: Session, user: User, unit_id: int) -> bool:
    return any(user.has_role(r, unit_id) for r in HANDLER_ROLES) or is_admin_of(session, user, unit_id)


def may_review_unit(user: User, unit_id: int) -> bool:
    return user.has_role("reviewer", unit_id)


def get_message(session: Session, user: User, message_id: int) -> InboxMessage:
    msg = session.get(InboxMessage, message_id)
    if msg is None or msg.unit_id not in visible_units(session, user):
        raise NotFound("留言不存在或不可见", code="message_not_found")
    return msg


def listing(session: Session, user: User, unit_code: str, status: str = "", channel: str = "",
            assignee: str = "", limit: int = 500) -> list[InboxMessage]:
    unit = unit_by_code(session, unit_code)
    if unit.id not in visible_units(session, user):
        raise NotFound("单位不存在或不可见", code="unit_not_found")
    stmt = select(InboxMessage).where(InboxMessage.unit_id == unit.id)
    if status == "open":
        stmt = stmt.where(InboxMessage.status.in_(OPEN_STATUSES))
    elif status == "closed":
        stmt = stmt.where(InboxMessage.status == "closed")
    elif status:
        raise BadRequest("status 应为 open 或 closed", code="bad_status", field="status")
    if channel:
        stmt = stmt.where(InboxMessage.channel == channel)
    if assignee:
        stmt = stmt.join(User, User.id == InboxMessage.assignee_id).where(User.username == assignee)
    return list(session.scalars(stmt.order_by(InboxMessage.received_at.desc(), InboxMessage.id.desc())
                                .limit(limit)).unique())


def _handler_message(session: Session, user: User, message_id: int, *, open_only: bool = True) -> InboxMessage:
    msg = get_message(session, user, message_id)
    if not may_handle_unit(session, user, msg.unit_id) and not is_supervisor_over(session, user, msg.unit_id):
        raise Forbidden("只有本单位的编辑、审核人或管理员可以处理留言", code="not_handler")
    if open_only and msg.status == "closed":
        raise Conflict("留言已办结", code="message_closed")
    return msg


def assign(session: Session, user: User, message_id: int, username: str) -> InboxMessage:
    msg = _handler_message(session, user, message_id)
    target = session.scalars(select(User).where(User.username == username)).first()
    if target is None or not target.is_active or not any(target.has_role(r, msg.unit_id) for r in HANDLER_ROLES):
        raise BadRequest("承办人须是本单位的编辑、审核人或管理员", code="bad_assignee", field="username")
    msg.assignee_id = target.id
    audit.record(session, "message.assign", object_type="message", object_id=msg.id, unit=msg.unit,
                 summary=f"留言 #{msg.id} 交由 {target.name or target.username} 承办",
                 details={"assignee": target.username})
    return msg


def forward(session: Session, user: User, message_id: int, unit_code: str, note: str) -> InboxMessage:
    msg = _handler_message(session, user, message_id)
    if msg.status != "open":
        raise Conflict("答复审核中的留言不能转办", code="answer_in_review")
    target = session.scalars(select(Unit).where(Unit.code == unit_code)).first()
    allowed = subtree_ids(session, msg.unit_id) | overseen_unit_ids(session, user)
    if target is None or target.id == msg.unit_id or target.id not in allowed:
        raise BadRequest("只能转给本单位下级或所管辖的其他单位", code="bad_unit", field="unit")
    if not note.strip():
        raise BadRequest("转办需要说明", code="missing_note", field="note")
    source = msg.unit
    msg.forwarded_from_id, msg.forward_note, msg.unit_id, msg.assignee_id = source.id, note.strip(), target.id, None
    audit.record(session, "message.forward", object_type="message", object_id=msg.id, unit=source,
                 summary=f"留言 #{msg.id} 由{source.name}转给{target.name}办理",
                 details={"from": source.code, "to": target.code})
    return msg


def close_as(session: Session, user: User, message_id: int, reason: str, note: str = "") -> InboxMessage:
    """Close a spam or abusive message, with a reason (audited)."""
    msg = _handler_message(session, user, message_id)
    if reason not in ("spam", "abuse"):
        raise BadRequest("reason 应为 spam（垃圾信息）或 abuse（辱骂、恶意信息）", code="bad_reason", field="reason")
    void_answers(session, msg)
    msg.status, msg.close_reason, msg.close_note, msg.closed_at = "closed", reason, note.strip() or None, utcnow()
    close_alerts(session, msg)
    audit.record(session, "message.close", object_type="message", object_id=msg.id, unit=msg.unit,
                 summary=f"留言 #{msg.id} 作为{'垃圾信息' if reason == 'spam' else '辱骂、恶意信息'}关闭",
                 details={"reason": reason})
    return msg


def void_answers(session: Session, msg: InboxMessage) -> None:
    """Answers not yet sent are void when the message closes without them."""
    for ans in session.scalars(select(MessageAnswer).where(MessageAnswer.message_id == msg.id,
                                                           MessageAnswer.status.in_(("in_review", "approved",
                                                                                     "rejected")))):
        ans.status = "void"


def close_alerts(session: Session, msg: InboxMessage) -> None:
    for alert in session.scalars(select(MonitorAlert).where(MonitorAlert.message_id == msg.id,
                                                            MonitorAlert.closed_at.is_(None))):
        alert.closed_at = utcnow()


# -- deadlines --------------------------------------------------------------------------------
def overdue(msg: InboxMessage, as_of: date | None = None) -> bool:
    as_of = as_of or today()
    if msg.status == "closed":
        return msg.answered_at is not None and beijing_date(msg.answered_at) > msg.due_on
    return as_of > msg.due_on


def escalate(session: Session, as_of: date) -> dict[str, int]:
    """Warn on messages 3 working days old and escalate the overdue ones (once each)."""
    counts = {"warned": 0, "escalated": 0}
    rows = session.scalars(select(InboxMessage).where(InboxMessage.status.in_(OPEN_STATUSES),
                                                      InboxMessage.warn_on <= as_of)).unique().all()
    for msg in rows:
        if msg.warned_at is None:
            msg.warned_at = utcnow()
            audit.record(session, "message.due_warning", object_type="message", object_id=msg.id, unit=msg.unit,
                         summary=f"留言 #{msg.id} 已满 3 个工作日，须在 {msg.due_on.isoformat()} 前答复",
                         details={"due_on": msg.due_on.isoformat()})
            counts["warned"] += 1
        if as_of > msg.due_on and msg.escalated_at is None:
            msg.escalated_at = utcnow()
            session.add(MonitorAlert(account_id=msg.account_id, unit_id=msg.unit_id, kind="message_overdue",
                                     level="warn", days=ANSWER_WORKING_DAYS, since=msg.due_on + timedelta(days=1),
                                     message_id=msg.id))
            audit.record(session, "message.overdue", object_type="message", object_id=msg.id, unit=msg.unit,
                         summary=f"留言 #{msg.id} 超过 5 个工作日未答复（{msg.due_on.isoformat()} 到期），"
                                 "已提请本单位管理员和上级主管单位督办",
                         details={"due_on": msg.due_on.isoformat()})
            counts["escalated"] += 1
    return counts


def to_dict(msg: InboxMessage) -> dict[str, Any]:
    from hub.times import iso

    return {"id": msg.id, "account_id": msg.account_id, "channel": msg.channel, "text": msg.text,
            "received_at": iso(msg.received_at), "due_on": msg.due_on.isoformat(), "status": msg.status,
            "assignee": msg.assignee.username if msg.assignee else None, "auto_answered": bool(msg.auto_answered)}


def wechat_received_at(create_time: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(create_time), UTC).replace(tzinfo=None)
    except (TypeError, ValueError, OverflowError, OSError):
        return utcnow()
