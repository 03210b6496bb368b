"""REST endpoints of 政民互动 (issue 16), added to the API blueprint (see hub.api).

* ``GET /messages?unit=CODE&status=open|closed``, ``POST /messages`` (phone, letter, 12345 transfer);
* ``POST /messages/<id>/assign {username}``, ``/forward {unit, note}``, ``/close {reason, note?}``,
  ``/answer {text}``; ``PATCH /answers/<id> {text}``; ``POST /answers/<id>/approve {revision_hash}``,
  ``/reject {reason}``;
* ``GET /messages/stats?unit=CODE&month=YYYY-MM``;
* ``GET|POST /qa``, ``POST /qa/<id>/approve {revision_hash}``, ``/reject {reason}``;
* ``GET /public/units/<code>/messages`` (no token).
"""

from __future__ import annotations

import re
from datetime import date

from flask import Blueprint, jsonify, request

from hub.api.base import user
from hub.api.openapi import contract
from hub.api.validation import body_as
from hub.db import db
from hub.errors import BadRequest, NotFound
from hub.interaction import answers as answer_svc
from hub.interaction import inbox
from hub.interaction import qa as qa_svc
from hub.interaction import stats as stats_svc
from hub.interaction.schemas import (
    AnswerApproveIn,
    AnswerIn,
    AnswerOut,
    AssignIn,
    CloseIn,
    DecisionRejectIn,
    ForwardIn,
    MessageCreated,
    MessageIn,
    MessageOut,
    Messages,
    MonthStats,
    PublicMessages,
    QaApproveIn,
    QaIn,
    QaList,
    QaOut,
)
from hub.models import Unit
from hub.oversight.monitor import today
from hub.permissions import subtree_ids

bp = Blueprint("interaction", __name__)
__all__ = ["bp"]

BAD = BadRequest("请求体不正确", code="bad_body")
SEEN = {404: "not found or not visible to the caller"}
HANDLE = {**SEEN, 400: "bad body", 403: "not a handler of the message's unit", 409: "the message is closed"}
REVIEW = {**SEEN, 400: "bad body", 403: "not a reviewer of the unit, or the caller drafted or edited the answer",
          409: "not in review, stale revision hash, already decided"}


def _message(mid: int) -> dict[str, object]:
    return MessageOut.model_validate(inbox.to_dict(inbox.get_message(db.session(), user(), mid))).dump()


@bp.get("/messages")
@contract("A unit's inbox: messages of the public from every channel", out=Messages,
          query={"unit": str, "status": ("open", "closed"), "channel": str, "assignee": str},
          errors={400: "missing unit, bad status", 404: "unknown unit or not visible"})
def list_messages():
    code = request.args.get("unit", "")
    if not code:
        raise BadRequest("需要 unit 参数", code="missing_unit")
    rows = inbox.listing(db.session(), user(), code, request.args.get("status", ""),
                         request.args.get("channel", ""), request.args.get("assignee", ""))
    return jsonify(Messages.model_validate({"messages": [inbox.to_dict(m) for m in rows]}).dump())


@bp.post("/messages")
@contract("Record a message that came by phone, letter or a 12345 transfer, with the time it was received",
          out=MessageCreated, status=201, body=MessageIn,
          errors={400: "bad body or time", 403: "not a handler of the unit", 404: "unknown unit",
                  422: "the working-day calendar lacks the year"})
def create_message():
    data = body_as(MessageIn, {"channel": BadRequest("channel 应为 phone、letter 或 transfer", code="bad_channel"),
                               "*": BAD})
    with db.transaction() as s:
        msg = inbox.record(s, user(), data.unit, data.channel, data.text, data.received_at, data.name, data.phone)
        out = {"id": msg.id, "due_on": msg.due_on.isoformat()}
    return jsonify(MessageCreated.model_validate(out).dump()), 201


@bp.get("/messages/<int:message_id>")
@contract("One message of the inbox", out=MessageOut, errors=SEEN)
def get_message(message_id: int):
    return jsonify(_message(message_id))


@bp.post("/messages/<int:message_id>/assign")
@contract("Assign the message to a handler of its unit {username}", out=MessageOut, body=AssignIn, errors=HANDLE)
def assign_message(message_id: int):
    inbox._handler_message(db.session(), user(), message_id)
    data = body_as(AssignIn, {"*": BAD})
    with db.transaction() as s:
        inbox.assign(s, user(), message_id, data.username)
    return jsonify(_message(message_id))


@bp.post("/messages/<int:message_id>/forward")
@contract("Forward the message to another unit of the subtree {unit, note}", out=MessageOut, body=ForwardIn,
          errors=HANDLE)
def forward_message(message_id: int):
    inbox._handler_message(db.session(), user(), message_id)
    data = body_as(ForwardIn, {"*": BadRequest("转办需要 unit 和说明 note", code="bad_body")})
    with db.transaction() as s:
        inbox.forward(s, user(), message_id, data.unit, data.note)
    s2 = db.session()
    msg = s2.get(inbox.InboxMessage, message_id)
    assert msg is not None
    return jsonify(MessageOut.model_validate(inbox.to_dict(msg)).dump())


@bp.post("/messages/<int:message_id>/close")
@contract("Close a spam or abusive message {reason: spam|abuse, note?}", out=MessageOut, body=CloseIn,
          errors=HANDLE)
def close_message(message_id: int):
    inbox._handler_message(db.session(), user(), message_id)
    data = body_as(CloseIn, {"reason": BadRequest("reason 应为 spam 或 abuse", code="bad_reason"), "*": BAD})
    with db.transaction() as s:
        inbox.close_as(s, user(), message_id, data.reason, data.note)
    return jsonify(_message(message_id))


@bp.post("/messages/<int:message_id>/answer")
@contract("Draft the answer (or edit the unsent one): content checks, then in review", out=AnswerOut,
          status=201, body=AnswerIn, errors={**HANDLE, 422: "a blocking content-check finding"})
def answer_message(message_id: int):
    inbox._handler_message(db.session(), user(), message_id)
    data = body_as(AnswerIn, {"*": BadRequest("答复内容不能为空", code="missing_text")})
    with db.transaction() as s:
        out = answer_svc.to_dict(answer_svc.draft(s, user(), message_id, data.text))
    return jsonify(AnswerOut.model_validate(out).dump()), 201


@bp.get("/answers/<int:answer_id>")
@contract("An answer with its status and revision hash", out=AnswerOut, errors=SEEN)
def get_answer(answer_id: int):
    return jsonify(AnswerOut.model_validate(answer_svc.to_dict(
        answer_svc.get_answer(db.session(), user(), answer_id))).dump())


@bp.patch("/answers/<int:answer_id>")
@contract("Edit an unsent answer {text}: a new revision; approvals void; back in review", out=AnswerOut,
          body=AnswerIn, errors={**SEEN, 400: "bad body", 403: "not a handler", 409: "already sent",
                                 422: "a blocking content-check finding"})
def edit_answer(answer_id: int):
    answer_svc.get_answer(db.session(), user(), answer_id)
    data = body_as(AnswerIn, {"*": BadRequest("答复内容不能为空", code="missing_text")})
    with db.transaction() as s:
        out = answer_svc.to_dict(answer_svc.edit(s, user(), answer_id, data.text))
    return jsonify(AnswerOut.model_validate(out).dump())


@bp.post("/answers/<int:answer_id>/approve")
@contract("Approve the answer's exact revision {revision_hash, comment?}; approved, it is sent", out=AnswerOut,
          body=AnswerApproveIn, errors=REVIEW)
def approve_answer(answer_id: int):
    answer_svc._decidable(db.session(), user(), answer_id, None)
    data = body_as(AnswerApproveIn, {"revision_hash": BadRequest("需要 revision_hash", code="missing_revision_hash"),
                               "*": BAD})
    with db.transaction() as s:
        out = answer_svc.to_dict(answer_svc.approve(s, user(), answer_id, data.revision_hash, data.comment))
    return jsonify(AnswerOut.model_validate(out).dump())


@bp.post("/answers/<int:answer_id>/reject")
@contract("Return the answer to the handler {reason}", out=AnswerOut, body=DecisionRejectIn, errors=REVIEW)
def reject_answer(answer_id: int):
    answer_svc._decidable(db.session(), user(), answer_id, None)
    data = body_as(DecisionRejectIn, {"*": BadRequest("退回需要说明理由", code="missing_reason")})
    with db.transaction() as s:
        out = answer_svc.to_dict(answer_svc.reject(s, user(), answer_id, data.reason))
    return jsonify(AnswerOut.model_validate(out).dump())


_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@bp.get("/messages/stats")
@contract("Monthly figures of a unit's subtree: received, answered, answered in time, average working days",
          out=MonthStats, query={"unit": str, "month": str},
          errors={400: "missing unit, bad month", 404: "unknown unit or not visible"})
def message_stats():
    code, month = request.args.get("unit", ""), request.args.get("month", "") or today().strftime("%Y-%m")
    if not code:
        raise BadRequest("需要 unit 参数", code="missing_unit")
    if not _MONTH.match(month):
        raise BadRequest("month 应为 YYYY-MM", code="bad_month", field="month")
    s = db.session()
    unit = s.query(Unit).filter_by(code=code).first()
    if unit is None or unit.id not in inbox.visible_units(s, user()):
        raise NotFound("单位不存在或不可见", code="unit_not_found")
    return jsonify(MonthStats.model_validate(stats_svc.monthly(s, subtree_ids(s, unit.id), month)).dump())


def _expires(raw: str | None) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadRequest("expires_on 应为 YYYY-MM-DD", code="bad_date", field="expires_on") from None


@bp.get("/qa")
@contract("Entries of the 咨询问答库 the caller may see", out=QaList, query={"unit": str})
def list_qa():
    rows = qa_svc.listing(db.session(), user(), request.args.get("unit") or None)
    return jsonify(QaList.model_validate({"entries": [qa_svc.to_dict(e) for e in rows]}).dump())


@bp.post("/qa")
@contract("A new 问答库 entry {question, answer, category, keywords, expires_on?}: checked, then in review; "
          "a near-duplicate of an active entry is flagged", out=QaOut, status=201, body=QaIn,
          errors={400: "bad body or date", 403: "not a handler of the unit", 404: "unknown unit",
                  422: "a blocking content-check finding"})
def create_qa():
    data = body_as(QaIn, {"keywords": BadRequest("至少需要一个关键词", code="missing_keywords"), "*": BAD})
    expires = _expires(data.expires_on)
    with db.transaction() as s:
        out = qa_svc.to_dict(qa_svc.create(s, user(), data.unit, data.question, data.answer, data.category,
                                           data.keywords, data.source_policy, expires))
    return jsonify(QaOut.model_validate(out).dump()), 201


@bp.get("/qa/<int:entry_id>")
@contract("One 问答库 entry", out=QaOut, errors=SEEN)
def get_qa(entry_id: int):
    return jsonify(QaOut.model_validate(qa_svc.to_dict(qa_svc.get(db.session(), user(), entry_id))).dump())


@bp.post("/qa/<int:entry_id>/approve")
@contract("Approve the entry's exact revision {revision_hash}: it is served from now on", out=QaOut,
          body=QaApproveIn, errors=REVIEW)
def approve_qa(entry_id: int):
    qa_svc.get(db.session(), user(), entry_id)
    data = body_as(QaApproveIn, {"*": BadRequest("需要 revision_hash", code="missing_revision_hash")})
    with db.transaction() as s:
        out = qa_svc.to_dict(qa_svc.approve(s, user(), entry_id, data.revision_hash))
    return jsonify(QaOut.model_validate(out).dump())


@bp.post("/qa/<int:entry_id>/reject")
@contract("Return the entry {reason}", out=QaOut, body=DecisionRejectIn, errors=REVIEW)
def reject_qa(entry_id: int):
    qa_svc.get(db.session(), user(), entry_id)
    data = body_as(DecisionRejectIn, {"*": BadRequest("退回需要说明理由", code="missing_reason")})
    with db.transaction() as s:
        out = qa_svc.to_dict(qa_svc.reject(s, user(), entry_id, data.reason))
    return jsonify(QaOut.model_validate(out).dump())


@bp.get("/public/units/<code>/messages")
@contract("Public (no token): a unit's answered messages with 留言时间、答复时间、答复单位、答复内容 and the "
          "question masked, and the last six months' figures (limit: at most this many messages, 1-500, "
          "default 200)", out=PublicMessages, public=True, query={"limit": int},
          errors={400: "bad limit", 404: "unknown unit"})
def public_messages(code: str):
    raw = request.args.get("limit", "200")
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 3 and 1 <= int(raw) <= 500):
        raise BadRequest("limit 应为 1 到 500 的整数", code="bad_limit", field="limit")
    s = db.session()
    unit = s.query(Unit).filter_by(code=code).first()
    if unit is None:
        raise NotFound("单位不存在", code="unit_not_found")
    ids = subtree_ids(s, unit.id)
    out = {"unit": unit.code, "unit_name": unit.name, "messages": stats_svc.public_messages(s, unit, int(raw)),
           "months": [stats_svc.monthly(s, ids, m) for m in stats_svc.recent_months(today())]}
    return jsonify(PublicMessages.model_validate(out).dump())
