"""REST API under /api/v1: JSON, Bearer tokens, errors as {"error": {...}}."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Flask, current_app, g, jsonify, request
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from . import audit
from .db import db
from .errors import BadRequest, HubError, Unauthorized
from .extensions import csrf, limiter
from .models import ApiToken, Post, User
from .security import token_digest
from .serializers import account_json, post_json
from .services import accounts as accounts_svc
from .services import posts as posts_svc
from .services.checks import run_checks

bp = Blueprint("api", __name__, url_prefix="/api/v1")

PUBLIC = {"api.openapi"}


def _token_key() -> str:
    auth = request.headers.get("Authorization", "")
    return "tok:" + token_digest(auth)[:16] if auth else "ip:" + (request.remote_addr or "")


@bp.before_request
def _authenticate() -> None:
    audit.current_request.set(audit.RequestInfo(request.remote_addr or "",
                                                request.headers.get("User-Agent", "")[:300]))
    if request.endpoint in PUBLIC:
        return
    auth = request.headers.get("Authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("缺少 API 令牌（Authorization: Bearer <token>）", code="missing_token")
    s = db.session()
    row = s.scalars(select(ApiToken).where(ApiToken.token_hash == token_digest(token.strip()),
                                           ApiToken.revoked.is_(False))).first()
    if row is None or not row.user.is_active:
        raise Unauthorized("API 令牌无效或已停用", code="invalid_token")
    g.api_user = row.user
    audit.current_actor.set(audit.Actor.of(row.user))


def user() -> User:
    return g.api_user


def body(optional: bool = False) -> Any:
    raw = request.get_data(cache=True)
    if not raw.strip():
        if optional:
            return {}
        raise BadRequest("请求体不能为空，需要 JSON 对象", code="missing_body")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("请求体不是合法的 JSON", code="invalid_json") from None
    if not isinstance(data, dict):
        raise BadRequest("请求体必须是 JSON 对象", code="invalid_body")
    return data


def _error_response(err: HubError):  # type: ignore[no-untyped-def]
    resp = jsonify(err.to_dict())
    resp.status_code = err.status
    return resp


@bp.errorhandler(HubError)
def _hub_error(err: HubError):  # type: ignore[no-untyped-def]
    db.session.rollback()
    return _error_response(err)


@bp.errorhandler(HTTPException)
def _http_error(err: HTTPException):  # type: ignore[no-untyped-def]
    db.session.rollback()
    codes = {404: "not_found", 405: "method_not_allowed", 413: "too_large", 429: "rate_limited",
             400: "bad_request"}
    code = err.code or 500
    msgs = {404: "接口不存在", 405: "不支持该请求方法", 413: "请求体过大", 429: "请求过于频繁，请稍后再试"}
    resp = jsonify({"error": {"code": codes.get(code, "http_error"), "message": msgs.get(code, err.description)}})
    resp.status_code = code
    return resp


@bp.errorhandler(Exception)
def _unexpected(err: Exception):  # type: ignore[no-untyped-def]
    import logging

    db.session.rollback()
    logging.getLogger(__name__).exception("unhandled API error")
    resp = jsonify({"error": {"code": "internal_error", "message": "服务器内部错误，已记录"}})
    resp.status_code = 500
    return resp


# -- posts -------------------------------------------------------------------------------
@bp.post("/posts")
def create_post():  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        post = posts_svc.create_post(s, user(), body())
    return jsonify(post_json(db.session(), post)), 201


@bp.get("/posts")
def list_posts():  # type: ignore[no-untyped-def]
    from .permissions import visible_unit_ids

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
    return jsonify(post_json(s, posts_svc.get_post(s, user(), post_id)))


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

    from .jobs.publish import enqueue_dispatches

    data = _lenient_body()
    with db.transaction() as s:
        post, to_enqueue = posts_svc.approve_post(s, user(), post_id, data)
    enqueue_dispatches(current_app.config, to_enqueue)
    if post.status == "approved":  # scheduled: RQ runs the dispatches at publish_at
        posts_svc.enqueue_post_dispatches(current_app.config, db.session(), post.id)
    return jsonify(post_json(db.session(), post))


def _lenient_body() -> Any:
    """Parse the body but let the service decide (after state checks) whether it is wrong."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None


@bp.post("/posts/<int:post_id>/reject")
def reject_post(post_id: int):  # type: ignore[no-untyped-def]
    data = _lenient_body()
    with db.transaction() as s:
        post = posts_svc.reject_post(s, user(), post_id, data)
    return jsonify(post_json(db.session(), post))


@bp.get("/posts/<int:post_id>/history")
def post_history(post_id: int):  # type: ignore[no-untyped-def]
    from .models import AuditEntry, Dispatch

    s = db.session()
    post = posts_svc.get_post(s, user(), post_id)
    dispatch_ids = [str(i) for i in s.scalars(select(Dispatch.id).where(Dispatch.post_id == post.id))]
    entries = s.scalars(select(AuditEntry).where(
        ((AuditEntry.object_type == "post") & (AuditEntry.object_id == str(post.id)))
        | ((AuditEntry.object_type == "dispatch") & (AuditEntry.object_id.in_(dispatch_ids or ["-"])))
    ).order_by(AuditEntry.seq)).all()
    return jsonify({"entries": [audit.entry_to_dict(e) for e in entries]})


# -- checks ------------------------------------------------------------------------------
@bp.post("/checks")
def checks():  # type: ignore[no-untyped-def]
    data = body()
    content = data.get("content")
    if not isinstance(content, str):
        raise BadRequest("缺少 content（文本或 HTML）", code="missing_content")
    return jsonify({"findings": run_checks(content)})


# -- accounts ----------------------------------------------------------------------------
@bp.get("/accounts")
def list_accounts():  # type: ignore[no-untyped-def]
    from .models import Account
    from .permissions import can_see_account

    s = db.session()
    accounts = [a for a in s.scalars(select(Account).order_by(Account.id)).unique()
                if can_see_account(s, user(), a)]
    return jsonify({"accounts": [account_json(a, viewer=user()) for a in accounts]})


@bp.post("/accounts")
def create_account():  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        acc = accounts_svc.create_account(s, user(), body())
    return jsonify(account_json(acc, viewer=user())), 201


@bp.get("/accounts/<int:account_id>")
def get_account(account_id: int):  # type: ignore[no-untyped-def]
    s = db.session()
    return jsonify(account_json(accounts_svc.get_account(s, user(), account_id), viewer=user()))


@bp.put("/accounts/<int:account_id>/credentials")
def put_credentials(account_id: int):  # type: ignore[no-untyped-def]
    data = body()
    with db.transaction() as s:
        acc = accounts_svc.get_account(s, user(), account_id)
        accounts_svc.set_credentials(s, user(), acc, data)
    return jsonify(account_json(acc, viewer=user()))


@bp.post("/accounts/<int:account_id>/credentials/verify")
def verify_credentials(account_id: int):  # type: ignore[no-untyped-def]
    body(optional=True)
    with db.transaction() as s:
        acc = accounts_svc.get_account(s, user(), account_id)
        ok, message = accounts_svc.verify_account(s, user(), acc)
    return jsonify({"ok": ok, "message": message})


# -- audit: GET /audit and /audit/verify live in hub/api_audit.py ------------------------


@bp.get("/openapi.json")
def openapi():  # type: ignore[no-untyped-def]
    from .openapi import spec

    return jsonify(spec())


# Feature areas add their endpoints to ``bp`` from their own modules.
AREA_MODULES = ("hub.api_review", "hub.api_accounts", "hub.api_dispatch", "hub.api_audit", "hub.api_checks")


def init_app(app: Flask) -> None:
    import importlib

    for name in AREA_MODULES:
        importlib.import_module(name)
    csrf.exempt(bp)
    if not getattr(bp, "_hub_rate_limited", False):
        # ``limiter`` and ``bp`` live as long as the process: registering the limit on every
        # create_app() would stack N copies of it, each counting every request.
        limiter.limit(lambda: current_app.config["HUB_API_LIMIT"], key_func=_token_key)(bp)
        bp._hub_rate_limited = True  # type: ignore[attr-defined]
    app.register_blueprint(bp)
