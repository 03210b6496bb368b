"""Answers to the public, reviewed before they go out (先审后发 for 政民互动).

The same rules as for posts: the content checks run on the exact text (a blocking finding is a
422); the approval binds the text by its hash (``revision_hash``); nobody approves an answer they
drafted or edited; an edit makes a new revision and voids the approvals; the unit's answer chain
is by default one reviewer step (``ANSWER_STEPS``), each step a different reviewer of the unit
handling the message. Approved, the answer is sent by a job (hub/interaction/jobs.py), which checks
the hash again right before it calls the platform."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hub import audit
from hub.db import after_commit
from hub.errors import BadRequest, Conflict, Forbidden, NotFound, Unprocessable
from hub.interaction import inbox
from hub.models import AnswerDecision, InboxMessage, MessageAnswer, User, utcnow
from hub.times import iso

ANSWER_STEPS = 1
SEND = "hub.interaction.jobs.send_answer"
UNSENT = ("in_review", "approved")
EDITABLE = UNSENT + ("rejected", "failed")  # an edit of these is a new revision of the same answer


def answer_hash(message_id: int, revision: int, text: str) -> str:
    """What an approval binds: the exact text of one revision of the answer to one message."""
    data = json.dumps({"message_id": message_id, "revision": revision, "text": text}, sort_keys=True,
                      ensure_ascii=False).encode()
    return hashlib.sha256(b"zhengwu-hub/answer/v1\n" + data).hexdigest()


def current(session: Session, msg: InboxMessage) -> MessageAnswer | None:
    return session.scalars(select(MessageAnswer).where(MessageAnswer.message_id == msg.id)
                           .order_by(MessageAnswer.id.desc())).first()


def _checked(session: Session, msg: InboxMessage, text: str) -> list[dict[str, Any]]:
    from hub.checks.service import blocking, check_fields

    text = text.strip()
    if not text:
        raise BadRequest("答复内容不能为空", code="missing_text", field="text")
    if len(text) > 5000:
        raise BadRequest("答复内容不能超过 5000 字", code="too_long", field="text")
    findings = check_fields(session, msg.unit_id, {"answer": (text, False)})
    if blocking(findings):
        raise Unprocessable("答复内容未通过内容检查", code="blocked_by_checks", findings=findings)
    return findings


def draft(session: Session, user: User, message_id: int, text: str) -> MessageAnswer:
    """The handler's answer; if an unsent answer exists, this edits it (a new revision)."""
    msg = inbox._handler_message(session, user, message_id)
    existing = current(session, msg)
    if existing is not None and existing.status in EDITABLE:
        return edit(session, user, existing.id, text)
    findings = _checked(session, msg, text)
    text = text.strip()
    ans = MessageAnswer(message_id=msg.id, text=text, revision=1, revision_hash=answer_hash(msg.id, 1, text),
                        status="in_review", steps=ANSWER_STEPS, editor_ids=[user.id], findings=findings,
                        author_id=user.id)
    session.add(ans)
    msg.status = "in_review"
    if msg.assignee_id is None:
        msg.assignee_id = user.id
    session.flush()
    audit.record(session, "answer.create", object_type="answer", object_id=ans.id, unit=msg.unit,
                 summary=f"留言 #{msg.id} 的答复送审", details={"message_id": msg.id, "hash": ans.revision_hash})
    return ans


def get_answer(session: Session, user: User, answer_id: int) -> MessageAnswer:
    ans = session.get(MessageAnswer, answer_id)
    if ans is None or ans.message.unit_id not in inbox.visible_units(session, user):
        raise NotFound("答复不存在或不可见", code="answer_not_found")
    return ans


def edit(session: Session, user: User, answer_id: int, text: str) -> MessageAnswer:
    """A new revision of an unsent answer: approvals void, back to review."""
    ans = get_answer(session, user, answer_id)
    msg = ans.message
    if not inbox.may_handle_unit(session, user, msg.unit_id):
        raise Forbidden("只有本单位的编辑、审核人或管理员可以修改答复", code="not_handler")
    if ans.status not in EDITABLE:
        raise Conflict("答复已发出或已作废，不能修改", code="answer_not_editable")
    findings = _checked(session, msg, text)
    text = text.strip()
    if text == ans.text and ans.status in UNSENT:
        return ans  # nothing changed: the review goes on
    new_hash = answer_hash(msg.id, ans.revision + 1, text)
    voided = ans.status == "approved"
    res = session.execute(update(MessageAnswer).where(MessageAnswer.id == ans.id,
                                                      MessageAnswer.status.in_(EDITABLE))
                          .values(text=text, revision_hash=new_hash, revision=ans.revision + 1, status="in_review",
                                  findings=findings, approved_at=None, reject_reason=None, send_error=None,
                                  editor_ids=sorted(set(ans.editor_ids or []) | {user.id}), updated_at=utcnow())
                          .execution_options(synchronize_session=False))
    if res.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("答复已发出，不能修改", code="answer_not_editable")
    session.refresh(ans)
    msg.status = "in_review"
    audit.record(session, "answer.edit", object_type="answer", object_id=ans.id, unit=msg.unit,
                 summary=f"留言 #{msg.id} 的答复已修改" + ("，原审核通过作废" if voided else "") + "，重新送审",
                 details={"message_id": msg.id, "hash": new_hash, "voided_approval": voided})
    return ans


def _decidable(session: Session, user: User, answer_id: int, revision_hash: str | None) -> MessageAnswer:
    ans = get_answer(session, user, answer_id)
    msg = ans.message
    if not inbox.may_review_unit(user, msg.unit_id):
        raise Forbidden("只有承办单位的审核人可以审核答复", code="not_reviewer")
    if user.id in (ans.editor_ids or []):
        raise Forbidden("不能审核自己起草或修改的答复", code="own_answer")
    if ans.status != "in_review":
        raise Conflict("答复不在审核中", code="not_in_review")
    if revision_hash is not None and revision_hash != ans.revision_hash:
        raise Conflict("答复已修改，请按最新内容审核", code="stale_revision", revision_hash=ans.revision_hash)
    if session.scalars(select(AnswerDecision).where(AnswerDecision.answer_id == ans.id,
                                                    AnswerDecision.reviewer_id == user.id,
                                                    AnswerDecision.revision_hash == ans.revision_hash)).first():
        raise Conflict("您已审核过这一版答复", code="already_decided")
    return ans


def _claim(session: Session, ans: MessageAnswer) -> None:
    """Conditional update: two reviewers racing cannot both move the same revision."""
    res = session.execute(update(MessageAnswer).where(MessageAnswer.id == ans.id, MessageAnswer.status == "in_review",
                                                      MessageAnswer.revision_hash == ans.revision_hash)
                          .values(updated_at=utcnow()).execution_options(synchronize_session=False))
    if res.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("答复已被他人处理或已修改", code="step_taken")


def approve(session: Session, user: User, answer_id: int, revision_hash: str, comment: str = "") -> MessageAnswer:
    ans = _decidable(session, user, answer_id, revision_hash)
    _claim(session, ans)
    approvals = session.scalars(select(AnswerDecision).where(
        AnswerDecision.answer_id == ans.id, AnswerDecision.revision_hash == ans.revision_hash,
        AnswerDecision.decision == "approved")).all()
    step = len(approvals) + 1
    session.add(AnswerDecision(answer_id=ans.id, step=step, reviewer_id=user.id, decision="approved",
                               revision_hash=ans.revision_hash, comment=comment.strip() or None))
    msg = ans.message
    done = step >= ans.steps
    if done:
        ans.status, ans.approved_at = "approved", utcnow()
        msg.status = "approved"
        answer_id_ = ans.id
        from hub.interaction import queueing

        after_commit(session, lambda: queueing.enqueue(SEND, answer_id_))
    audit.record(session, "answer.approve", object_type="answer", object_id=ans.id, unit=msg.unit,
                 summary=f"留言 #{msg.id} 的答复审核通过（第 {step} 步）" + ("，即将发出" if done else ""),
                 details={"message_id": msg.id, "step": step, "hash": ans.revision_hash})
    return ans


def reject(session: Session, user: User, answer_id: int, reason: str) -> MessageAnswer:
    ans = _decidable(session, user, answer_id, None)
    if not reason.strip():
        raise BadRequest("退回需要说明理由", code="missing_reason", field="reason")
    _claim(session, ans)
    session.add(AnswerDecision(answer_id=ans.id, step=1, reviewer_id=user.id, decision="rejected",
                               revision_hash=ans.revision_hash, comment=reason.strip()))
    ans.status, ans.reject_reason = "rejected", reason.strip()
    ans.message.status = "open"
    audit.record(session, "answer.reject", object_type="answer", object_id=ans.id, unit=ans.message.unit,
                 summary=f"留言 #{ans.message_id} 的答复被退回修改", details={"message_id": ans.message_id})
    return ans


def approved_for_send(session: Session, ans: MessageAnswer) -> bool:
    """Right before sending: the text still has the approved hash and every step approved it."""
    if answer_hash(ans.message_id, ans.revision, ans.text) != ans.revision_hash:
        return False
    n = len(session.scalars(select(AnswerDecision).where(
        AnswerDecision.answer_id == ans.id, AnswerDecision.revision_hash == ans.revision_hash,
        AnswerDecision.decision == "approved")).all())
    return n >= ans.steps


def decisions(session: Session, ans: MessageAnswer) -> list[AnswerDecision]:
    return list(session.scalars(select(AnswerDecision).where(AnswerDecision.answer_id == ans.id)
                                .order_by(AnswerDecision.id)).unique())


def to_dict(ans: MessageAnswer) -> dict[str, Any]:
    return {"id": ans.id, "message_id": ans.message_id, "status": ans.status, "revision_hash": ans.revision_hash,
            "text": ans.text, "findings": ans.findings or [], "sent_at": iso(ans.sent_at)}
