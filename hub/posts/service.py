"""Post lifecycle: create, edit (a new revision) and submit for review.

Scheduling is in ``hub.posts.schedule``, withdrawal in ``hub.posts.withdraw``, the comment thread
in ``hub.posts.comments``, who may see a post in ``hub.posts.access``, and the review decisions in
``hub.approval.decisions``.

Every function runs inside the caller's transaction, checks permissions and state in the order
docs/design.md §8 gives (404, 403, 409, 400/422), and writes its audit entry in that same transaction.
Transitions lock the post row (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's writer lock).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from adapters.registry import UnknownPlatform, get_adapter
from hub import audit
from hub.approval.chains import candidates, post_chain, resolve
from hub.checks import service as checks_service
from hub.content import revision_hash, sanitize_html
from hub.dispatch import state
from hub.errors import BadRequest, Conflict, Forbidden, Unprocessable
from hub.i18n_marks import N_
from hub.inputs import control_char
from hub.models import Account, Approval, Dispatch, Post, Revision, User, utcnow
from hub.models.states import POST, PostStatus
from hub.notify import events as notify
from hub.permissions import is_editor_of
from hub.posts import library, search
from hub.posts.access import contributors, editor_unit, get_post
from hub.posts.media import cover_media, inline_images
from hub.posts.rendering import render_targets
from hub.posts.schedule import iso_utc, parse_time, schedule_post
from hub.posts.video import post_video, video_problems

EDITABLE_STATUSES = ("draft", "rejected", "in_review", "approved")
#: Why a post cannot be edited now, and what to do instead (translated where shown, with ``_()``).
EDIT_REFUSALS = {
    "published": N_("已发布的稿件不能修改，可撤稿后重新发稿。"),
    "partially_published": N_("已部分发布的稿件不能修改，可撤稿后重新发稿。"),
    "publishing": N_("稿件正在发布，不能修改；发布完成后可撤稿再重新发稿。"),
    "failed": N_("发布失败的稿件不能修改：可请管理员重试发送，或撤稿后重新发稿。"),
    "withdrawn": N_("已撤稿的稿件不能修改，请新建稿件重新发稿。"),
}
EDIT_REFUSED = N_("稿件当前状态不允许修改。")
FIELDS = ("title", "content", "summary", "author", "category", "is_original", "source_url", "cover",
          "variants", "articles", "account_ids", "publish_at", "video", *library.LIBRARY_FIELDS)
#: A WeChat post carries at most eight articles: the main one and seven more (次条).
MAX_EXTRA_ARTICLES = 7
ARTICLE_KEYS = {"title", "content", "summary", "author", "source_url", "cover"}


def _str(data: dict, key: str, default: str = "", max_len: int | None = None) -> str:
    v = data.get(key, default)
    if v is None:
        v = default
    if not isinstance(v, str):
        raise BadRequest(f"字段 {key} 必须是字符串", code="invalid_field", field=key)
    if max_len is not None and len(v) > max_len:
        raise Unprocessable(f"字段 {key} 不得超过 {max_len} 个字符", code="field_too_long", field=key)
    _no_control(v, key)
    return v


def _no_control(v: str, field: str) -> None:
    """Titles and other plain-text fields hold no C0 control character (they break XML feeds and platforms)."""
    if field.rsplit(".", 1)[-1] in ("content", "text"):
        return
    bad = control_char(v, one_line=field.rsplit(".", 1)[-1] not in ("summary", "mass_send"))
    if bad:
        raise BadRequest(f"字段 {field} 含有不可见的控制字符（{bad}），请删除后再保存",
                         code="control_character", field=field)


def _validate_fields(session: Session, user: User, unit_id: int, data: dict, base: dict,
                     post_id: int | None = None) -> dict:
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
    library.validate(session, unit_id, data, f, post_id)
    if "is_original" in data:
        if not isinstance(data["is_original"], bool):
            raise BadRequest("is_original 必须是布尔值", code="invalid_field", field="is_original")
        f["is_original"] = data["is_original"]
    if "content" in data:
        f["content"] = inline_images(session, unit_id, sanitize_html(f["content"]), "正文", "content")
    if not f.get("title", "").strip():
        raise BadRequest("标题不能为空", code="missing_title", field="title")
    if not f.get("content", "").strip():
        raise BadRequest("正文不能为空", code="missing_content", field="content")
    if f.get("source_url") and not f["source_url"].startswith(("http://", "https://")):
        raise Unprocessable("原文链接必须以 http:// 或 https:// 开头", code="invalid_source_url")
    if "variants" in data:
        v = data["variants"] or {}
        if not isinstance(v, dict) or not all(
            isinstance(p, str) and isinstance(o, dict)
            and set(o) <= {"title", "summary", "text", "mass_send", "send_ignore_reprint"}
            and all(isinstance(x, str) for x in o.values()) for p, o in v.items()
        ):
            raise BadRequest("variants 必须形如 {平台: {title?, summary?, text?, mass_send?, send_ignore_reprint?}}",
                             code="invalid_variants")
        for p, o in v.items():
            for k, x in o.items():
                _no_control(x, f"variants.{p}.{k}")
            if "send_ignore_reprint" in o and (p != "wechat" or o["send_ignore_reprint"] not in ("0", "1")):
                raise BadRequest("send_ignore_reprint 只用于微信群发，取值 \"1\"（被判定为转载时继续群发，默认）"
                                 "或 \"0\"（被判定为转载时停止群发）", code="invalid_variants",
                                 field=f"variants.{p}.send_ignore_reprint")
        f["variants"] = v
    if "cover" in data:
        f["cover_id"], f["cover_sha256"] = cover_media(session, unit_id, data["cover"])
    if "video" in data:
        f["video_id"], f["video_sha256"] = post_video(session, unit_id, data["video"])
    if "articles" in data:
        f["articles"] = _validate_articles(session, unit_id, data["articles"], f.get("articles") or [])
    if "account_ids" in data:
        ids = data["account_ids"]
        if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise BadRequest("account_ids 必须是账号编号数组", code="invalid_account_ids")
        f["account_ids"] = sorted(set(ids))
    if not f.get("account_ids"):
        raise BadRequest("至少选择一个发布账号", code="missing_accounts", field="account_ids")
    check_targets(session, unit_id, f["account_ids"])
    validate_for_platforms(session, f)
    f["renderings"] = render_targets(session, f)  # what each account will be sent: hashed with the rest
    return f


def _validate_articles(session: Session, unit_id: int, value: Any, old: list[dict]) -> list[dict]:
    """The articles after the main one: [{title, content, summary?, author?, cover?, source_url?}]."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(a, dict) for a in value):
        raise BadRequest("articles 必须是文章数组：[{title, content, summary?, author?, cover?, source_url?}]",
                         code="invalid_articles")
    if len(value) > MAX_EXTRA_ARTICLES:
        raise Unprocessable(f"一篇微信稿件最多 8 篇文章（主文章之外最多 {MAX_EXTRA_ARTICLES} 篇）",
                            code="too_many_articles")
    out = []
    for i, a in enumerate(value):
        where = f"第 {i + 2} 篇文章"
        unknown = set(a) - ARTICLE_KEYS
        if unknown:
            raise BadRequest(f"{where}：未知字段 {', '.join(sorted(unknown))}", code="invalid_articles")
        item: dict[str, Any] = {}
        for key, limit in (("title", 200), ("content", 4 * 1024 * 1024), ("summary", 1000), ("author", 64),
                           ("source_url", 500)):
            v = a.get(key, "")
            if v is None:
                v = ""
            if not isinstance(v, str) or len(v) > limit:
                raise BadRequest(f"{where}的 {key} 必须是不超过 {limit} 字的字符串", code="invalid_articles",
                                 field=f"articles.{i}.{key}")
            _no_control(v, f"articles.{i}.{key}")
            item[key] = v.strip() if key != "content" else inline_images(
                session, unit_id, sanitize_html(v), where, f"articles.{i}.content")
        if not item["title"]:
            raise BadRequest(f"{where}缺少标题", code="invalid_articles", field=f"articles.{i}.title")
        if not item["content"].strip():
            raise BadRequest(f"{where}缺少正文", code="invalid_articles", field=f"articles.{i}.content")
        if item["source_url"] and not item["source_url"].startswith(("http://", "https://")):
            raise Unprocessable(f"{where}的原文链接必须以 http:// 或 https:// 开头", code="invalid_source_url")
        if "cover" in a:
            item["cover_id"], item["cover_sha256"] = cover_media(session, unit_id, a["cover"])
        elif i < len(old) and old[i].get("cover_id"):
            item["cover_id"], item["cover_sha256"] = old[i]["cover_id"], old[i].get("cover_sha256", "")
        else:
            item["cover_id"], item["cover_sha256"] = None, ""
        out.append(item)
    return out


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
        problems += video_problems(session, platform, adapter.label or platform, f.get("video_id"))
        if adapter.max_articles > 1:
            for i, a in enumerate(f.get("articles") or []):
                problems += [f"第 {i + 2} 篇文章：{p}" for p in adapter.validate(
                    a["title"], a["content"], a.get("summary", ""), a.get("author", ""), None)]
    if problems:
        raise Unprocessable("；".join(problems), code="platform_limits", problems=problems)


def revision_fields(rev: Revision | None) -> dict:
    if rev is None:
        return {"title": "", "content": "", "summary": "", "author": "", "category": "", "is_original": False,
                "source_url": "", "cover_id": None, "cover_sha256": "", "variants": {}, "account_ids": [],
                "articles": [], "renderings": {}, "video_id": None, "video_sha256": "", "library": {}}
    return {"title": rev.title, "content": rev.content, "summary": rev.summary, "author": rev.author,
            "category": rev.category, "is_original": rev.is_original, "source_url": rev.source_url,
            "cover_id": rev.cover_id, "cover_sha256": rev.cover_sha256, "variants": dict(rev.variants or {}),
            "account_ids": list(rev.account_ids or []), "articles": [dict(a) for a in rev.articles or []],
            "renderings": dict(rev.renderings or {}), "video_id": rev.video_id,
            "video_sha256": rev.video_sha256 or "", "library": dict(rev.library or {})}


def _new_revision(session: Session, post: Post, user: User, f: dict) -> Revision:
    number = (post.current_revision.number + 1) if post.current_revision else 1
    rev = Revision(
        post_id=post.id, number=number, hash=revision_hash(f), title=f["title"], content=f["content"],
        summary=f.get("summary", ""), author=f.get("author", ""), category=f.get("category", ""),
        is_original=bool(f.get("is_original")), source_url=f.get("source_url", ""), cover_id=f.get("cover_id"),
        cover_sha256=f.get("cover_sha256", ""), variants=f.get("variants") or {},
        account_ids=list(f["account_ids"]), renderings=f.get("renderings") or None,
        articles=f.get("articles") or None, created_by_id=user.id, video_id=f.get("video_id"),
        video_sha256=f.get("video_sha256", ""), library=f.get("library") or None,
    )
    session.add(rev)
    session.flush()
    post.current_revision_id = rev.id
    post.current_revision = rev
    library.sync_links(session, post, rev)
    search.index_revision(session, rev)
    return rev


def create_post(session: Session, user: User, data: dict) -> Post:
    if not isinstance(data, dict):
        raise BadRequest("请求体必须是 JSON 对象", code="invalid_body")
    if not user.has_role("editor"):
        raise Forbidden("只有编辑可以创建稿件", code="not_editor")
    unit_id = editor_unit(user)
    f = _validate_fields(session, user, unit_id, data, revision_fields(None))
    publish_at = parse_time(data.get("publish_at"))
    post = Post(unit_id=unit_id, creator_id=user.id, status=POST.check(None, PostStatus.DRAFT), publish_at=publish_at)
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
        raise Conflict(EDIT_REFUSALS.get(post.status, EDIT_REFUSED), code="not_editable",
                       status=post.status)
    if not isinstance(data, dict):
        raise BadRequest("请求体必须是 JSON 对象", code="invalid_body")
    content_keys = set(data) - {"publish_at"}
    if post.status == "approved" and not content_keys:
        # Only the time changes on an approved post: that is a reschedule, no re-approval.
        return schedule_post(session, user, post_id, data)
    base = revision_fields(post.current_revision)
    changed: list[str] = []
    if content_keys:
        if library.published_dispatches(session, post):
            raise Conflict("已发布的稿件不能修改内容；政策文件的效力变化请用“效力标注”，其余请撤稿后重新发稿",
                           code="not_editable", status=post.status)
        f = _validate_fields(session, user, post.unit_id, {k: data[k] for k in content_keys}, base, post.id)
        new_hash = revision_hash(f)
        if new_hash != post.current_revision.hash if post.current_revision else True:
            old_status = post.status
            if old_status == "approved":
                _hold_for_edit(session, post)
            rev = _new_revision(session, post, user, f)
            _void_approvals(session, post)
            post.status = POST.check(post.status, PostStatus.DRAFT)
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
                         summary="修改定时发布时间", details={"publish_at": iso_utc(new_at)})
    post.updated_at = utcnow()
    return post


def _hold_for_edit(session: Session, post: Post) -> None:
    """An approved post waiting for its time may still be corrected, as long as nothing was sent:
    its pending dispatches are cancelled (conditionally: a worker that claimed one first wins)."""
    state.cancel_pending(session, post, "稿件已修改，原版本不再发布")
    sent = session.scalar(select(Dispatch.id).where(
        Dispatch.post_id == post.id, Dispatch.status.in_(("sending", "unconfirmed", "published"))).limit(1))
    if sent is not None:
        raise Conflict("稿件已开始发布，不能再修改；如需更正请撤稿后重新发布", code="not_editable",
                       status="publishing")


def _void_approvals(session: Session, post: Post) -> None:
    session.execute(update(Approval).where(Approval.post_id == post.id, Approval.voided.is_(False))
                    .values(voided=True))
    session.expire(post, ["approvals"])


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
    if library.is_interpretation(rev.category) and not library.policies_of(rev):
        raise Unprocessable("政策解读必须关联至少一件政策文件，请在“关联政策文件”中选择后再提交审核",
                            code="missing_policy", field="policy_ids")
    findings = checks_service.findings_for_revision(session, rev)
    blocking = checks_service.blocking(findings)  # block findings no reviewer has overridden
    if blocking:
        raise Unprocessable("内容检查发现必须修改的问题，不能提交审核", code="blocked_by_checks",
                            findings=findings)
    resolved = resolve(session, post.unit, rev.category or "")
    _void_approvals(session, post)  # a new review round starts at step 1
    post.chain = resolved.chain.to_json()
    post.status = POST.check(post.status, PostStatus.IN_REVIEW)
    post.step = 0
    post.submitted_at = utcnow()
    audit.record(session, "post.submit", object_type="post", object_id=post.id, unit=post.unit,
                 summary=f"提交审核《{rev.title}》第 {rev.number} 版",
                 details={"revision": rev.number, "hash": rev.hash, "chain": [s["name"] for s in post.chain],
                          "chain_source": resolved.source(), "findings": len(findings)})
    first = post_chain(session, post).steps[0]
    notify.review_waiting(session, post, first.name,
                          lambda: candidates(session, post, first) - contributors(session, post))
    return post


def request_validity(session: Session, user: User, post_id: int, data: Any) -> Post:
    """效力标注: a policy's validity changes in a new revision that goes to review like any edit.

    A draft (or rejected, in-review, approved) policy simply gets the new revision and is back to a
    draft. A published one gets the new revision and goes straight to review under the chain in
    force; once approved, the change is pushed as an update to the platforms that take one
    (``finalize_update``), and the post is published again."""
    post = get_post(session, user, post_id, lock=True)
    if not (is_editor_of(user, post.unit_id) or user.has_role("reviewer", post.unit_id)):
        raise Forbidden("您不能修改本单位以外或无编辑权限的稿件", code="not_editor")
    rev = post.current_revision
    assert rev is not None
    if not library.is_policy(rev.category):
        raise Unprocessable("只有政策文件可以标注效力", code="not_a_policy")
    validity = library.validity_fields(session, post, data)
    live = bool(library.published_dispatches(session, post))
    if not live and post.status not in EDITABLE_STATUSES:
        raise Conflict(EDIT_REFUSALS.get(post.status, EDIT_REFUSED), code="not_editable", status=post.status)
    if live and post.status not in ("published", "partially_published", "rejected", "draft"):
        raise Conflict("该稿件的效力标注正在审核中，请等待审核结果", code="not_editable", status=post.status)
    f = revision_fields(rev)
    f["library"] = {**f["library"], "validity": validity}
    f["renderings"] = render_targets(session, f)
    if revision_hash(f) == rev.hash:
        raise Conflict("效力标注与当前版本相同，无需修改", code="unchanged")
    if not live:
        if post.status == "approved":
            _hold_for_edit(session, post)
    new = _new_revision(session, post, user, f)
    _void_approvals(session, post)
    old_status = post.status
    audit.record(session, "post.validity", object_type="post", object_id=post.id, unit=post.unit,
                 summary=f"效力标注《{new.title}》：{library.VALIDITY_STATUSES[validity['status']]}，"
                         f"生成第 {new.number} 版，待审核",
                 details={"revision": new.number, "hash": new.hash, "validity": validity,
                          "previous_status": old_status})
    if not live:
        post.status = POST.check(post.status, PostStatus.DRAFT)
        post.step = 0
        post.chain = None
    else:
        resolved = resolve(session, post.unit, new.category or "")
        post.chain = resolved.chain.to_json()
        post.status = POST.check(post.status, PostStatus.IN_REVIEW)
        post.step = 0
        post.submitted_at = utcnow()
        audit.record(session, "post.submit", object_type="post", object_id=post.id, unit=post.unit,
                     summary=f"提交审核《{new.title}》第 {new.number} 版（效力标注）",
                     details={"revision": new.number, "hash": new.hash, "chain": [s["name"] for s in post.chain],
                              "chain_source": resolved.source(), "findings": 0})
        first = post_chain(session, post).steps[0]
        notify.review_waiting(session, post, first.name,
                              lambda: candidates(session, post, first) - contributors(session, post))
    post.updated_at = utcnow()
    return post
