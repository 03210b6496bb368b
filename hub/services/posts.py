"""Post lifecycle: create, edit (new revision), submit, approve, reject.

Every function runs inside the caller's transaction, checks permissions and
state in the order DESIGN gives (404, 403, 409, 400/422), and writes its
audit entry in that same transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from adapters.registry import UnknownPlatform, get_adapter

from .. import audit
from ..content import CoverError, parse_data_url, revision_hash, sanitize_html
from ..errors import BadRequest, Conflict, Forbidden, NotFound, Unprocessable
from ..models import Account, Approval, Dispatch, Media, Post, Revision, User, utcnow
from ..permissions import can_see_post, is_editor_of
from . import checks as checks_service
from .chains import Chain, Step, chain_for

SHANGHAI = ZoneInfo("Asia/Shanghai")
CHECK_KEYS = ("political", "legal", "policy", "secrecy", "wording")
CHECK_LABELS = {"political": "政治关", "legal": "法律关", "policy": "政策关", "secrecy": "保密关",
                "wording": "文字关"}
EDITABLE_STATUSES = ("draft", "rejected", "in_review")
FIELDS = ("title", "content", "summary", "author", "category", "is_original", "source_url", "cover",
          "variants", "account_ids", "publish_at")


def get_post(session: Session, user: User, post_id: int, *, lock: bool = False) -> Post:
    """The post if the user may see it; otherwise 404 (never reveal another unit's post)."""
    stmt = select(Post).where(Post.id == post_id)
    if lock and not (session.bind and session.bind.dialect.name == "sqlite"):
        stmt = stmt.with_for_update(of=Post)
    post = session.scalars(stmt).unique().first()
    if post is None or not can_see_post(session, user, post):
        raise NotFound("帖子不存在或无权查看", code="post_not_found")
    return post


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
            isinstance(p, str) and isinstance(o, dict) and set(o) <= {"title", "summary", "text"}
            and all(isinstance(x, str) for x in o.values()) for p, o in v.items()
        ):
            raise BadRequest("variants 必须形如 {平台: {title?, summary?, text?}}", code="invalid_variants")
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
    base = _revision_fields(post.current_revision)
    changed: list[str] = []
    if content_keys:
        f = _validate_fields(session, user, post.unit_id, {k: data[k] for k in content_keys}, base)
        new_hash = revision_hash(f)
        if new_hash != post.current_revision.hash if post.current_revision else True:
            old_status = post.status
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


def _void_approvals(session: Session, post: Post) -> None:
    session.execute(update(Approval).where(Approval.post_id == post.id, Approval.voided.is_(False))
                    .values(voided=True))
    session.expire(post, ["approvals"])


def contributors(session: Session, post: Post) -> set[int]:
    """Everyone who created or edited any revision of the post."""
    return set(session.scalars(select(Revision.created_by_id).where(Revision.post_id == post.id)).all()) | {
        post.creator_id}


def submit_post(session: Session, user: User, post_id: int, *, override_warnings: bool = True) -> Post:
    post = get_post(session, user, post_id, lock=True)
    if not is_editor_of(user, post.unit_id) and user.id not in contributors(session, post):
        raise Forbidden("只有本单位编辑可以提交审核", code="not_editor")
    if post.status not in ("draft", "rejected"):
        raise Conflict(f"稿件当前状态（{post.status}）不能提交审核", code="not_submittable", status=post.status)
    rev = post.current_revision
    assert rev is not None
    check_targets(session, post.unit_id, list(rev.account_ids))
    findings = checks_service.findings_for_revision(session, rev)
    blocking = [f for f in findings if f["severity"] == "block"]
    if blocking:
        raise Unprocessable("内容检查发现必须修改的问题，不能提交审核", code="blocked_by_checks",
                            findings=findings)
    chain = chain_for(session, post)
    _void_approvals(session, post)  # a new review round starts at step 1
    post.chain = chain.to_json()
    post.status = "in_review"
    post.step = 0
    post.submitted_at = utcnow()
    audit.record(session, "post.submit", object_type="post", object_id=post.id, unit=post.unit,
                 summary=f"提交审核《{rev.title}》第 {rev.number} 版",
                 details={"revision": rev.number, "hash": rev.hash, "chain": [s["name"] for s in post.chain],
                          "findings": len(findings)})
    return post


def _parse_checks(body: dict) -> dict[str, bool]:
    checks = body.get("checks")
    if not isinstance(checks, dict):
        raise BadRequest("缺少五项审核确认 checks（政治关、法律关、政策关、保密关、文字关）", code="missing_checks")
    missing = [k for k in CHECK_KEYS if k not in checks]
    if missing:
        raise BadRequest("缺少审核确认项：" + "、".join(CHECK_LABELS[k] for k in missing), code="missing_checks",
                         missing=missing)
    if not all(isinstance(checks[k], bool) for k in CHECK_KEYS):
        raise BadRequest("审核确认项必须是布尔值", code="invalid_checks")
    return {k: checks[k] for k in CHECK_KEYS}


def _reviewable(session: Session, user: User, post_id: int) -> tuple[Post, Chain, Revision]:
    """Checks shared by approve and reject, in DESIGN's status order (404, 403, 409)."""
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
    return post, chain, rev


def _claim_step(session: Session, user: User, post: Post, chain: Chain, rev: Revision, *, step: int,
                status: str = "in_review") -> tuple[int, Step]:
    """Take the post's current step with a conditional update: of two racing reviewers one wins."""
    step_index = post.step
    current = chain.steps[step_index]
    if not current.may_act(session, user, post):
        raise Forbidden(f"您不是「{current.name}」环节的审核人", code="not_step_reviewer")
    won = session.execute(
        update(Post).where(Post.id == post.id, Post.status == "in_review", Post.step == step_index,
                           Post.current_revision_id == rev.id)
        .values(step=step, status=status, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if won != 1:
        raise Conflict("该审核环节已被他人处理，请刷新", code="step_taken")
    post.step, post.status = step, status
    return step_index, current


def approve_post(session: Session, user: User, post_id: int, body: Any) -> tuple[Post, list[int]]:
    """Approve the current step. Returns the post and the ids of dispatches to enqueue now."""
    post, chain, rev = _reviewable(session, user, post_id)
    if not isinstance(body, dict):
        raise BadRequest("请求体必须是 JSON 对象", code="invalid_body")
    given_hash = body.get("revision_hash")
    if not isinstance(given_hash, str) or not given_hash:
        raise BadRequest("缺少 revision_hash：审核必须针对确定的版本", code="missing_revision_hash")
    checks = _parse_checks(body)
    comment = body.get("comment") or ""
    if not isinstance(comment, str):
        raise BadRequest("comment 必须是字符串", code="invalid_comment")
    if given_hash != rev.hash:
        raise Conflict("稿件已被修改，您审核的不是最新版本，请刷新后重新审核", code="stale_revision",
                       current_hash=rev.hash)
    if not all(checks.values()):
        unconfirmed = [CHECK_LABELS[k] for k, v in checks.items() if not v]
        raise Unprocessable("以下审核项未确认：" + "、".join(unconfirmed), code="checks_not_confirmed")
    step_index, step = _claim_step(session, user, post, chain, rev, step=post.step + 1)
    session.add(Approval(post_id=post.id, revision_id=rev.id, revision_hash=rev.hash, step=step_index,
                         step_name=step.name, reviewer_id=user.id, decision="approved", checks=checks,
                         comment=comment))
    session.flush()
    audit.record(session, "post.approve", object_type="post", object_id=post.id, unit=post.unit,
                 summary=f"{step.name}通过《{rev.title}》第 {rev.number} 版",
                 details={"step": step_index, "step_name": step.name, "revision_hash": rev.hash,
                          "checks": checks, "comment": comment})
    to_enqueue: list[int] = []
    if step_index + 1 >= len(chain.steps):
        to_enqueue = finalize_approval(session, post)
    session.expire(post, ["approvals"])
    return post, to_enqueue


def finalize_approval(session: Session, post: Post) -> list[int]:
    """All steps passed: create dispatches; publish now, at publish_at, or wait for a new time."""
    rev = post.current_revision
    assert rev is not None
    now = utcnow()
    post.status = "approved"
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
    rev = post.current_revision
    assert rev is not None
    ids = []
    for account_id in rev.account_ids:
        existing = session.scalars(select(Dispatch).where(Dispatch.revision_id == rev.id,
                                                          Dispatch.account_id == account_id)).first()
        if existing:
            ids.append(existing.id)
            continue
        d = Dispatch(post_id=post.id, revision_id=rev.id, account_id=account_id, status="pending",
                     not_before=post.publish_at)
        session.add(d)
        session.flush()
        ids.append(d.id)
        audit.record(session, "dispatch.create", object_type="dispatch", object_id=d.id, unit=post.unit,
                     summary="创建发布任务", details={"post_id": post.id, "account_id": account_id,
                                                   "revision_hash": rev.hash})
    session.expire(post, ["dispatches"])
    return ids


def reject_post(session: Session, user: User, post_id: int, body: Any) -> Post:
    post, chain, rev = _reviewable(session, user, post_id)
    if not isinstance(body, dict):
        raise BadRequest("请求体必须是 JSON 对象", code="invalid_body")
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise BadRequest("退回必须填写理由", code="missing_reason")
    given_hash = body.get("revision_hash")
    if given_hash is not None and given_hash != rev.hash:
        raise Conflict("稿件已被修改，请刷新后再处理", code="stale_revision", current_hash=rev.hash)
    step_index, step = _claim_step(session, user, post, chain, rev, step=0, status="rejected")
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


def approval_set_valid(session: Session, post: Post, rev: Revision) -> tuple[bool, str]:
    """Defence in depth for the worker: a complete, valid approval set for this exact hash."""
    from ..content import revision_hash as rh

    recomputed = rh(_revision_fields(rev))
    if recomputed != rev.hash:
        return False, "版本内容与其哈希不一致（可能被篡改）"
    if post.current_revision_id != rev.id:
        return False, "该版本已不是稿件的当前版本"
    if not post.chain:
        return False, "稿件没有审核流程记录"
    chain = Chain.from_json(post.chain)
    approvals = session.scalars(select(Approval).where(
        Approval.revision_id == rev.id, Approval.voided.is_(False), Approval.decision == "approved",
        Approval.revision_hash == rev.hash)).all()
    by_step = {a.step: a for a in approvals}
    authors = contributors(session, post)
    seen: set[int] = set()
    for i, step in enumerate(chain.steps):
        a = by_step.get(i)
        if a is None:
            return False, f"缺少「{step.name}」环节的审核通过记录"
        if a.reviewer_id in authors or a.reviewer_id in seen:
            return False, f"「{step.name}」环节的审核人不合规"
        if not all((a.checks or {}).get(k) for k in CHECK_KEYS):
            return False, f"「{step.name}」环节未确认五项审核"
        reviewer = session.get(User, a.reviewer_id)
        if reviewer is None or not step.may_act(session, reviewer, post):
            return False, f"「{step.name}」环节的审核人无权审核"
        seen.add(a.reviewer_id)
    return True, ""


def _iso(dt: datetime | None) -> str | None:
    return dt.replace(tzinfo=UTC).isoformat() if dt else None


def fmt_local(dt: datetime | None) -> str:
    if dt is None:
        return ""
    return dt.replace(tzinfo=UTC).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
