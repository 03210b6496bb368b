"""REST API of the posts area: create, list, read, edit, submit, approve, reject, history."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from sqlalchemy import select

from hub import audit
from hub.api.base import body, lenient_body, user
from hub.approval import decisions as decisions_svc
from hub.db import db
from hub.models import Post
from hub.posts import access as post_access
from hub.posts import schedule as schedule_svc
from hub.posts import service as posts_svc
from hub.serializers import post_json

bp = Blueprint("posts", __name__)


# -- posts -------------------------------------------------------------------------------
@bp.post("/posts")
def create_post():  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        post = posts_svc.create_post(s, user(), body())
    return jsonify(post_json(db.session(), post)), 201


@bp.get("/posts")
def list_posts():  # type: ignore[no-untyped-def]
    from hub.permissions import visible_unit_ids

    s = db.session()
    units = visible_unit_ids(s, user())
    status = request.args.get("status")
    stmt = select(Post).where(Post.unit_id.in_(units)).order_by(Post.id.desc()).limit(200)
    if status:
        stmt = stmt.where(Post.status == status)
    return jsonify({"posts": [post_json(s, p, brief=True) for p in s.scalars(stmt).unique()]})


@bp.get("/posts/<int:post_id>")
def get_post(post_id: int):  # type: ignore[no-untyped-def]
    s = db.session()
    return jsonify(post_json(s, post_access.get_post(s, user(), post_id)))


@bp.patch("/posts/<int:post_id>")
def patch_post(post_id: int):  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        post = posts_svc.update_post(s, user(), post_id, body())
    return jsonify(post_json(db.session(), post))


@bp.post("/posts/<int:post_id>/submit")
def submit_post(post_id: int):  # type: ignore[no-untyped-def]
    body(optional=True)
    with db.transaction() as s:
        post = posts_svc.submit_post(s, user(), post_id)
    return jsonify(post_json(db.session(), post))


@bp.post("/posts/<int:post_id>/approve")
def approve_post(post_id: int):  # type: ignore[no-untyped-def]
    from flask import current_app

    from hub.dispatch.jobs.publish import enqueue_dispatches

    data = lenient_body()
    with db.transaction() as s:
        post, to_enqueue = decisions_svc.approve_post(s, user(), post_id, data)
    enqueue_dispatches(current_app.config, to_enqueue)
    if post.status == "approved":  # scheduled: RQ runs the dispatches at publish_at
        schedule_svc.enqueue_post_dispatches(current_app.config, db.session(), post.id)
    return jsonify(post_json(db.session(), post))




@bp.post("/posts/<int:post_id>/reject")
def reject_post(post_id: int):  # type: ignore[no-untyped-def]
    data = lenient_body()
    with db.transaction() as s:
        post = decisions_svc.reject_post(s, user(), post_id, data)
    return jsonify(post_json(db.session(), post))


@bp.get("/posts/<int:post_id>/history")
def post_history(post_id: int):  # type: ignore[no-untyped-def]
    from hub.models import AuditEntry, Dispatch

    s = db.session()
    post = post_access.get_post(s, user(), post_id)
    dispatch_ids = [str(i) for i in s.scalars(select(Dispatch.id).where(Dispatch.post_id == post.id))]
    entries = s.scalars(select(AuditEntry).where(
        ((AuditEntry.object_type == "post") & (AuditEntry.object_id == str(post.id)))
        | ((AuditEntry.object_type == "dispatch") & (AuditEntry.object_id.in_(dispatch_ids or ["-"])))
    ).order_by(AuditEntry.seq)).all()
    return jsonify({"entries": [audit.entry_to_dict(e) for e in entries]})


