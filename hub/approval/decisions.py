"""Review decisions (分级审核): approve or reject the current step, finalize, and the worker's
re-check of the approval set.

Every function runs inside the caller's transaction, checks permissions and state in the order
docs/design.md §8 gives (404, 403, 409, 400/422), and writes its audit entry in that same transaction.
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
from hub.approval.chains import Chain, Step, chain_for
from hub.approval.schemas import ApproveIn
from hub.content import revision_hash
from hub.contracts import ROOT, Raise, parse
from hub.errors import BadRequest, Conflict, Forbidden, Unprocessable
from hub.i18n_marks import N_
from hub.models import Approval, Post, Revision, User, utcnow
from hub.posts.access import contributors, get_post
from hub.posts.comments import MAX_COMMENT
from hub.posts.schedule import create_dispatches, fmt_local, iso_utc
from hub.posts.service import revision_fields

CHECK_KEYS = ("political", "legal", "policy", "secrecy", "wording")
CHECK_LABELS = {"political": N_("政治关"), "legal": N_("法律关"), "policy": N_("政策关"), "secrecy": N_("保密关"),
                "wording": N_("文字关")}


def _checks_error(problems: list[ErrorDetails]) -> BadRequest:
    """The five confirmations: which one is missing, or that they must be booleans."""
    if any(len(p["loc"]) == 1 for p in problems):
        return BadRequest("缺少五项审核确认 checks（政治关、法律关、政策关、保密关、文字关）", code="missing_checks")
    missing = [k for k in CHECK_KEYS if any(p["loc"][1:] == (k,) and p["type"] == "missing" for p in problems)]
    if missing:
        return BadRequest("缺少审核确认项：" + "、".join(CHECK_LABELS[k] for k in missing), code="missing_checks",
                          missing=missing)
    return BadRequest("审核确认项必须是布尔值", code="invalid_checks")


APPROVE_ERRORS: dict[str, Raise] = {
    ROOT: BadRequest("请求体必须是 JSON 对象", code="invalid_body"),
    "revision_hash": BadRequest("缺少 revision_hash：审核必须针对确定的版本", code="missing_revision_hash"),
    "checks": _checks_error,
    "comment": BadRequest(f"comment 必须是不超过 {MAX_COMMENT} 个字符的字符串", code="invalid_comment"),
}


def _requested_step(body: Any) -> int | None:
    """The optional ``step`` (0-based index) the reviewer believes they are acting on."""
    if isinstance(body, dict) and "step" in body and body["step"] is not None:
        value = body["step"]
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise BadRequest("step 必须是从 0 开始的环节序号", code="invalid_step")
        return int(value)
    return None


def _reviewable(session: Session, user: User, post_id: int, body: Any = None) -> tuple[Post, Chain, Revision, Step]:
    """Checks shared by approve and reject, in the status order of docs/design.md §8 (404, 403, 409).

    Returns the post, its chain, the current revision and the step the user acts on now.
    """
    post = get_post(session, user, post_id, lock=True)
    chain = Chain.from_json(post.chain) if post.chain else chain_for(session, post)
    if not chain.may_act_anywhere(session, user, post):
        raise Forbidden("您没有审核本稿件的权限", code="not_reviewer")
    if user.id in contributors(session, post):
        raise Forbidden("不能审核自己撰写或修改过的稿件", code="own_revision")
    rev = post.current_revision
    assert rev is not None
    if post.status != "in_review":
        raise Conflict(f"稿件不在审核中（当前状态：{post.status}）", code="not_in_review", status=post.status)
    acted = session.scalars(select(Approval).where(
        Approval.revision_id == rev.id, Approval.reviewer_id == user.id, Approval.voided.is_(False))).first()
    if acted:
        raise Conflict(f"您已在「{acted.step_name}」审核过本版本，同一人不能审核多个环节", code="already_acted")
    index = post.step
    current = chain.steps[index]
    requested = _requested_step(body)
    if requested is not None and requested != index:
        taken = chain.steps[requested].name if requested < len(chain.steps) else str(requested)
        raise Conflict(f"「{taken}」环节已不是当前环节（已由他人处理），稿件现处于「{current.name}」环节，请刷新",
                       code="step_taken", step=index, step_name=current.name)
    if not current.may_act(session, user, post):
        if any(s.may_act(session, user, post) for s in chain.steps[:index]):
            raise Conflict(f"您负责的环节已由他人处理，稿件现处于「{current.name}」环节", code="step_taken",
                           step=index, step_name=current.name)
        raise Conflict(f"稿件现处于「{current.name}」环节，尚未轮到您审核", code="not_your_step",
                       step=index, step_name=current.name)
    return post, chain, rev, current


def _move_step(session: Session, post: Post, rev: Revision, step_index: int, *, to_step: int,
               status: str = "in_review") -> None:
    """Conditional update: only succeeds if nobody moved the post since we read it."""
    won = session.execute(
        update(Post).where(Post.id == post.id, Post.status == "in_review", Post.step == step_index,
                           Post.current_revision_id == rev.id)
        .values(step=to_step, status=status, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if won != 1:
        raise Conflict("该审核环节已被他人处理，请刷新", code="step_taken")
    post.step, post.status = to_step, status


def _approvers(session: Session, rev: Revision, step: int | None = None) -> dict[int, int]:
    """reviewer id → step, for the live approvals of ``rev`` (optionally of one step)."""
    stmt = select(Approval.reviewer_id, Approval.step).where(
        Approval.revision_id == rev.id, Approval.voided.is_(False), Approval.decision == "approved")
    if step is not None:
        stmt = stmt.where(Approval.step == step)
    return {rid: st for rid, st in session.execute(stmt).all()}


def eligible_for_step(session: Session, post: Post, chain: Chain, index: int, rev: Revision) -> set[int]:
    """Who may still approve step ``index`` of ``rev``: named by the step, not a contributor,
    and not already the approver of another step (one person, one step)."""
    others = {rid for rid, st in _approvers(session, rev).items() if st != index}
    return chain.steps[index].candidates(session, post) - contributors(session, post) - others


def approve_post(session: Session, user: User, post_id: int, body: Any) -> tuple[Post, list[int]]:
    """Approve the current step. Returns the post and the ids of dispatches to enqueue now."""
    post, chain, rev, step = _reviewable(session, user, post_id, body)
    data = parse(ApproveIn, body, APPROVE_ERRORS)  # the body after 404/403/409 (docs/design.md §8)
    given_hash, checks, comment = data.revision_hash, data.checks.model_dump(), data.comment
    if given_hash != rev.hash:
        raise Conflict("稿件已被修改，您审核的不是最新版本，请刷新后重新审核", code="stale_revision",
                       current_hash=rev.hash)
    if not all(checks.values()):
        unconfirmed = [CHECK_LABELS[k] for k, v in checks.items() if not v]
        raise Unprocessable("以下审核项未确认：" + "、".join(unconfirmed), code="checks_not_confirmed")
    step_index = post.step
    session.add(Approval(post_id=post.id, revision_id=rev.id, revision_hash=rev.hash, step=step_index,
                         step_name=step.name, reviewer_id=user.id, decision="approved", checks=checks,
                         comment=comment))
    session.flush()
    complete = True
    waiting: list[int] = []
    if step.quorum == "all":
        approved = set(_approvers(session, rev, step_index))
        waiting = sorted(eligible_for_step(session, post, chain, step_index, rev) - approved)
        complete = not waiting
        if complete:
            # Record who made up "all" at completion: the worker checks the set against it.
            snapshot = [dict(s) for s in (post.chain or chain.to_json())]
            snapshot[step_index]["required"] = sorted(approved)
            post.chain = snapshot
    _move_step(session, post, rev, step_index, to_step=step_index + 1 if complete else step_index)
    audit.record(session, "post.approve", object_type="post", object_id=post.id, unit=post.unit,
                 summary=f"{step.name}通过《{rev.title}》第 {rev.number} 版"
                         + ("" if complete else f"（本环节还需 {len(waiting)} 人通过）"),
                 details={"step": step_index, "step_name": step.name, "revision_hash": rev.hash,
                          "checks": checks, "comment": comment, "step_complete": complete,
                          "waiting_for": waiting})
    to_enqueue: list[int] = []
    if complete and step_index + 1 >= len(chain.steps):
        to_enqueue = finalize_approval(session, post)
    session.expire(post, ["approvals"])
    return post, to_enqueue


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
    session.expire(post, ["approvals"])
    return post


def _void_approvals_except_rejection(session: Session, post: Post, revision_id: int) -> None:
    session.flush()
    session.execute(update(Approval).where(Approval.post_id == post.id, Approval.voided.is_(False),
                                           Approval.decision == "approved").values(voided=True))


def finalize_approval(session: Session, post: Post) -> list[int]:
    """All steps passed: create dispatches; publish now, at publish_at, or wait for a new time."""
    rev = post.current_revision
    assert rev is not None
    now = utcnow()
    post.status = "approved"
    audit.record(session, "post.approved", object_type="post", object_id=post.id, unit=post.unit,
                 summary=f"《{rev.title}》第 {rev.number} 版全部审核环节通过",
                 details={"revision": rev.number, "revision_hash": rev.hash,
                          "steps": [s["name"] for s in post.chain or []]})
    if post.publish_at and post.publish_at <= now:
        # The chosen time passed before final approval: never publish late by surprise.
        audit.record(session, "post.schedule_missed", object_type="post", object_id=post.id, unit=post.unit,
                     summary="定时发布时间已过，等待编辑重新选择发布时间",
                     details={"publish_at": iso_utc(post.publish_at)})
        return []
    ids = create_dispatches(session, post)
    if post.publish_at and post.publish_at > now:
        audit.record(session, "post.scheduled", object_type="post", object_id=post.id, unit=post.unit,
                     summary=f"审核通过，将于 {fmt_local(post.publish_at)} 发布",
                     details={"publish_at": iso_utc(post.publish_at)})
        return []
    post.status = "publishing"
    return ids


def approval_set_valid(session: Session, post: Post, rev: Revision) -> tuple[bool, str]:
    """Defence in depth for the worker: a complete, valid approval set for this exact hash.

    Every step of the chain the post was submitted under needs live approvals of this
    revision's hash, with the five checks confirmed, from people the step names, none of
    whom created or edited the post, each acting on one step only; an "all" step needs
    everyone recorded as required when it completed.
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
    chain = Chain.from_json(post.chain)
    approvals = session.scalars(select(Approval).where(
        Approval.revision_id == rev.id, Approval.voided.is_(False), Approval.decision == "approved")).all()
    if any(a.revision_hash != rev.hash for a in approvals):
        return False, "存在与版本哈希不一致的审核记录"
    by_step: dict[int, list[Approval]] = {}
    for a in approvals:
        by_step.setdefault(a.step, []).append(a)
    if set(by_step) - set(range(len(chain.steps))):
        return False, "存在不属于审核流程的审核记录"
    authors = contributors(session, post)
    seen: set[int] = set()
    for i, step in enumerate(chain.steps):
        group = by_step.get(i, [])
        if not group:
            return False, f"缺少「{step.name}」环节的审核通过记录"
        for a in group:
            if a.reviewer_id in authors:
                return False, f"「{step.name}」环节的审核人撰写或修改过本稿件"
            if a.reviewer_id in seen:
                return False, f"「{step.name}」环节的审核人已审核过其他环节"
            if not all((a.checks or {}).get(k) is True for k in CHECK_KEYS):
                return False, f"「{step.name}」环节未确认五项审核"
            reviewer = session.get(User, a.reviewer_id)
            if reviewer is None or not step.may_act(session, reviewer, post):
                return False, f"「{step.name}」环节的审核人无权审核"
            seen.add(a.reviewer_id)
        if step.quorum == "all":
            required = set((post.chain[i] or {}).get("required") or [])
            if not required or not required <= {a.reviewer_id for a in group}:
                return False, f"「{step.name}」环节要求全部审核人通过，审核记录不完整"
        elif len(group) != 1:
            return False, f"「{step.name}」环节的审核记录数量异常"
    return True, ""
