"""The parent API blueprint under /api/v1: Bearer tokens, JSON bodies, errors as {"error": {...}}."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from sqlalchemy import select
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from hub import audit, authz, inputs
from hub.db import db
from hub.errors import BadRequest, Forbidden, HubError, Unauthorized
from hub.models import ApiToken, User
from hub.security import token_digest

bp = Blueprint("api", __name__, url_prefix="/api/v1")

PUBLIC = {"api.openapi", "api.interaction.public_messages"}


def token_key() -> str:
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
    roles = {grant.role for grant in row.user.roles}
    if roles == {"witness"} and request.endpoint not in authz.WITNESS_ENDPOINTS:
        # A witness user (another hub's sender) may do nothing but send and read checkpoints.
        raise Forbidden("见证用户只能提交和读取检查点", code="witness_only")
    authz.gate(request.endpoint, roles)


def user() -> User:
    return g.api_user


def body(optional: bool = False) -> Any:
    raw = request.get_data(cache=True)
    if not raw.strip():
        if optional:
            return {}
        raise BadRequest("请求体不能为空，需要 JSON 对象", code="missing_body")
    try:
        data = inputs.loads(raw)
    except inputs.InvalidJson as exc:
        raise BadRequest(exc.message, code=exc.code) from None
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("请求体不是合法的 JSON", code="invalid_json") from None
    if not isinstance(data, dict):
        raise BadRequest("请求体必须是 JSON 对象", code="invalid_body")
    return data


def _error_response(err: HubError):
    resp = jsonify(err.to_dict())
    resp.status_code = err.status
    return resp


@bp.errorhandler(HubError)
def _hub_error(err: HubError):
    db.session.rollback()
    return _error_response(err)


@bp.errorhandler(HTTPException)
def _http_error(err: HTTPException):
    db.session.rollback()
    codes = {404: "not_found", 405: "method_not_allowed", 413: "too_large", 429: "rate_limited",
             400: "bad_request"}
    code = err.code or 500
    limit = (request.max_content_length or current_app.config.get("MAX_CONTENT_LENGTH") or 0) // (1024 * 1024)
    msgs = {404: "接口不存在", 405: "不支持该请求方法", 413: f"请求体过大（不得超过 {limit} MB）",
            429: "请求过于频繁，请稍后再试"}
    allow = ", ".join(sorted(err.valid_methods or ())) if isinstance(err, MethodNotAllowed) else ""
    if allow:
        msgs[405] = f"不支持该请求方法（允许：{allow}）"
    resp = jsonify({"error": {"code": codes.get(code, "http_error"), "message": msgs.get(code, err.description)}})
    resp.status_code = code
    if allow:
        resp.headers["Allow"] = allow
    return resp


@bp.errorhandler(Exception)
def _unexpected(err: Exception):
    import logging

    db.session.rollback()
    logging.getLogger(__name__).exception("unhandled API error")
    resp = jsonify({"error": {"code": "internal_error", "message": "服务器内部错误，已记录"}})
    resp.status_code = 500
    return resp



def lenient_body() -> Any:
    """Parse the body but let the service decide (after state checks) whether it is wrong."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        return inputs.loads(raw)
    except (ValueError, UnicodeDecodeError):  # InvalidJson included: the service answers after its checks
        return None

