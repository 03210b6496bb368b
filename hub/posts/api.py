"""REST API of the posts area: create, list, read, edit, submit, approve, reject, history."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub import audit
from hub.api.base import body, lenient_body, user
from hub.api.openapi import contract
from hub.approval import decisions as decisions_svc
from hub.approval.schemas import ApproveIn, ReasonIn
from hub.audit.schemas import AuditHistory
from hub.checks.service import findings_for_revision
from hub.contracts import NoBody
from hub.db import db
from hub.errors import BadRequest
from hub.inputs import parse_id
from hub.models import Post
from hub.posts import access as post_access
from hub.posts import media as media_svc
from hub.posts import service as posts_svc
from hub.posts.schemas import (
    CalendarItemOut,
    CalendarOut,
    MediaOut,
    MediaUpload,
    PostBrief,
    PostIn,
    PostList,
    PostOut,
    PostPatch,
    ValidityIn,
)

bp = Blueprint("posts", __name__)

SEEN = {404: "not found or not visible to the caller"}
STATE = {**SEEN, 403: "the caller's role can never do this", 409: "the post's state forbids it now"}


def post_json(session: Session, post: Post) -> dict[str, Any]:
    """A post as the API and the post pages show it, with its current revision's findings."""
    rev = post.current_revision
    return PostOut.of(session, post, findings_for_revision(session, rev) if rev else []).dump()


# -- body images -------------------------------------------------------------------------
@bp.post("/media")
@contract("Upload a body image or a video (multipart field file; optional post_id): put an image's url in "
          "content, or its id in cover; a video's id in a post's video",
          out=MediaOut, status=201, body=MediaUpload, body_media="multipart/form-data", errors={
              403: "not an editor", 400: "no file",
              413: "an image over 10 MB, a video over HUB_MAX_VIDEO_MB (a Chinese message)",
              422: "not a JPG, PNG, GIF or WebP image, nor a readable MP4 video"})
def upload_media():
    upload = request.files.get("file")
    if upload is None:
        raise BadRequest("请在 multipart 字段 file 中上传图片或视频", code="missing_file")
    post_id = request.form.get("post_id", "")
    with db.transaction() as s:
        out = media_svc.upload_any(s, user(), upload.stream, parse_id(post_id))
    return jsonify(MediaOut(**out).dump()), 201


# -- posts -------------------------------------------------------------------------------
@bp.post("/posts")
@contract("Create a post (draft)", out=PostOut, status=201, body=PostIn, errors={
    403: "not an editor", 409: "target account not active", 400: "bad body", 422: "invalid content"})
def create_post():
    with db.transaction() as s:
        post = posts_svc.create_post(s, user(), body())
    return jsonify(post_json(db.session(), post)), 201


@bp.get("/posts")
@contract("Posts the caller may see, newest first, one page at a time (limit ≤ 200, default 50); "
          "next_after is the cursor of the next page (null on the last). With q (≤ 100 characters, up to 5 "
          "terms split at spaces): only the posts whose current title or body holds every term, best match "
          "first (title matches before body matches, then more body matches), on the full-text index; "
          "status, category (the 栏目) and unit (a unit code) narrow the list", out=PostList,
          query={"q": str, "status": str, "category": str, "unit": str, "after": str, "limit": int},
          errors={400: "bad q (invalid_query), status (invalid_status), after (invalid_cursor) or limit "
                       "(invalid_limit)"})
def list_posts():
    from hub.models import POST_STATUSES, Unit
    from hub.permissions import visible_unit_ids
    from hub.posts import listing, search

    s = db.session()
    terms = search.parse_query(request.args.get("q"))
    status = request.args.get("status") or None
    if status is not None and status not in POST_STATUSES:
        raise BadRequest(f"未知状态 {status[:30]}（可选：{', '.join(POST_STATUSES)}）", code="invalid_status")
    limit = listing.parse_limit(request.args.get("limit"))
    units = visible_unit_ids(s, user())
    code = request.args.get("unit")
    if code:
        unit = s.scalars(select(Unit).where(Unit.code == code)).first()
        units = units & {unit.id} if unit is not None else set()
    rows, next_after = listing.list_posts(s, units, status=status, after=request.args.get("after") or None,
                                          limit=limit, by="id", q=terms,
                                          category=(request.args.get("category") or "")[:64] or None)
    return jsonify(PostList(posts=[PostBrief.of(p) for p in rows], next_after=next_after).dump())


@bp.get("/calendar")
@contract("The publishing calendar: scheduled posts (at publish_at) and published ones (on the Beijing day of their "
          "dispatches' published_at) from..to (Beijing days YYYY-MM-DD, inclusive, at most 62 days; default this "
          "month), of the caller's visible units or one unit's subtree (unit=code), optionally one account",
          out=CalendarOut, errors={400: "bad date, range, unit or account"},
          query={"from": str, "to": str, "unit": str, "account": int})
def calendar():
    from hub.posts import calendar as cal

    s = db.session()
    win = cal.range_window(cal.parse_day(request.args.get("from"), "from"), cal.parse_day(request.args.get("to"), "to"))
    unit_ids, _unit = cal.scope_units(s, user(), request.args.get("unit") or None)
    accounts = {a.id: a.name for a in cal.visible_accounts(s, user(), unit_ids)}
    account_id = None
    if request.args.get("account"):
        account_id = parse_id(request.args.get("account"))
        if account_id is None:
            raise BadRequest("account 必须是账号编号（整数）", code="invalid_account")
        if account_id not in accounts:
            raise BadRequest("账号不存在或您无权查看", code="unknown_account")
    found = cal.items(s, user(), win, unit_ids, accounts, account_id)
    return jsonify(CalendarOut(first_day=win.first.isoformat(), last_day=win.last.isoformat(),
                               items=[CalendarItemOut(**cal.item_json(i)) for i in found]).dump())


@bp.get("/posts/<int:post_id>")
@contract("A post with revision, approvals, findings and dispatches", out=PostOut, errors=SEEN)
def get_post(post_id: int):
    s = db.session()
    return jsonify(post_json(s, post_access.get_post(s, user(), post_id)))


@bp.patch("/posts/<int:post_id>")
@contract("Edit: a new revision; approvals void; back to draft", out=PostOut, body=PostPatch, errors={
    **STATE, 403: "not an editor", 400: "bad body", 422: "invalid"})
def patch_post(post_id: int):
    with db.transaction() as s:
        post = posts_svc.update_post(s, user(), post_id, body())
    return jsonify(post_json(db.session(), post))


@bp.post("/posts/<int:post_id>/submit")
@contract("Submit for review", out=PostOut, body=NoBody, body_required=False, errors={
    **STATE, 409: "not draft/rejected", 422: "blocked by content checks (error.findings)"})
def submit_post(post_id: int):
    body(optional=True)
    with db.transaction() as s:
        post = posts_svc.submit_post(s, user(), post_id)
    return jsonify(post_json(db.session(), post))


@bp.post("/posts/<int:post_id>/validity")
@contract("效力标注 of a policy: a new revision in review, as any edit; once approved and published it is "
          "pushed as an update to the platforms that take one (the website)", out=PostOut, body=ValidityIn,
          errors={**STATE, 403: "not an editor or reviewer of the unit", 400: "bad body",
                  409: "review of a change under way / unchanged",
                  422: "not a policy, bad dates, unknown replacement"})
def post_validity(post_id: int):
    data = body()
    with db.transaction() as s:
        post = posts_svc.request_validity(s, user(), post_id, data)
    return jsonify(post_json(db.session(), post))


@bp.post("/posts/<int:post_id>/approve")
@contract("Approve the current step", out=PostOut, body=ApproveIn, errors={
    **SEEN, 403: "role can never approve / own revision", 409: "not in review, stale hash, step taken, already acted",
    400: "missing hash or check", 422: "a check not confirmed"})
def approve_post(post_id: int):
    data = lenient_body()
    with db.transaction() as s:
        post = decisions_svc.approve_post(s, user(), post_id, data)
    return jsonify(post_json(db.session(), post))




@bp.post("/posts/<int:post_id>/reject")
@contract("Reject back to the editor", out=PostOut, body=ReasonIn, errors={
    **STATE, 400: "missing reason"})
def reject_post(post_id: int):
    data = lenient_body()
    with db.transaction() as s:
        post = decisions_svc.reject_post(s, user(), post_id, data)
    return jsonify(post_json(db.session(), post))


@bp.get("/posts/<int:post_id>/history")
@contract("The post's audit entries (and its dispatches'), for anyone who may see the post",
          out=AuditHistory, errors=SEEN)
def post_history(post_id: int):
    from hub.models import AuditEntry, Dispatch

    s = db.session()
    post = post_access.get_post(s, user(), post_id)
    dispatch_ids = [str(i) for i in s.scalars(select(Dispatch.id).where(Dispatch.post_id == post.id))]
    entries = s.scalars(select(AuditEntry).where(
        ((AuditEntry.object_type == "post") & (AuditEntry.object_id == str(post.id)))
        | ((AuditEntry.object_type == "dispatch") & (AuditEntry.object_id.in_(dispatch_ids or ["-"])))
    ).order_by(AuditEntry.seq)).all()
    return jsonify(AuditHistory.model_validate({"entries": [audit.entry_to_dict(e) for e in entries]}).dump())


