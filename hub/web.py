"""The web UI (zh-CN first): login, dashboard, posts, review, accounts."""

from __future__ import annotations

import base64
import logging
import secrets
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from sqlalchemy import select
from werkzeug.exceptions import HTTPException
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from . import audit
from .db import db
from .errors import HubError
from .extensions import LOCALES, limiter, login_manager
from .i18n_marks import N_
from .models import Account, Dispatch, Media, Post, User
from .permissions import can_see_account, visible_unit_ids
from .security import hash_password, needs_rehash, verify_password
from .services import posts as posts_svc

bp = Blueprint("web", __name__)
log = logging.getLogger(__name__)

STATUS_LABELS = {
    "draft": N_("草稿"), "in_review": N_("审核中"), "approved": N_("已通过"), "publishing": N_("发布中"),
    "published": N_("已发布"), "partially_published": N_("部分发布"), "failed": N_("发布失败"),
    "rejected": N_("已退回"), "withdrawn": N_("已撤稿"), "pending": N_("待发送"), "sending": N_("发送中"),
    "unconfirmed": N_("待核实"), "cancelled": N_("已取消"), "active": N_("启用"), "suspended": N_("暂停"),
    "closed": N_("已关闭"),
}
PLATFORM_LABELS = {"wechat": N_("微信公众号"), "weibo": N_("微博"), "douyin": N_("抖音"), "website": N_("网站")}


def status_label(value: str) -> str:
    return _(STATUS_LABELS[value]) if value in STATUS_LABELS else value


class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("密码", validators=[DataRequired(), Length(max=256)])


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    uid, _sep, version = user_id.partition(":")
    try:
        u = db.session.get(User, int(uid))
    except ValueError:
        return None
    if u is None or str(u.session_version) != version:
        return None
    return u


@bp.before_app_request
def _request_context() -> None:
    audit.current_request.set(audit.RequestInfo(request.remote_addr or "",
                                                request.headers.get("User-Agent", "")[:300]))
    if current_user.is_authenticated:
        audit.current_actor.set(audit.Actor.of(current_user))


@bp.app_context_processor
def _globals() -> dict[str, Any]:
    count = 0
    if current_user.is_authenticated and request.blueprint == "web":
        try:
            count = len(awaiting_review(current_user))
        except Exception:  # never let a badge break a page
            count = 0
    return {"status_label": status_label, "platform_label": lambda p: _(PLATFORM_LABELS.get(p, p)),
            "review_count": count, "locales": LOCALES, "current_locale": session.get("lang", "zh_CN"),
            "local_time": local_time}


def local_time(dt: datetime | None) -> str:
    if dt is None:
        return ""
    return format_datetime(dt.replace(tzinfo=UTC), "yyyy-MM-dd HH:mm")


# -- auth ---------------------------------------------------------------------------------
def _login_username_key() -> str:
    return "user:" + (request.form.get("username", "") or "").strip().lower()[:64]


def _failed(resp: Any) -> bool:
    return resp.status_code != 302


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: _limit(), methods=["POST"], deduct_when=_failed)
@limiter.limit(lambda: _limit(), methods=["POST"], key_func=_login_username_key, deduct_when=_failed)
def login():  # type: ignore[no-untyped-def]
    form = LoginForm()
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("web.dashboard"))
    if form.validate_on_submit():
        username = form.username.data.strip()
        s = db.session()
        u = s.scalars(select(User).where(User.username == username)).first()
        ok = verify_password(u.password_hash if u else None, form.password.data)
        with db.transaction() as s:
            if ok and u is not None and u.is_active:
                if needs_rehash(u.password_hash):
                    u.password_hash = hash_password(form.password.data)
                audit.record(s, "auth.login", object_type="user", object_id=u.id, unit=u.unit,
                             summary=f"{u.display_name()} 登录", actor=u)
            else:
                audit.record(s, "auth.login_failed", object_type="user", object_id=u.id if u else "",
                             unit=u.unit if u else None, summary=f"登录失败：{username[:64]}",
                             details={"username": username[:64]}, actor=audit.Actor(None, "anonymous"))
        if ok and u is not None and u.is_active:
            lang = session.get("lang")
            session.clear()  # session rotation: nothing from before login survives but the language
            session["nonce"] = secrets.token_hex(8)
            if lang in LOCALES:
                session["lang"] = lang
            login_user(u)
            nxt = request.args.get("next", "")
            if not nxt.startswith("/") or nxt.startswith("//") or urlsplit(nxt).netloc:
                nxt = url_for("web.dashboard")
            return redirect(nxt)
        flash(_("用户名或密码错误"), "error")
    elif request.method == "POST":
        flash(_("请填写用户名和密码"), "error")
    return render_template("login.html", form=form), 200 if request.method == "GET" else 401


def _limit() -> str:
    from flask import current_app

    return current_app.config["HUB_LOGIN_LIMIT"]


@bp.post("/logout")
@login_required
def logout():  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        audit.record(s, "auth.logout", object_type="user", object_id=current_user.id, unit=current_user.unit,
                     summary=f"{current_user.display_name()} 退出登录")
    logout_user()
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("您已退出登录"), "info")
    return redirect(url_for("web.login"))


@bp.get("/lang/<code>")
def set_language(code: str):  # type: ignore[no-untyped-def]
    if code in LOCALES:
        session["lang"] = code
    ref = request.referrer or ""
    parts = urlsplit(ref)
    target = parts.path if parts.path.startswith("/") and parts.netloc in ("", request.host) else "/"
    return redirect(target or "/")


# -- dashboard ----------------------------------------------------------------------------
def awaiting_review(user: User) -> list[Post]:
    """待我审核 (the rule lives in services.review_queue: chains may name other units' reviewers)."""
    from .services.review_queue import awaiting_review as queue

    return queue(db.session(), user)


@bp.get("/")
@login_required
def dashboard():  # type: ignore[no-untyped-def]
    s = db.session()
    units = visible_unit_ids(s, current_user)
    drafts = s.scalars(select(Post).where(Post.creator_id == current_user.id,
                                          Post.status.in_(["draft", "rejected"]))
                       .order_by(Post.updated_at.desc()).limit(20)).unique().all()
    recent = s.scalars(select(Dispatch).join(Post).where(Post.unit_id.in_(units),
                                                         Dispatch.status.in_(["published", "failed",
                                                                              "unconfirmed"]))
                       .order_by(Dispatch.updated_at.desc()).limit(15)).unique().all()
    return render_template("dashboard.html", drafts=drafts, review=awaiting_review(current_user), recent=recent)


# -- posts --------------------------------------------------------------------------------
@bp.get("/posts")
@login_required
def posts():  # type: ignore[no-untyped-def]
    s = db.session()
    status = request.args.get("status", "")
    stmt = select(Post).where(Post.unit_id.in_(visible_unit_ids(s, current_user)))
    if status in STATUS_LABELS:
        stmt = stmt.where(Post.status == status)
    rows = s.scalars(stmt.order_by(Post.updated_at.desc()).limit(200)).unique().all()
    return render_template("posts.html", posts=rows, status=status,
                           statuses=[k for k in posts_svc_statuses()])


def posts_svc_statuses() -> list[str]:
    from .models import POST_STATUSES

    return list(POST_STATUSES)


def _editor_accounts(unit_id: int) -> list[Account]:
    s = db.session()
    return list(s.scalars(select(Account).where(Account.unit_id == unit_id, Account.status == "active")
                          .order_by(Account.id)).unique())


VARIANT_FIELDS = ("title", "summary", "text")


def _form_variants(form: Any) -> dict[str, dict[str, str]]:
    """Per-platform overrides from fields named ``variant-<platform>-<field>`` (empty ones dropped)."""
    from adapters.registry import platforms

    out: dict[str, dict[str, str]] = {}
    for platform in platforms():
        v = {k: form.get(f"variant-{platform}-{k}", "").strip() for k in VARIANT_FIELDS}
        v = {k: x for k, x in v.items() if x}
        if platform == "wechat" and form.get("variant-wechat-mass_send") == "on":
            v["mass_send"] = "1"
        if v:
            out[platform] = v
    return out


def _form_data() -> dict[str, Any]:
    f = request.form
    data: dict[str, Any] = {
        "title": f.get("title", ""), "content": f.get("content", ""), "summary": f.get("summary", ""),
        "author": f.get("author", ""), "category": f.get("category", ""), "source_url": f.get("source_url", ""),
        "is_original": f.get("is_original") == "on",
    }
    try:
        data["account_ids"] = sorted({int(x) for x in f.getlist("account_ids")})
    except ValueError:
        data["account_ids"] = []
    publish_at = f.get("publish_at", "").strip()
    data["publish_at"] = publish_at or None
    data["variants"] = _form_variants(f)
    upload = request.files.get("cover")
    if upload and upload.filename:
        raw = upload.read()
        mime = upload.mimetype or "image/jpeg"
        data["cover"] = f"data:{mime};base64,{base64.b64encode(raw).decode()}"
    return data


@bp.route("/posts/new", methods=["GET", "POST"])
@login_required
def new_post():  # type: ignore[no-untyped-def]
    if not current_user.has_role("editor"):
        flash(_("只有编辑可以撰写稿件"), "error")
        return redirect(url_for("web.dashboard"))
    accounts = _editor_accounts(current_user.unit_id)
    values: dict[str, Any] = {"account_ids": [a.id for a in accounts[:1]]}
    if request.method == "POST":
        values = _form_data()
        try:
            with db.transaction() as s:
                post = posts_svc.create_post(s, current_user, values)
            flash(_("稿件已保存为草稿"), "success")
            return redirect(url_for("web.post_page", post_id=post.id))
        except HubError as exc:
            flash(exc.message, "error")
    return render_template("post_form.html", post=None, values=values, accounts=accounts,
                           variant_platforms=_variant_platforms(accounts))


@bp.route("/posts/<int:post_id>/edit", methods=["GET", "POST"])
@login_required
def edit_post(post_id: int):  # type: ignore[no-untyped-def]
    s = db.session()
    post = _post_or_404(post_id)
    rev = post.current_revision
    assert rev is not None
    values: dict[str, Any] = {
        "title": rev.title, "content": rev.content, "summary": rev.summary, "author": rev.author,
        "category": rev.category, "source_url": rev.source_url, "is_original": rev.is_original,
        "account_ids": list(rev.account_ids), "publish_at": _local_input(post.publish_at),
        "variants": dict(rev.variants or {}),
    }
    if request.method == "POST":
        values = _form_data()
        try:
            data = dict(values)
            if not data.get("publish_at"):
                data["publish_at"] = None
            with db.transaction() as s:
                posts_svc.update_post(s, current_user, post_id, data)
            flash(_("已保存：生成新版本，之前的审核意见作废，需重新提交审核"), "success")
            return redirect(url_for("web.post_page", post_id=post_id))
        except HubError as exc:
            flash(exc.message, "error")
    accounts = _editor_accounts(post.unit_id)
    return render_template("post_form.html", post=post, values=values, accounts=accounts,
                           variant_platforms=_variant_platforms(accounts))


def _variant_platforms(accounts: list[Account]) -> list[str]:
    return sorted({a.platform for a in accounts})


def _local_input(dt: datetime | None) -> str:
    from .services.posts import SHANGHAI

    return dt.replace(tzinfo=UTC).astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M") if dt else ""


def _post_or_404(post_id: int) -> Post:
    try:
        return posts_svc.get_post(db.session(), current_user, post_id)
    except HubError:
        abort(404)


@bp.get("/posts/<int:post_id>")
@login_required
def post_page(post_id: int):  # type: ignore[no-untyped-def]
    from .serializers import post_json

    s = db.session()
    post = _post_or_404(post_id)
    data = post_json(s, post)
    can_review = post in awaiting_review(current_user)
    can_edit = post.status in posts_svc.EDITABLE_STATUSES and (
        current_user.has_role("editor", post.unit_id) or current_user.has_role("reviewer", post.unit_id))
    can_submit = post.status in ("draft", "rejected") and current_user.has_role("editor", post.unit_id)
    accounts = {a.id: a for a in s.scalars(select(Account).where(
        Account.id.in_(post.current_revision.account_ids if post.current_revision else [])))}
    return render_template("post.html", post=post, data=data, can_review=can_review, can_edit=can_edit,
                           can_submit=can_submit, accounts=accounts, check_labels=posts_svc.CHECK_LABELS)


@bp.get("/posts/<int:post_id>/status.json")
@login_required
def post_status(post_id: int):  # type: ignore[no-untyped-def]
    s = db.session()
    post = _post_or_404(post_id)
    from .services.dispatches import live_extra

    ds = s.scalars(select(Dispatch).where(Dispatch.post_id == post.id).order_by(Dispatch.id)).unique().all()
    return jsonify({"status": post.status, "status_label": status_label(post.status),
                    "dispatches": [{"id": d.id, "status": d.status, "status_label": status_label(d.status),
                                    "url": d.url, "attempts": d.attempts, "error": d.error or "",
                                    **live_extra(s, d)} for d in ds]})


def run_action(fn: Any, ok_message: str) -> Any:
    """Run ``fn(session)`` in a write transaction; flash ``ok_message`` or the error. None on error."""
    try:
        with db.transaction() as s:
            result = fn(s)
        flash(ok_message, "success")
        return result
    except HubError as exc:
        flash(exc.message, "error")
        return None


@bp.post("/posts/<int:post_id>/submit")
@login_required
def submit(post_id: int):  # type: ignore[no-untyped-def]
    run_action(lambda s: posts_svc.submit_post(s, current_user, post_id), _("已提交审核"))
    return redirect(url_for("web.post_page", post_id=post_id))


@bp.post("/posts/<int:post_id>/approve")
@login_required
def approve(post_id: int):  # type: ignore[no-untyped-def]
    from flask import current_app

    from .jobs.publish import enqueue_dispatches

    body = {"revision_hash": request.form.get("revision_hash", ""), "comment": request.form.get("comment", ""),
            "checks": {k: request.form.get(f"check_{k}") == "on" for k in posts_svc.CHECK_KEYS}}
    result = run_action(lambda s: posts_svc.approve_post(s, current_user, post_id, body), _("审核通过"))
    if result:
        enqueue_dispatches(current_app.config, result[1])
    return redirect(url_for("web.post_page", post_id=post_id))


@bp.post("/posts/<int:post_id>/reject")
@login_required
def reject(post_id: int):  # type: ignore[no-untyped-def]
    body = {"reason": request.form.get("reason", ""), "revision_hash": request.form.get("revision_hash") or None}
    run_action(lambda s: posts_svc.reject_post(s, current_user, post_id, body), _("已退回编辑"))
    return redirect(url_for("web.post_page", post_id=post_id))


@bp.get("/media/<int:media_id>")
@login_required
def media(media_id: int):  # type: ignore[no-untyped-def]
    s = db.session()
    m = s.get(Media, media_id)
    if m is None or (m.unit_id is not None and m.unit_id not in visible_unit_ids(s, current_user)):
        abort(404)
    from flask import make_response

    resp = make_response(m.data)
    resp.headers["Content-Type"] = m.mime
    resp.headers["Cache-Control"] = "private, max-age=3600"
    return resp


# -- accounts -----------------------------------------------------------------------------
@bp.get("/accounts")
@login_required
def accounts():  # type: ignore[no-untyped-def]
    from .services.accounts import credential_status

    s = db.session()
    rows = [a for a in s.scalars(select(Account).order_by(Account.unit_id, Account.id)).unique()
            if can_see_account(s, current_user, a)]
    show_creds = {a.id: credential_status(a) for a in rows if current_user.has_role("admin")}
    return render_template("accounts.html", accounts=rows, creds=show_creds)


# -- errors and headers -------------------------------------------------------------------
def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


# Feature areas add their pages to ``bp`` from their own modules.
AREA_MODULES = ("hub.web_review", "hub.web_accounts", "hub.web_dispatch", "hub.web_audit", "hub.web_checks",
                "hub.web_preview")


def init_app(app: Flask) -> None:
    import importlib

    for name in AREA_MODULES:
        importlib.import_module(name)
    app.register_blueprint(bp)

    @app.errorhandler(CSRFError)
    def _csrf(err: CSRFError):  # type: ignore[no-untyped-def]
        db.session.rollback()
        return render_template("error.html", code=400,
                               message=_("页面已过期或表单校验失败，请刷新页面后重试")), 400

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException):  # type: ignore[no-untyped-def]
        db.session.rollback()
        if _wants_json():
            return jsonify({"error": {"code": str(err.code), "message": err.description}}), err.code
        messages = {404: _("页面不存在或您无权查看"), 405: _("不支持该操作"), 429: _("操作过于频繁，请稍后再试"),
                    413: _("上传的内容过大"), 400: _("请求无效")}
        return render_template("error.html", code=err.code,
                               message=messages.get(err.code or 500, err.name)), err.code

    @app.errorhandler(Exception)
    def _any(err: Exception):  # type: ignore[no-untyped-def]
        db.session.rollback()
        log.exception("unhandled error")
        if _wants_json():
            return jsonify({"error": {"code": "internal_error", "message": "服务器内部错误，已记录"}}), 500
        return render_template("error.html", code=500, message=_("服务器内部错误，已记录，请稍后重试")), 500

    @app.after_request
    def _headers(resp: Any) -> Any:
        resp.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data: blob: https: http:; style-src 'self' 'unsafe-inline'; "
            "script-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
        )
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
