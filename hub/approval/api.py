"""REST endpoints of the review area, added to the API blueprint (see hub.api).

Chains (``GET|PUT /units/<code>/chain``), scheduling (``POST /posts/<id>/schedule``,
``/schedule/cancel``), withdraw (``POST /posts/<id>/withdraw``), the per-unit pause
switch (``GET /units/<code>/pause``, ``POST /units/<code>/pause`` and ``/resume``),
the comment thread, the review queue and revision diffs.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from hub.api.base import body, lenient_body, user
from hub.approval import chains as chains_svc
from hub.approval import queue as queue_svc
from hub.db import db
from hub.dispatch import pauses as pauses_svc
from hub.dispatch.jobs.withdraw import enqueue_withdrawals
from hub.errors import BadRequest, NotFound
from hub.posts import access as post_access
from hub.posts import comments as comments_svc
from hub.posts import schedule as schedule_svc
from hub.posts import withdraw as withdraw_svc
from hub.serializers import post_json

bp = Blueprint("approval", __name__)
__all__ = ["bp"]


# -- chains -------------------------------------------------------------------------------
@bp.get("/units/<code>/chain")
def get_unit_chain(code: str):  # type: ignore[no-untyped-def]
    return jsonify(chains_svc.unit_chain_view(db.session(), user(), code, request.args.get("category")))


@bp.put("/units/<code>/chain")
def put_unit_chain(code: str):  # type: ignore[no-untyped-def]
    data = lenient_body()
    with db.transaction() as s:
        row = chains_svc.set_unit_chain(s, user(), code, data)
        category = row.category
    return jsonify(chains_svc.unit_chain_view(db.session(), user(), code, category))


# -- scheduling -----------------------------------------------------------------------------
@bp.post("/posts/<int:post_id>/schedule")
def schedule_post(post_id: int):  # type: ignore[no-untyped-def]
    data = lenient_body()
    with db.transaction() as s:
        schedule_svc.schedule_post(s, user(), post_id, data)
    schedule_svc.enqueue_post_dispatches(current_app.config, db.session(), post_id)
    s = db.session()
    return jsonify(post_json(s, post_access.get_post(s, user(), post_id)))


@bp.post("/posts/<int:post_id>/schedule/cancel")
def cancel_schedule(post_id: int):  # type: ignore[no-untyped-def]
    body(optional=True)
    with db.transaction() as s:
        schedule_svc.cancel_schedule(s, user(), post_id)
    s = db.session()
    return jsonify(post_json(s, post_access.get_post(s, user(), post_id)))


# -- withdraw -------------------------------------------------------------------------------
@bp.post("/posts/<int:post_id>/withdraw")
def withdraw_post(post_id: int):  # type: ignore[no-untyped-def]
    data = lenient_body()
    with db.transaction() as s:
        _post, ids = withdraw_svc.withdraw_post(s, user(), post_id, data)
    enqueue_withdrawals(current_app.config, ids)
    s = db.session()
    return jsonify(post_json(s, post_access.get_post(s, user(), post_id)))


# -- pause / resume -------------------------------------------------------------------------
@bp.get("/units/<code>/pause")
def get_pause(code: str):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from hub.models import Unit
    from hub.permissions import visible_unit_ids

    s = db.session()
    unit = s.scalars(select(Unit).where(Unit.code == code)).first()
    if unit is None or unit.id not in visible_unit_ids(s, user()):
        raise NotFound(f"单位 {code} 不存在", code="unit_not_found")
    return jsonify(pauses_svc.pause_state(s, unit))


@bp.post("/units/<code>/pause")
def pause_unit(code: str):  # type: ignore[no-untyped-def]
    data = lenient_body()
    with db.transaction() as s:
        p = pauses_svc.pause_unit(s, user(), code, data)
        out = pauses_svc.pause_state(s, p.unit)
    return jsonify(out)


@bp.post("/units/<code>/resume")
def resume_unit(code: str):  # type: ignore[no-untyped-def]
    from hub.dispatch.jobs.publish import enqueue_dispatches

    data = lenient_body()
    with db.transaction() as s:
        p, due = pauses_svc.resume_unit(s, user(), code, data)
        out = pauses_svc.pause_state(s, p.unit)
    enqueue_dispatches(current_app.config, due)
    out["released"] = len(due)
    return jsonify(out)


# -- comments -------------------------------------------------------------------------------
@bp.get("/posts/<int:post_id>/comments")
def list_comments(post_id: int):  # type: ignore[no-untyped-def]
    s = db.session()
    post = post_access.get_post(s, user(), post_id)
    return jsonify({"comments": [comments_svc.comment_json(c) for c in comments_svc.list_comments(s, post)]})


@bp.post("/posts/<int:post_id>/comments")
def add_comment(post_id: int):  # type: ignore[no-untyped-def]
    data = lenient_body()
    with db.transaction() as s:
        c = comments_svc.add_comment(s, user(), post_id, data)
        out = comments_svc.comment_json(c)
    return jsonify(out), 201


# -- queue and diffs ------------------------------------------------------------------------
@bp.get("/review/queue")
def review_queue():  # type: ignore[no-untyped-def]
    s = db.session()
    return jsonify(queue_svc.queue_json(queue_svc.queue_view(s, user(), queue_svc.QueueFilter.from_args(request.args))))


@bp.get("/posts/<int:post_id>/diff")
def post_diff(post_id: int):  # type: ignore[no-untyped-def]
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
    return jsonify({"current": rev.number, "base": base.number if base else None,
                    "changes": queue_svc.diff_json(queue_svc.diff_revisions(s, base, rev)) if base else []})
