"""The web UI (zh-CN first): the parent blueprint ``web`` and, registered on it, each area's pages."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from hub.accounts import web as accounts_web
from hub.approval import web as approval_web
from hub.audit import web as audit_web
from hub.checks import web as checks_web
from hub.db import db
from hub.dispatch import web as dispatch_web
from hub.extensions import login_manager
from hub.interaction import web as interaction_web
from hub.notify import web as notify_web
from hub.org import web as org_web
from hub.oversight import web as oversight_web
from hub.posts import web as posts_web
from hub.web import views  # noqa: F401  (the parent's own pages: sign-in, language, dashboard)
from hub.web.base import PAGE_CSP, bp, log, wants_json

for _child in (posts_web, approval_web, accounts_web, dispatch_web, checks_web, audit_web, oversight_web,
               notify_web, org_web, interaction_web):
    bp.register_blueprint(_child.bp)

def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

    @app.errorhandler(CSRFError)
    def _csrf(err: CSRFError):
        db.session.rollback()
        return render_template("error.html", code=400,
                               message=_("页面已过期或表单校验失败，请刷新页面后重试")), 400

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException):
        db.session.rollback()
        if err.code == 429 and err.response is not None and not wants_json():
            return err.response  # a limit's own answer (the sign-in page says whose limit and how long)
        limit = (request.max_content_length or app.config.get("MAX_CONTENT_LENGTH") or 0) // (1024 * 1024)
        messages = {404: _("页面不存在或您无权查看"), 405: _("不支持该操作"), 429: _("操作过于频繁，请稍后再试"),
                    413: _("上传的内容过大（每次不得超过 %(mb)s MB），请压缩图片后重试", mb=limit),
                    400: _("请求无效")}
        allow = ", ".join(sorted(err.valid_methods or ())) if isinstance(err, MethodNotAllowed) else ""
        if allow:
            messages[405] = _("不支持该请求方法（允许：%(methods)s）", methods=allow)
        message = messages.get(err.code or 500, err.name)
        if wants_json():
            codes = {404: "not_found", 405: "method_not_allowed", 413: "too_large", 429: "rate_limited",
                     400: "bad_request"}
            resp = jsonify({"error": {"code": codes.get(err.code or 500, "http_error"), "message": message}})
            resp.status_code = err.code or 500
        else:
            resp = app.make_response((render_template("error.html", code=err.code, message=message), err.code or 500))
        if allow:
            resp.headers["Allow"] = allow
        return resp

    @app.errorhandler(Exception)
    def _any(err: Exception):
        db.session.rollback()
        log.exception("unhandled error")
        if wants_json():
            return jsonify({"error": {"code": "internal_error", "message": "服务器内部错误，已记录"}}), 500
        return render_template("error.html", code=500, message=_("服务器内部错误，已记录，请稍后重试")), 500

    @app.after_request
    def _headers(resp: Any) -> Any:
        resp.headers.setdefault("Content-Security-Policy", PAGE_CSP)
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        resp.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        resp.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if app.config.get("HUB_HTTPS"):
            resp.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if current_user and getattr(current_user, "is_authenticated", False):
            resp.headers.setdefault("Cache-Control", "no-store")
        return resp

    login_manager.login_view = "web.login"
    login_manager.login_message = "请先登录"
    login_manager.session_protection = "basic"
