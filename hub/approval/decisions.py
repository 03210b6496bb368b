"""Review decisions (分级审核): approve or reject the current step, finalize, and the worker's
re-check of the approval set.

The rules (who may decide now, quorum, the validity of an approval set) are pure and live in
``review/policy.py``; this module reads the rows, turns them into plain data, calls those rules
and records the outcome. Every function runs inside the caller's transaction, checks permissions
and state in the order docs/design.md §8
gives (404, 403, 409, 400/422), and writes its audit entry in that
same transaction.
Decisions lock the post row (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's writer lock) and
move the review step with a conditional update, so two racing reviewers cannot both take the
same step.
"""

from __future__ import annotations

from typing import Any

from pydantic_core import ErrorDetails
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hub import audit
from hub.approval.chains import candidates, person, post_chain, unit_path
from hub.approval.schemas import ApproveIn
from hub.content import revision_hash
from hub.contracts import ROOT, Raise, parse
from hub.dispatch import queueing, state
from hub.errors import BadRequest, Conflict, Forbidden, HubError, Unprocessable
from hub.i18n_marks import N_
from hub.models import Approval, Post, Revision, User, utcnow
from hub.models.states import POST, PostStatus
from hub.notify import events as notify
from hub.posts.access import contributors, get_post
from hub.posts.comments import MAX_COMMENT
from hub.posts.schedule import fmt_local, iso_utc
from hub.posts.service import revision_fields
from review import policy
from review.chain import Chain, Step

# The reviewer's five confirmations (国办发〔2018〕123号); the API and form field carrying them is
# still called ``checks``. Not to be confused with the content-check findings (hub/checks).
CONFIRMATION_KEYS = policy.CONFIRMATION_KEYS
CONFIRMATION_LABELS = {"political": N_("政治关"), "legal": N_("法律关"), "policy": N_("政策关"), "secrecy": N_("保密关"),
                "wording": N_("文字关")}


def _confirmations_error(problems: list[ErrorDetails]) -> BadRequest:
    """The five confirmations: which one is missing, or that they must be booleans."""
    if any(len(p["loc"]) == 1 for p in problems):
        return BadRequest("缺少五项审核确认 checks（政治关、法律关、政策关、保密关、文字关）", code="missing_checks")
    missing = [k for k in CONFIRMATION_KEYS
               if any(p["loc"][1:] == (k,) and p["type"] == "missing" for p in problems)]
    if missing:
        return BadRequest("缺少审核确认项：" + "、".join(CONFIRMATION_LABELS[k] for k in missing),
                          code="missing_checks", missing=missing)
    return BadRequest("审核确认项必须是布尔值", code="invalid_checks")


APPROVE_ERRORS: dict[str, Raise] = {
    ROOT: BadRequest("请求体必须是 JSON 对象", code="invalid_body"),
    "revision_hash": BadRequest("缺少 revision_hash：审核必须针对确定的版本", code="missing_revision_hash"),
    "checks": _confirmations_error,
    "comment": BadRequest(f"comment 必须是不超过 {MAX_COMMENT} 个字符的字符串", code="invalid_comment"),
}


_REFUSALS: dict[str, type[HubError]] = {"forbidden": Forbidden, "conflict": Conflict, "bad_request": BadRequest}


def _refuse(refusal: policy.Refusal | None) -> None:
    """Raise the error for a refusal of the review rules (nothing if there is none)."""
    if refusal is not None:
        raise _REFUSALS[refusal.kind](refusal.message, code=refusal.code, **refusal.details)


def _decision(a: Approval) -> policy.Decision:
    return policy.Decision(reviewer_id=a.reviewer_id, step=a.step, step_name=a.step_name, decision=a.decision,
                           revision_hash=a.revision_hash, confirmations=a.checks or {})


def _live_decisions(session: Session, rev: Revision, *, approved_only: bool = False) -> list[policy.Decision]:
    """The decisions on ``rev`` that count (not voided), oldest first."""
    stmt = select(Approval).where(Approval.revision_id == rev.id, Approval.voided.is_(False))
    if approved_only:
        stmt = stmt.where(Approval.decision == "approved")
    return [_decision(a) for a in session.scalars(stmt.order_by(Approval.id))]


def _reviewable(session: Session, user: User, post_id: int, body: Any = None) -> tuple[Post, Chain, Revision, Step]:
    """Checks shared by approve and reject, in the status order of docs/design.md §8 (404, 403, 409).

    Returns the post, its chain, the current revision and the step the user acts on now.
    """
    post = get_post(session, user, post_id, lock=True)
    chain = post_chain(session, post)
    rev = post.current_revision
    assert rev is not None
    requested = body.get("step") if isinstance(body, dict) else None
    _refuse(policy.refusal_to_decide(chain, post.step, person(user), unit_path(post),
                                     contributors=contributors(session, post), status=post.status,
                                     decisions=_live_decisions(session, rev), requested=requested))
    return post, chain, rev, chain.steps[post.step]


def _move_step(session: Session, post: Post, rev: Revision, step_index: int, *, to_step: int,
               status: str = "in_review") -> None:
    """Conditional update: only succeeds if nobody moved the post since we read it."""
    POST.check(PostStatus.IN_REVIEW, status)
    won = session.execute(
        update(Post).where(Post.id == post.id, Post.status == "in_review", Post.step == step_index,
                           Post.current_revision_id == rev.id)
        .values(step=to_step, status=status, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if won != 1:
        raise Conflict("该审核环节已被他人处理，请刷新", code="step_taken")
    post.step, post.status = to_step, status


def eligible_for_step(session: Session, post: Post, chain: Chain, index: int, rev: Revision) -> set[int]:
    """Who may still approve step ``index`` of ``rev``: named by the step, not a contributor,
    and not already the approver of another step (one person, one step)."""
    return policy.eligible_for_step(index, candidates(session, post, chain.steps[index]), contributors(session, post),
                                    _live_decisions(session, rev, approved_only=True))


def approve_post(session: Session, user: User, post_id: int, body: Any) -> Post:
    """Approve the current step. The last one arms the dispatches, queued after the commit."""
    post, chain, rev, step = _reviewable(session, user, post_id, body)
    data = parse(ApproveIn, body, APPROVE_ERRORS)  # the body after 404/403/409 (docs/design.md §8)
    given_hash, confirmations, comment = data.revision_hash, data.checks.model_dump(), data.comment
    if given_hash != rev.hash:
        raise Conflict("稿件已被修改，您审核的不是最新版本，请刷新后重新审核", code="stale_revision",
                       current_hash=rev.hash)
    unconfirmed = policy.unconfirmed(confirmations)
    if unconfirmed:
        raise Unprocessable("以下审核项未确认：" + "、".join(CONFIRMATION_LABELS[k] for k in unconfirmed),
                            code="checks_not_confirmed")
    step_index = post.step
    session.add(Approval(post_id=post.id, revision_id=rev.id, revision_hash=rev.hash, step=step_index,
                         step_name=step.name, reviewer_id=user.id, decision="approved", checks=confirmations,
                         comment=comment))
    session.flush()
    eligible = eligible_for_step(session, post, chain, step_index, rev) if step.needs_everyone else set()
    progress = policy.step_progress(chain, step_index, _live_decisions(session, rev, approved_only=True), eligible)
    complete, waiting = progress.complete, list(progress.waiting)
    if complete and step.needs_everyone:
        # Record who made up "all" at completion: the worker checks the set against it.
        snapshot = [dict(s) for s in (post.chain or chain.to_json())]
        snapshot[step_index]["required"] = list(progress.approved)
        post.chain = snapshot
    _move_step(session, post, rev, step_index, to_step=progress.next_index)
    audit.record(session, "post.approve", object_type="post", object_id=post.id, unit=post.unit,
                 summary=f"{step.name}通过《{rev.title}》第 {rev.number} 版"
                         + ("" if complete else f"（本环节还需 {len(waiting)} 人通过）"),
                 details={"step": step_index, "step_name": step.name, "revision_hash": rev.hash,
                          "checks": confirmations, "comment": comment, "step_complete": complete,
                          "waiting_for": waiting})
    if progress.final:
        finalize_approval(session, post)
    elif progress.next_index != step_index:
        following = chain.steps[progress.next_index]
        notify.review_waiting(session, post, following.name,
                              lambda: eligible_for_step(session, post, chain, progress.next_index, rev))
    session.expire(post, ["approvals"])
    return post


def reject_post(session: Session, user: User, post_id: int, body: Any) -> Post:
    """Reject the current step: back to the editor with the reason; the revision's approvals void."""
    post, chain, rev, step = _reviewable(session, user, post_id, body)
    if not isinstance(body, dict):
        raise BadRequest("请求体必须是 JSON 对象", code="invalid_body")
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise BadRequest("退回必须填写理由", code="missing_reason")
    if len(reason) > MAX_COMMENT:
        raise BadRequest(f"退回理由不得超过 {MAX_COMMENT} 个字符", code="invalid_reason")
    given_hash = body.get("revision_hash")
    if given_hash is not None and given_hash != rev.hash:
        raise Conflict("稿件已被修改，请刷新后再处理", code="stale_revision", current_hash=rev.hash)
    step_index = post.step
    _move_step(session, post, rev, step_index, to_step=0, status="rejected")
    session.add(Approval(post_id=post.id, revision_id=rev.id, revision_hash=rev.hash, step=step_index,
                         step_name=step.name, reviewer_id=user.id, decision="rejected", checks={},
                         comment=reason.strip()))
    _void_approvals_except_rejection(session, post, rev.id)
    audit.record(session, "post.reject", object_type="post", object_id=post.id, unit=post.unit,
                 summary=f"{step.name}退回《{rev.title}》：{reason.strip()[:100]}",
                 details={"step": step_index, "step_name": step.name, "revision_hash": rev.hash,
                          "reason": reason.strip()})
    notify.post_returned(session, post, step.name, lambda: contributors(session, post))
    session.expire(post, ["approvals"])
    return post


def _void_approvals_except_rejection(session: Session, post: Post, revision_id: int) -> None:
    session.flush()
    session.execute(update(Approval).where(Approval.post_id == post.id, Approval.voided.is_(False),
                                           Approval.decision == "approved").values(voided=True))


def finalize_approval(session: Session, post: Post) -> None:
    """All steps passed: create dispatches; publish now, at publish_at, or wait for a new time.
    The dispatches go on the queue after the commit (hub/dispatch/queueing.py)."""
    rev = post.current_revision
    assert rev is not None
    from hub.posts import library, validity

    if library.published_dispatches(session, post):  # a validity change of a published policy
        validity.finalize_update(session, post)
        return
    now = utcnow()
    state.move_post(post, PostStatus.APPROVED)
    audit.record(session, "post.approved", object_type="post", object_id=post.id, unit=post.unit,
                 summary=f"《{rev.title}》第 {rev.number} 版全部审核环节通过",
                 details={"revision": rev.number, "revision_hash": rev.hash,
                          "steps": [s["name"] for s in post.chain or []]})
    if post.publish_at and post.publish_at <= now:
        # The chosen time passed before final approval: never publish late by surprise.
        audit.record(session, "post.schedule_missed", object_type="post", object_id=post.id, unit=post.unit,
                     summary="定时发布时间已过，等待编辑重新选择发布时间",
                     details={"publish_at": iso_utc(post.publish_at)})
        return
    state.create_dispatches(session, post)
    queueing.publish_post_after_commit(session, post.id)
    if post.publish_at and post.publish_at > now:
        audit.record(session, "post.scheduled", object_type="post", object_id=post.id, unit=post.unit,
                     summary=f"审核通过，将于 {fmt_local(post.publish_at)} 发布",
                     details={"publish_at": iso_utc(post.publish_at)})
        return
    state.move_post(post, PostStatus.PUBLISHING)


def approval_set_valid(session: Session, post: Post, rev: Revision) -> tuple[bool, str]:
    """Defence in depth for the worker: a complete, valid approval set for this exact hash.

    The revision must still match its hash and be the post's current one, the post must have
    its chain snapshot and not be withdrawn; then the set itself must satisfy
    ``review.policy.approval_set_problem`` (every step approved by people it names, five
    confirmations, no contributor, one person one step, "all" steps complete).
    """
    recomputed = revision_hash(revision_fields(rev))
    if recomputed != rev.hash:
        return False, "版本内容与其哈希不一致（可能被篡改）"
    if post.current_revision_id != rev.id:
        return False, "该版本已不是稿件的当前版本"
    if not post.chain:
        return False, "稿件没有审核流程记录"
    if post.status == "withdrawn":
        return False, "稿件已撤稿"
    approvals = _live_decisions(session, rev, approved_only=True)
    reviewers = {u.id: person(u) for u in session.scalars(
        select(User).where(User.id.in_({a.reviewer_id for a in approvals}))).unique()} if approvals else {}
    problem = policy.approval_set_problem(Chain.from_json(post.chain), approvals, revision_hash=rev.hash,
                                          contributors=contributors(session, post), reviewers=reviewers,
                                          unit_path=unit_path(post))
    return (False, problem) if problem else (True, "")
