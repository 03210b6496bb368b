"""Post lifecycle: create, edit (new revision), submit, approve, reject, schedule,
cancel, withdraw (撤稿) and the comment thread.

Every function runs inside the caller's transaction, checks permissions and
state in the order DESIGN gives (404, 403, 409, 400/422), and writes its
audit entry in that same transaction. Transitions lock the post row
(``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's writer lock) and move the
review step with a conditional update, so two racing reviewers cannot both
take the same step.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic_core import ErrorDetails
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from adapters.registry import UnknownPlatform, get_adapter
from hub import audit
from hub.approval.chains import Chain, Step, chain_for, resolve
from hub.approval.schemas import ApproveIn
from hub.checks import service as checks_service
from hub.content import CoverError, parse_data_url, revision_hash, sanitize_html
from hub.contracts import ROOT, Raise, parse
from hub.errors import BadRequest, Conflict, Forbidden, NotFound, Unprocessable
from hub.i18n_marks import N_
from hub.models import Account, Approval, Comment, Dispatch, Media, Post, Revision, User, utcnow
from hub.permissions import can_see_post, is_admin_of, is_editor_of

SHANGHAI = ZoneInfo("Asia/Shanghai")
CHECK_KEYS = ("political", "legal", "policy", "secrecy", "wording")
CHECK_LABELS = {"political": N_("政治关"), "legal": N_("法律关"), "policy": N_("政策关"), "secrecy": N_("保密关"),
                "wording": N_("文字关")}
EDITABLE_STATUSES = ("draft", "rejected", "in_review", "approved")
SCHEDULABLE_STATUSES = ("draft", "rejected", "in_review", "approved")
WITHDRAWABLE_STATUSES = ("approved", "publishing", "published", "partially_published")
FIELDS = ("title", "content", "summary", "author", "category", "is_original", "source_url", "cover",
          "variants", "account_ids", "publish_at")
MAX_COMMENT = 2000
SCHEDULE_HORIZON = timedelta(hours=1)
log = logging.getLogger(__name__)


def get_post(session: Session, user: User, post_id: int, *, lock: bool = False) -> Post:
    """The post if the user may see it; otherwise 404 (never reveal another unit's post).

    Besides the post's own unit and overseers, the people its review chain names (e.g. the
    reviewers of an ancestor unit taking a 终审) and anyone who once decided on it may see it.
    ``lock`` re-reads the row and locks it for the rest of the transaction.
    """
    stmt = select(Post).where(Post.id == post_id)
    if lock:
        stmt = stmt.execution_options(populate_existing=True)
        if not (session.bind and session.bind.dialect.name == "sqlite"):
            stmt = stmt.with_for_update(of=Post)
    post = session.scalars(stmt).unique().first()
    if post is None or not (can_see_post(session, user, post) or reviews_post(session, user, post)):
        raise NotFound("稿件不存在或无权查看", code="post_not_found")
    return post


def reviews_post(session: Session, user: User, post: Post) -> bool:
    """Whether ``user`` is named by the post's review chain or has decided on the post before."""
    if post.chain and Chain.from_json(post.chain).may_act_anywhere(session, user, post):
        return True
    return session.scalar(select(Approval.id).where(Approval.post_id == post.id,
                                                    Approval.reviewer_id == user.id).limit(1)) is not None


def parse_time(value: Any) -> datetime | None:
    """ISO 8601 to naive UTC; a time without offset means Asia/Shanghai."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise BadRequest("publish_at 必须是 ISO 8601 时间字符串", code="invalid_publish_at")
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"无法识别的时间：{value}", code="invalid_publish_at") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=SHANGHAI)
    return dt.astimezone(UTC).replace(tzinfo=None)


def _str(data: dict, key: str, default: str = "", max_len: int | None = None) -> str:
    v = data.get(key, default)
    if v is None:
        v = default
    if not isinstance(v, str):
        raise BadRequest(f"字段 {key} 必须是字符串", code="invalid_field", field=key)
    if max_len is not None and len(v) > max_len:
        raise Unprocessable(f"字段 {key} 不得超过 {max_len} 个字符", code="field_too_long", field=key)
    return v


def _validate_fields(session: Session, user: User, unit_id: int, data: dict, base: dict) -> dict:
    """Merge ``data`` over ``base`` and validate; returns the full field dict of the new revision."""
    if not isinstance(data, dict):
        raise BadRequest("请求体必须是 JSON 对象", code="invalid_body")
    unknown = set(data) - set(FIELDS)
    if unknown:
        raise BadRequest(f"未知字段：{', '.join(sorted(unknown))}", code="unknown_field")
    f = dict(base)
    for key in ("title", "content", "summary", "author", "category", "source_url"):
        if key in data:
            f[key] = _str(data, key, max_len={"title": 200, "summary": 1000, "author": 64, "category": 64,
                                             "source_url": 500}.get(key))
    if "is_original" in data:
        if not isinstance(data["is_original"], bool):
            raise BadRequest("is_original 必须是布尔值", code="invalid_field", field="is_original")
        f["is_original"] = data["is_original"]
    if "content" in data:
        f["content"] = sanitize_html(f["content"])
    if not f.get("title", "").strip():
        raise BadRequest("标题不能为空", code="missing_title", field="title")
    if not f.get("content", "").strip():
        raise BadRequest("正文不能为空", code="missing_content", field="content")
    if f.get("source_url") and not f["source_url"].startswith(("http://", "https://")):
        raise Unprocessable("原文链接必须以 http:// 或 https:// 开头", code="invalid_source_url")
    if "variants" in data:
        v = data["variants"] or {}
        if not isinstance(v, dict) or not all(
            isinstance(p, str) and isinstance(o, dict) and set(o) <= {"title", "summary", "text", "mass_send"}
            and all(isinstance(x, str) for x in o.values()) for p, o in v.items()
        ):
            raise BadRequest("variants 必须形如 {平台: {title?, summary?, text?, mass_send?}}", code="invalid_variants")
        f["variants"] = v
    if "cover" in data:
        f["cover_id"], f["cover_sha256"] = _cover(session, unit_id, data["cover"])
    if "account_ids" in data:
        ids = data["account_ids"]
        if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise BadRequest("account_ids 必须是账号编号数组", code="invalid_account_ids")
        f["account_ids"] = sorted(set(ids))
    if not f.get("account_ids"):
        raise BadRequest("至少选择一个发布账号", code="missing_accounts", field="account_ids")
    check_targets(session, unit_id, f["account_ids"])
    validate_for_platforms(session, f)
    return f


def check_targets(session: Session, unit_id: int, account_ids: list[int]) -> list[Account]:
    accounts = session.scalars(select(Account).where(Account.id.in_(account_ids))).all()
    found = {a.id: a for a in accounts}
    missing = [i for i in account_ids if i not in found or found[i].unit_id != unit_id]
    if missing:
        raise Unprocessable(f"账号不存在或不属于本单位：{', '.join(map(str, missing))}",
                            code="unknown_accounts", account_ids=missing)
    inactive = [a for a in accounts if a.status != "active"]
    if inactive:
        names = "、".join(f"{a.name}（{a.status}）" for a in inactive)
        raise Conflict(f"以下账号未处于启用状态，不能作为发布目标：{names}", code="account_not_active",
                       account_ids=[a.id for a in inactive])
    return list(accounts)


def validate_for_platforms(session: Session, f: dict) -> None:
    accounts = session.scalars(select(Account).where(Account.id.in_(f["account_ids"]))).all()
    problems: list[str] = []
    for platform in sorted({a.platform for a in accounts}):
        try:
            adapter = get_adapter(platform)
        except UnknownPlatform as exc:
            raise Unprocessable(str(exc), code="unknown_platform") from None
        problems += adapter.validate(f["title"], f["content"], f.get("summary", ""), f.get("author", ""),
                                     (f.get("variants") or {}).get(platform))
    if problems:
        raise Unprocessable("；".join(problems), code="platform_limits", problems=problems)


def _cover(session: Session, unit_id: int, value: Any) -> tuple[int | None, str]:
    if value in (None, ""):
        return None, ""
    if isinstance(value, int) and not isinstance(value, bool) or (isinstance(value, str) and value.isdigit()):
        media = session.get(Media, int(value))
        if media is None or (media.unit_id not in (None, unit_id)):
            raise Unprocessable(f"封面媒体 {value} 不存在", code="unknown_media")
        return media.id, media.sha256
    if isinstance(value, str):
        try:
            mime, data = parse_data_url(value)
        except CoverError as exc:
            raise Unprocessable(str(exc), code="invalid_cover") from None
        media = store_media(session, unit_id, mime, data)
        return media.id, media.sha256
    raise BadRequest("cover 必须是 data: URL 或媒体编号", code="invalid_cover")


def store_media(session: Session, unit_id: int | None, mime: str, data: bytes) -> Media:
    import hashlib

    sha = hashlib.sha256(data).hexdigest()
    existing = session.scalars(select(Media).where(Media.sha256 == sha, Media.unit_id == unit_id)).first()
    if existing:
        return existing
    media = Media(unit_id=unit_id, sha256=sha, mime=mime, data=data)
    session.add(media)
    session.flush()
    return media


def _revision_fields(rev: Revision | None) -> dict:
    if rev is None:
        return {"title": "", "content": "", "summary": "", "author": "", "category": "", "is_original": False,
                "source_url": "", "cover_id": None, "cover_sha256": "", "variants": {}, "account_ids": []}
    return {"title": rev.title, "content": rev.content, "summary": rev.summary, "author": rev.author,
            "category": rev.category, "is_original": rev.is_original, "source_url": rev.source_url,
            "cover_id": rev.cover_id, "cover_sha256": rev.cover_sha256, "variants": dict(rev.variants or {}),
            "account_ids": list(rev.account_ids or [])}


def _new_revision(session: Session, post: Post, user: User, f: dict) -> Revision:
    number = (post.current_revision.number + 1) if post.current_revision else 1
    rev = Revision(
        post_id=post.id, number=number, hash=revision_hash(f), title=f["title"], content=f["content"],
        summary=f.get("summary", ""), author=f.get("author", ""), category=f.get("category", ""),
        is_original=bool(f.get("is_original")), source_url=f.get("source_url", ""), cover_id=f.get("cover_id"),
        cover_sha256=f.get("cover_sha256", ""), variants=f.get("variants") or {},
        account_ids=list(f["account_ids"]), created_by_id=user.id,
    )
    session.add(rev)
    session.flush()
    post.current_revision_id = rev.id
    post.current_revision = rev
    return rev


def create_post(session: Session, user: User, data: dict) -> Post:
    if not isinstance(data, dict):
        raise BadRequest("请求体必须是 JSON 对象", code="invalid_body")
    if not user.has_role("editor"):
        raise Forbidden("只有编辑可以创建稿件", code="not_editor")
    unit_id = user.unit_id if is_editor_of(user, user.unit_id) else next(
        g.unit_id for g in user.roles if g.role == "editor")
    f = _validate_fields(session, user, unit_id, data, _revision_fields(None))
    publish_at = parse_time(data.get("publish_at"))
    post = Post(unit_id=unit_id, creator_id=user.id, status="draft", publish_at=publish_at)
    session.add(post)
    session.flush()
    rev = _new_revision(session, post, user, f)
    audit.record(session, "post.create", object_type="post", object_id=post.id, unit=post.unit,
                 summary=f"创建稿件《{rev.title}》", details={"revision": rev.number, "hash": rev.hash,
                                                            "account_ids": rev.account_ids})
    return post


def update_post(session: Session, user: User, post_id: int, data: dict) -> Post:
    post = get_post(session, user, post_id, lock=True)
    if not (is_editor_of(user, post.unit_id) or user.has_role("reviewer", post.unit_id)):
        raise Forbidden("您不能修改本单位以外或无编辑权限的稿件", code="not_editor")
    if post.status not in EDITABLE_STATUSES:
        raise Conflict(f"稿件当前状态（{post.status}）不允许修改", code="not_editable", status=post.status)
    if not isinstance(data, dict):
        raise BadRequest("请求体必须是 JSON 对象", code="invalid_body")
    content_keys = set(data) - {"publish_at"}
    if post.status == "approved" and not content_keys:
        # Only the time changes on an approved post: that is a reschedule, no re-approval.
        return schedule_post(session, user, post_id, data)[0]
    base = _revision_fields(post.current_revision)
    changed: list[str] = []
    if content_keys:
        f = _validate_fields(session, user, post.unit_id, {k: data[k] for k in content_keys}, base)
        new_hash = revision_hash(f)
        if new_hash != post.current_revision.hash if post.current_revision else True:
            old_status = post.status
            if old_status == "approved":
                _hold_for_edit(session, post)
            rev = _new_revision(session, post, user, f)
            _void_approvals(session, post)
            post.status = "draft"
            post.step = 0
            post.chain = None
            changed.append("content")
            audit.record(session, "post.edit", object_type="post", object_id=post.id, unit=post.unit,
                         summary=f"修改稿件《{rev.title}》，生成第 {rev.number} 版，审核记录作废",
                         details={"revision": rev.number, "hash": rev.hash, "previous_status": old_status})
    else:
        f = base
    if "publish_at" in data:
        new_at = parse_time(data.get("publish_at"))
        if new_at != post.publish_at:
            post.publish_at = new_at
            changed.append("publish_at")
            audit.record(session, "post.reschedule", object_type="post", object_id=post.id, unit=post.unit,
                         summary="修改定时发布时间", details={"publish_at": _iso(new_at)})
    post.updated_at = utcnow()
    return post


def _hold_for_edit(session: Session, post: Post) -> None:
    """An approved post waiting for its time may still be corrected, as long as nothing was sent:
    its pending dispatches are cancelled (conditionally: a worker that claimed one first wins)."""
    _cancel_pending(session, post, "稿件已修改，原版本不再发布")
    sent = session.scalar(select(Dispatch.id).where(
        Dispatch.post_id == post.id, Dispatch.status.in_(("sending", "unconfirmed", "published"))).limit(1))
    if sent is not None:
        raise Conflict("稿件已开始发布，不能再修改；如需更正请撤稿后重新发布", code="not_editable",
                       status="publishing")


def _void_approvals(session: Session, post: Post) -> None:
    session.execute(update(Approval).where(Approval.post_id == post.id, Approval.voided.is_(False))
                    .values(voided=True))
    session.expire(post, ["approvals"])


def contributors(session: Session, post: Post) -> set[int]:
    """Everyone who created or edited any revision of the post."""
    return set(session.scalars(select(Revision.created_by_id).where(Revision.post_id == post.id)).all()) | {
        post.creator_id}



def submit_post(session: Session, user: User, post_id: int, *, override_warnings: bool = True) -> Post:
    """Draft or rejected → in_review under the chain in force now (snapshotted on the post)."""
    post = get_post(session, user, post_id, lock=True)
    if not is_editor_of(user, post.unit_id) and user.id not in contributors(session, post):
        raise Forbidden("只有本单位编辑可以提交审核", code="not_editor")
    if post.status not in ("draft", "rejected"):
        raise Conflict(f"稿件当前状态（{post.status}）不能提交审核", code="not_submittable", status=post.status)
    rev = post.current_revision
    assert rev is not None
    check_targets(session, post.unit_id, list(rev.account_ids))
    findings = checks_service.findings_for_revision(session, rev)
    blocking = checks_service.blocking(findings)  # block findings no reviewer has overridden
    if blocking:
        raise Unprocessable("内容检查发现必须修改的问题，不能提交审核", code="blocked_by_checks",
                            findings=findings)
    resolved = resolve(session, post.unit, rev.category or "")
    _void_approvals(session, post)  # a new review round starts at step 1
    post.chain = resolved.chain.to_json()
    post.status = "in_review"
    post.step = 0
    post.submitted_at = utcnow()
    audit.record(session, "post.submit", object_type="post", object_id=post.id, unit=post.unit,
                 summary=f"提交审核《{rev.title}》第 {rev.number} 版",
                 details={"revision": rev.number, "hash": rev.hash, "chain": [s["name"] for s in post.chain],
                          "chain_source": resolved.source(), "findings": len(findings)})
    return post


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
    """Checks shared by approve and reject, in DESIGN's status order (404, 403, 409).

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
                     details={"publish_at": _iso(post.publish_at)})
        return []
    ids = create_dispatches(session, post)
    if post.publish_at and post.publish_at > now:
        audit.record(session, "post.scheduled", object_type="post", object_id=post.id, unit=post.unit,
                     summary=f"审核通过，将于 {fmt_local(post.publish_at)} 发布",
                     details={"publish_at": _iso(post.publish_at)})
        return []
    post.status = "publishing"
    return ids


def create_dispatches(session: Session, post: Post) -> list[int]:
    """One pending dispatch per target account of the current revision (existing ones reused)."""
    return _arm_dispatches(session, post, post.publish_at, revive=False)


def _arm_dispatches(session: Session, post: Post, not_before: datetime | None, *, revive: bool) -> list[int]:
    rev = post.current_revision
    assert rev is not None
    existing = {d.account_id: d for d in session.scalars(select(Dispatch).where(Dispatch.revision_id == rev.id))}
    ids = []
    for account_id in rev.account_ids:
        d = existing.get(account_id)
        if d is None:
            d = Dispatch(post_id=post.id, revision_id=rev.id, account_id=account_id, status="pending",
                         not_before=not_before)
            session.add(d)
            session.flush()
            audit.record(session, "dispatch.create", object_type="dispatch", object_id=d.id, unit=post.unit,
                         summary="创建发布任务", details={"post_id": post.id, "account_id": account_id,
                                                       "revision_hash": rev.hash})
        elif revive and d.status in ("pending", "cancelled"):
            d.status, d.not_before, d.error = "pending", not_before, None
            d.updated_at = utcnow()
        ids.append(d.id)
    session.expire(post, ["dispatches"])
    return ids


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


# -- scheduling ------------------------------------------------------------------------------
def _may_schedule(session: Session, user: User, post: Post) -> None:
    if not (is_editor_of(user, post.unit_id) or is_admin_of(session, user, post.unit_id)):
        raise Forbidden("只有本单位编辑或管理员可以安排发布时间", code="not_editor")


def schedule_post(session: Session, user: User, post_id: int, body: Any) -> tuple[Post, list[int]]:
    """Set or change the publish time (no new revision, no re-approval; audited).

    Before approval it is the time to publish at once approved. On an approved post it
    arms its dispatches for that time; ``publish_at: null`` then means "publish now".
    Returns the post and the ids of its pending dispatches (to enqueue, now or at the time).
    """
    post = get_post(session, user, post_id, lock=True)
    _may_schedule(session, user, post)
    if post.status not in SCHEDULABLE_STATUSES:
        raise Conflict(f"稿件当前状态（{post.status}）不能调整发布时间", code="not_schedulable", status=post.status)
    if not isinstance(body, dict):
        raise BadRequest("请求体必须是 JSON 对象", code="invalid_body")
    if "publish_at" not in body:
        raise BadRequest("缺少 publish_at（ISO 8601 时间；null 表示审核通过后立即发布）", code="missing_publish_at")
    unknown = set(body) - {"publish_at"}
    if unknown:
        raise BadRequest(f"未知字段：{', '.join(sorted(unknown))}", code="unknown_field")
    new_at = parse_time(body["publish_at"])
    now = utcnow()
    if new_at is not None and new_at <= now:
        raise Unprocessable(f"发布时间 {fmt_local(new_at)} 已过，请选择将来的时间", code="publish_at_past")
    old_at = post.publish_at
    post.publish_at = new_at
    post.updated_at = now
    ids: list[int] = []
    if post.status == "approved":
        ids = _arm_dispatches(session, post, new_at, revive=True)
        if new_at is None:
            post.status = "publishing"
    if new_at is None and post.status == "publishing":
        summary = "立即发布"
    elif new_at is None:
        summary = "取消定时，审核通过后立即发布"
    else:
        summary = f"发布时间调整为 {fmt_local(new_at)}"
    audit.record(session, "post.reschedule", object_type="post", object_id=post.id, unit=post.unit,
                 summary=summary, details={"from": _iso(old_at), "to": _iso(new_at), "status": post.status,
                                           "dispatches": ids})
    return post, ids


def cancel_schedule(session: Session, user: User, post_id: int) -> Post:
    """Cancel the scheduled publication of an approved post; it waits for a new time (no re-approval)."""
    post = get_post(session, user, post_id, lock=True)
    _may_schedule(session, user, post)
    if post.status != "approved" or post.publish_at is None:
        raise Conflict(f"只有已审核通过、等待定时发布的稿件可以取消发布（当前状态：{post.status}"
                       + ("，未安排发布时间" if post.status == "approved" else "") + "）",
                       code="not_scheduled", status=post.status)
    rev = post.current_revision
    assert rev is not None
    cancelled = _cancel_pending(session, post, "已取消定时发布")
    old_at = post.publish_at
    post.publish_at = None
    post.updated_at = utcnow()
    audit.record(session, "post.schedule_cancel", object_type="post", object_id=post.id, unit=post.unit,
                 summary="取消定时发布，等待重新选择发布时间",
                 details={"publish_at": _iso(old_at), "cancelled_dispatches": cancelled})
    return post


def _cancel_pending(session: Session, post: Post, why: str) -> list[int]:
    """Cancel the post's pending dispatches; returns the ids actually cancelled (conditional update)."""
    ids = list(session.scalars(select(Dispatch.id).where(Dispatch.post_id == post.id,
                                                         Dispatch.status == "pending")))
    done: list[int] = []
    for did in ids:
        n = session.execute(update(Dispatch).where(Dispatch.id == did, Dispatch.status == "pending")
                            .values(status="cancelled", error=why, updated_at=utcnow())
                            .execution_options(synchronize_session=False)).rowcount  # type: ignore[attr-defined]
        if n == 1:
            done.append(did)
    if ids:
        session.expire(post, ["dispatches"])
    if done:
        _after_commit_unschedule(session, done)
    return done


def pending_dispatch_times(session: Session, post_id: int) -> list[tuple[int, datetime | None]]:
    """(dispatch id, not_before) of a post's pending dispatches."""
    return [(i, nb) for i, nb in session.execute(select(Dispatch.id, Dispatch.not_before).where(
        Dispatch.post_id == post_id, Dispatch.status == "pending")).all()]


def scheduled_job_id(dispatch_id: int) -> str:
    """The RQ job id of a dispatch's publication at its scheduled time (one per dispatch)."""
    return f"hub-publish-at-{dispatch_id}"


def enqueue_post_dispatches(config: dict[str, Any], session: Session, post_id: int) -> int:
    """Enqueue a post's pending dispatches: due ones now, scheduled ones at their time.

    Times within ``SCHEDULE_HORIZON`` become RQ scheduled jobs (one per dispatch, replaced on
    reschedule, deleted on cancel); later ones, and any job lost with Redis, are enqueued by
    the worker's sweeper once due. Either way the job re-checks the time before publishing.
    """
    from hub.dispatch.jobs.publish import enqueue_dispatches, publish_dispatch
    from hub.queue import get_queue

    now = utcnow()
    due: list[int] = []
    later: list[tuple[int, datetime]] = []
    for did, nb in pending_dispatch_times(session, post_id):
        if nb and nb > now:
            later.append((did, nb))
        else:
            due.append(did)
    n = enqueue_dispatches(config, due)
    for did, nb in later:
        if nb - now > SCHEDULE_HORIZON:
            continue
        try:
            q = get_queue(config)
            old = q.fetch_job(scheduled_job_id(did))
            if old is not None:
                old.delete()
            # Two seconds of slack: schedulers work in whole seconds and may move a job up to one
            # second early; an early job would find the dispatch not yet due and do nothing.
            q.enqueue_at(nb.replace(tzinfo=UTC) + timedelta(seconds=2), publish_dispatch, did,
                         job_id=scheduled_job_id(did), job_timeout=600)
            n += 1
        except Exception:  # Redis down: the sweeper enqueues the dispatch when it is due
            log.warning("could not schedule dispatch %s; the sweeper will enqueue it", did)
    return n


def unschedule_dispatches(config: dict[str, Any], dispatch_ids: list[int]) -> None:
    """Delete the scheduled RQ jobs of cancelled dispatches (best effort: the job re-checks anyway)."""
    from hub.queue import get_queue

    try:
        q = get_queue(config)
        for did in dispatch_ids:
            job = q.fetch_job(scheduled_job_id(did))
            if job is not None:
                job.delete()
    except Exception:
        log.warning("could not delete scheduled jobs of dispatches %s", dispatch_ids)


def _after_commit_unschedule(session: Session, dispatch_ids: list[int]) -> None:
    try:
        from flask import current_app

        config = dict(current_app.config)
    except RuntimeError:  # no app context: nothing was scheduled by this process
        return
    event.listen(session, "after_commit", lambda _s: unschedule_dispatches(config, dispatch_ids), once=True)


# -- withdraw (撤稿) --------------------------------------------------------------------------
def may_withdraw(session: Session, user: User, post: Post) -> bool:
    """Admins of the post's unit and the people its final review step names."""
    if is_admin_of(session, user, post.unit_id):
        return True
    chain = Chain.from_json(post.chain) if post.chain else chain_for(session, post)
    return bool(chain.steps and chain.steps[-1].may_act(session, user, post))


def withdraw_post(session: Session, user: User, post_id: int, body: Any) -> tuple[Post, list[int]]:
    """Take a post down everywhere. Pending dispatches are cancelled; the ids of dispatches that
    reached (or may have reached) a platform are returned for the withdraw jobs."""
    post = get_post(session, user, post_id, lock=True)
    if not may_withdraw(session, user, post):
        raise Forbidden("只有管理员或终审人员可以撤稿", code="not_allowed_to_withdraw")
    if post.status not in WITHDRAWABLE_STATUSES:
        raise Conflict(f"稿件当前状态（{post.status}）不能撤稿", code="not_withdrawable", status=post.status)
    if not isinstance(body, dict):
        raise BadRequest("请求体必须是 JSON 对象", code="invalid_body")
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise BadRequest("撤稿必须填写原因", code="missing_reason")
    if len(reason) > MAX_COMMENT:
        raise BadRequest(f"撤稿原因不得超过 {MAX_COMMENT} 个字符", code="invalid_reason")
    reason = reason.strip()
    previous = post.status
    cancelled = _cancel_pending(session, post, f"已撤稿，取消发布：{reason[:100]}")
    to_withdraw = list(session.scalars(select(Dispatch.id).where(
        Dispatch.post_id == post.id, Dispatch.status.in_(("published", "sending", "unconfirmed")))))
    post.status = "withdrawn"
    post.updated_at = utcnow()
    audit.record(session, "post.withdraw", object_type="post", object_id=post.id, unit=post.unit,
                 summary=f"撤稿：{reason[:100]}",
                 details={"reason": reason, "previous_status": previous, "cancelled_dispatches": cancelled,
                          "withdraw_dispatches": to_withdraw})
    return post, to_withdraw


# -- comments --------------------------------------------------------------------------------
def add_comment(session: Session, user: User, post_id: int, body: Any) -> Comment:
    """Add to the post's comment thread (anyone who may see the post)."""
    post = get_post(session, user, post_id)
    if not isinstance(body, dict):
        raise BadRequest("请求体必须是 JSON 对象", code="invalid_body")
    text = body.get("body")
    if not isinstance(text, str) or not text.strip():
        raise BadRequest("评论内容不能为空", code="missing_comment")
    if len(text) > MAX_COMMENT:
        raise BadRequest(f"评论不得超过 {MAX_COMMENT} 个字符", code="comment_too_long")
    rev = post.current_revision
    c = Comment(post_id=post.id, user_id=user.id, revision_number=rev.number if rev else None, body=text.strip())
    session.add(c)
    session.flush()
    audit.record(session, "post.comment", object_type="post", object_id=post.id, unit=post.unit,
                 summary=f"评论：{text.strip()[:80]}", details={"comment_id": c.id,
                                                              "revision": c.revision_number})
    return c


def list_comments(session: Session, post: Post) -> list[Comment]:
    return list(session.scalars(select(Comment).where(Comment.post_id == post.id).order_by(Comment.id)).unique())


def comment_json(c: Comment) -> dict[str, Any]:
    return {"id": c.id, "user": c.user.to_ref(), "revision": c.revision_number, "body": c.body, "at": _iso(c.at)}


# -- defence in depth -------------------------------------------------------------------------
def approval_set_valid(session: Session, post: Post, rev: Revision) -> tuple[bool, str]:
    """Defence in depth for the worker: a complete, valid approval set for this exact hash.

    Every step of the chain the post was submitted under needs live approvals of this
    revision's hash, with the five checks confirmed, from people the step names, none of
    whom created or edited the post, each acting on one step only; an "all" step needs
    everyone recorded as required when it completed.
    """
    recomputed = revision_hash(_revision_fields(rev))
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


def _iso(dt: datetime | None) -> str | None:
    return dt.replace(tzinfo=UTC).isoformat() if dt else None


def fmt_local(dt: datetime | None) -> str:
    if dt is None:
        return ""
    return dt.replace(tzinfo=UTC).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")

