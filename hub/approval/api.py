"""REST endpoints of the review area, added to the API blueprint (see hub.api).

Chains (``GET|PUT /units/<code>/chain``), scheduling (``POST /posts/<id>/schedule``,
``/schedule/cancel``), withdraw (``POST /posts/<id>/withdraw``), the per-unit pause
switch (``GET /units/<code>/pause``, ``POST /units/<code>/pause`` and ``/resume``),
the comment thread, the review queue and revision diffs.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from hub.api.base import body, lenient_body, user
from hub.api.openapi import contract
from hub.approval import chains as chains_svc
from hub.approval import queue as queue_svc
from hub.approval.schemas import (
    ChainIn,
    ChainView,
    CommentList,
    DiffOut,
    OptionalReasonIn,
    PauseState,
    ReasonIn,
    ReviewQueue,
    ScheduleIn,
)
from hub.contracts import NoBody
from hub.db import db
from hub.dispatch import pauses as pauses_svc
from hub.errors import BadRequest, NotFound
from hub.posts import access as post_access
from hub.posts import comments as comments_svc
from hub.posts import schedule as schedule_svc
from hub.posts import withdraw as withdraw_svc
from hub.posts.api import post_json
from hub.posts.schemas import CommentIn, CommentOut, PostOut

bp = Blueprint("approval", __name__)
__all__ = ["bp"]

SEEN = {404: "not found or not visible to the caller"}
STATE = {**SEEN, 403: "role forbids", 409: "state forbids", 400: "bad body"}


# -- chains -------------------------------------------------------------------------------
@bp.get("/units/<code>/chain")
@contract("Chain in force (optionally ?category=), this unit's own chains and versions", out=ChainView,
          errors=SEEN, query={"category": str})
def get_unit_chain(code: str):
    return jsonify(ChainView.model_validate(
        chains_svc.unit_chain_view(db.session(), user(), code, request.args.get("category"))).dump())


@bp.put("/units/<code>/chain")
@contract("Save a new chain version: {steps: [{name, role?, unit?, levels_up?, users?, quorum: any|all}], "
          "category?, note?, base_version?} or {inherit: true}", out=ChainView, body=ChainIn, errors={
              **SEEN, 403: "not an admin", 409: "changed meanwhile", 400: "invalid steps"})
def put_unit_chain(code: str):
    data = lenient_body()
    with db.transaction() as s:
        row = chains_svc.set_unit_chain(s, user(), code, data)
        category = row.category
    return jsonify(ChainView.model_validate(chains_svc.unit_chain_view(db.session(), user(), code, category)).dump())


# -- scheduling -----------------------------------------------------------------------------
@bp.post("/posts/<int:post_id>/schedule")
@contract("Set or change publish_at (null: as soon as approved / now)", out=PostOut, body=ScheduleIn,
          errors={**STATE, 422: "time already passed"})
def schedule_post(post_id: int):
    data = lenient_body()
    with db.transaction() as s:
        schedule_svc.schedule_post(s, user(), post_id, data)
    s = db.session()
    return jsonify(post_json(s, post_access.get_post(s, user(), post_id)))


@bp.post("/posts/<int:post_id>/schedule/cancel")
@contract("Cancel the scheduled publication of an approved post", out=PostOut, body=NoBody, body_required=False,
          errors=STATE)
def cancel_schedule(post_id: int):
    body(optional=True)
    with db.transaction() as s:
        schedule_svc.cancel_schedule(s, user(), post_id)
    s = db.session()
    return jsonify(post_json(s, post_access.get_post(s, user(), post_id)))


# -- withdraw -------------------------------------------------------------------------------
@bp.post("/posts/<int:post_id>/withdraw")
@contract("Withdraw (撤稿) from every platform: {reason}", out=PostOut, body=ReasonIn, errors=STATE)
def withdraw_post(post_id: int):
    data = lenient_body()
    with db.transaction() as s:
        withdraw_svc.withdraw_post(s, user(), post_id, data)
    s = db.session()
    return jsonify(post_json(s, post_access.get_post(s, user(), post_id)))


# -- pause / resume -------------------------------------------------------------------------
@bp.get("/units/<code>/pause")
@contract("Whether publishing is paused for the unit", out=PauseState, errors=SEEN)
def get_pause(code: str):
    from sqlalchemy import select

    from hub.models import Unit
    from hub.permissions import visible_unit_ids

    s = db.session()
    unit = s.scalars(select(Unit).where(Unit.code == code)).first()
    if unit is None or unit.id not in visible_unit_ids(s, user()):
        raise NotFound(f"单位 {code} 不存在", code="unit_not_found")
    return jsonify(PauseState.model_validate(pauses_svc.pause_state(s, unit)).dump())


@bp.post("/units/<code>/pause")
@contract("Pause publishing for the unit and its subtree: {reason}", out=PauseState, body=ReasonIn, errors=STATE)
def pause_unit(code: str):
    data = lenient_body()
    with db.transaction() as s:
        p = pauses_svc.pause_unit(s, user(), code, data)
        out = pauses_svc.pause_state(s, p.unit)
    return jsonify(PauseState.model_validate(out).dump())


@bp.post("/units/<code>/resume")
@contract("Resume publishing: {reason?}; released: how many held dispatches were queued again", out=PauseState,
          body=OptionalReasonIn, body_required=False, errors=STATE)
def resume_unit(code: str):
    data = lenient_body()
    with db.transaction() as s:
        p, due = pauses_svc.resume_unit(s, user(), code, data)
        out = pauses_svc.pause_state(s, p.unit)
    out["released"] = len(due)
    return jsonify(PauseState.model_validate(out).dump())


# -- comments -------------------------------------------------------------------------------
@bp.get("/posts/<int:post_id>/comments")
@contract("The post's comment thread", out=CommentList, errors=SEEN)
def list_comments(post_id: int):
    s = db.session()
    post = post_access.get_post(s, user(), post_id)
    return jsonify(CommentList.model_validate(
        {"comments": [comments_svc.comment_json(c) for c in comments_svc.list_comments(s, post)]}).dump())


@bp.post("/posts/<int:post_id>/comments")
@contract("Add a comment: {body}", out=CommentOut, status=201, body=CommentIn, errors={**SEEN, 400: "empty"})
def add_comment(post_id: int):
    data = lenient_body()
    with db.transaction() as s:
        c = comments_svc.add_comment(s, user(), post_id, data)
        out = comments_svc.comment_json(c)
    return jsonify(CommentOut.model_validate(out).dump()), 201


# -- queue and diffs ------------------------------------------------------------------------
@bp.get("/review/queue")
@contract("Posts awaiting the caller's decision", out=ReviewQueue,
          query={"unit": str, "account": str, "category": str, "age": str})
def review_queue():
    s = db.session()
    view = queue_svc.queue_view(s, user(), queue_svc.QueueFilter.from_args(request.args))
    return jsonify(ReviewQueue.model_validate(queue_svc.queue_json(view)).dump())


@bp.get("/posts/<int:post_id>/diff")
@contract("Changes up to the current revision; ?against=seen|approved|<n>", out=DiffOut,
          errors={**SEEN, 400: "bad against"}, query={"against": str})
def post_diff(post_id: int):
    """?against=seen (default) | approved | <revision number>: changes up to the current revision."""
    s = db.session()
    post = post_access.get_post(s, user(), post_id)
    against = request.args.get("against", "seen")
    if against == "seen":
        base = queue_svc.last_seen_before(s, user(), post)
    elif against == "approved":
        base = queue_svc.last_approved_before(s, post)
    elif against.isdigit():
        base = queue_svc.revision_by_number(s, post, int(against))
        if base is None:
            raise NotFound(f"第 {against} 版不存在", code="revision_not_found")
    else:
        raise BadRequest("against 必须是 seen、approved 或版本号", code="invalid_against")
    rev = post.current_revision
    assert rev is not None
    return jsonify(DiffOut.model_validate({
        "current": rev.number, "base": base.number if base else None,
        "changes": queue_svc.diff_json(queue_svc.diff_revisions(s, base, rev)) if base else []}).dump())
