"""The parent UI blueprint: shared hooks, labels and helpers every area's pages use."""

from __future__ import annotations

import logging
import secrets
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    request,
    session,
    url_for,
)
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from hub import audit
from hub.db import db
from hub.errors import HubError
from hub.extensions import LOCALES, login_manager
from hub.i18n_marks import MANUAL_SUFFIX, PLATFORM_LABELS, STATUS_LABELS
from hub.models import Post, User
from hub.org import signin as signin_svc

bp = Blueprint("web", __name__)
log = logging.getLogger(__name__)

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


#: The session key of a sign-in waiting for its second step: {uid, v (session version), at, next}.
PENDING_KEY = "pending_2fa"
PENDING_SECONDS = 300


def safe_next(nxt: str) -> str:
    """``nxt`` when it is a path of this site, else the dashboard (no open redirect)."""
    nxt = (nxt or "").strip()
    if (not nxt.startswith("/") or nxt.startswith("//") or nxt.startswith("/\\") or "\\" in nxt
            or urlsplit(nxt).netloc or urlsplit(nxt).scheme):
        return url_for("web.dashboard")
    return nxt


def fresh_session() -> None:
    """Session rotation: nothing from before sign-in survives but the language."""
    lang = session.get("lang")
    session.clear()
    session["nonce"] = secrets.token_hex(8)
    if lang in LOCALES:
        session["lang"] = lang


def finish_login(u: User, nxt: str, second_factor: str | None = None) -> Any:
    """Sign ``u`` in (password, and the code when they have a second factor) and go on to ``nxt``."""
    # The sign-in is audited first: when its entry cannot be written, nobody is signed in (fail closed).
    with db.transaction() as s:
        how = {"totp": "，二次验证", "recovery": "，使用恢复码"}.get(second_factor or "", "")
        audit.record(s, "auth.login", object_type="user", object_id=u.id, unit=u.unit,
                     summary=f"{u.display_name()} 登录{how}", actor=u,
                     details={"second_factor": second_factor} if second_factor else None)
    fresh_session()
    login_user(u)
    now = time.time()
    session["auth_at"] = session["seen_at"] = now
    if signin_svc.required(u) and not signin_svc.enrolled(db.session(), u):
        flash(_("管理员和主管单位用户必须启用二次验证：请用手机验证器扫描二维码完成设置"), "info")
        return redirect(url_for("web.org.security_page"))
    return redirect(safe_next(nxt))


#: Endpoints a signed-in admin or supervisor without a second factor may still reach: enrolment itself.
ENROLMENT_OPEN = frozenset({"web.org.security_page", "web.org.security_confirm", "web.logout",
                            "web.set_language", "static"})
#: Background requests that do not count as activity (a page left open must still go idle).
NOT_ACTIVITY = frozenset({"web.posts.post_status"})


@bp.before_app_request
def _session_rules() -> Any:
    """Idle and absolute session timeouts (HUB_SESSION_IDLE_MINUTES, HUB_SESSION_MAX_HOURS), and
    admins and supervisors sent to enrol their second factor until they have (HUB_REQUIRE_TOTP)."""
    if "web" not in request.blueprints or not current_user.is_authenticated:
        return None
    from hub.config import get_settings

    settings = get_settings(current_app.config)
    now = time.time()
    seen = float(session.get("seen_at") or now)
    since = float(session.get("auth_at") or now)
    idle = now - seen > settings.session_idle_minutes * 60
    if idle or now - since > settings.session_max_hours * 3600:
        return _expire(idle)
    if request.endpoint not in NOT_ACTIVITY:
        session["seen_at"] = now
    session.setdefault("auth_at", since)
    if request.endpoint not in ENROLMENT_OPEN and signin_svc.required(current_user) \
            and not signin_svc.enrolled(db.session(), current_user):
        if wants_json():
            return jsonify({"error": {"code": "totp_enrolment_required",
                                      "message": _("请先启用二次验证")}}), 403
        return redirect(url_for("web.org.security_page"))
    return None


def _expire(idle: bool) -> Any:
    """End a timed-out session; the person signs in again and comes back to the page they asked for."""
    user = current_user._get_current_object()
    with db.transaction() as s:
        audit.record(s, "auth.session_expired", object_type="user", object_id=user.id, unit=user.unit,
                     summary=f"{user.display_name()} 的登录{'长时间未操作' if idle else '超过最长时限'}，已失效",
                     details={"reason": "idle" if idle else "absolute"}, actor=user)
    logout_user()
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    if wants_json():
        return jsonify({"error": {"code": "session_expired", "message": _("登录已失效，请重新登录")}}), 401
    flash(_("您已较长时间未操作，请重新登录") if idle else _("登录已超过最长时限，请重新登录"), "info")
    if request.method == "GET":
        nxt = request.full_path.rstrip("?")
    else:
        ref = urlsplit(request.referrer or "")
        nxt = ref.path if ref.netloc in ("", request.host) and ref.path.startswith("/") else "/"
    return redirect(url_for("web.login", next=nxt))


@bp.app_context_processor
def _globals() -> dict[str, Any]:
    count = 0
    if current_user.is_authenticated and "web" in request.blueprints:
        try:
            count = len(awaiting_review(current_user))
        except Exception:  # never let a badge break a page
            count = 0
    return {"status_label": status_label, "platform_label": lambda p: _(PLATFORM_LABELS.get(p, p)),
            "account_platform": account_platform,
            "review_count": count, "locales": LOCALES, "current_locale": session.get("lang", "zh_CN"),
            "local_time": local_time}


def account_platform(account: Any) -> str:
    """An account's platform as staff read it: 微信公众号, or 视频号（人工发布） for a manual-publish account."""
    name = getattr(account, "platform_name", "") or ""
    if account.platform == "manual" and name:
        return name + _(MANUAL_SUFFIX)
    return _(PLATFORM_LABELS.get(account.platform, account.platform))


def local_time(dt: datetime | str | None, pattern: str = "yyyy-MM-dd HH:mm") -> str:
    """A stored UTC time (naive, or ISO 8601 as services return it) in Beijing time."""
    if not dt:
        return ""
    if isinstance(dt, str):
        text = dt
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            return text
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    fast = _PLAIN_PATTERNS.get(pattern)
    if fast is not None:  # numeric patterns read the same in every locale: no Babel formatting per row
        return dt.astimezone(_BEIJING).strftime(fast)
    return format_datetime(dt, pattern)


_BEIJING = ZoneInfo("Asia/Shanghai")  # the hub's one time zone (BABEL_DEFAULT_TIMEZONE)
_PLAIN_PATTERNS = {"yyyy-MM-dd HH:mm": "%Y-%m-%d %H:%M", "yyyy-MM-dd": "%Y-%m-%d",
                   "yyyy-MM-dd HH:mm:ss": "%Y-%m-%d %H:%M:%S", "HH:mm": "%H:%M"}



def awaiting_review(user: User) -> list[Post]:
    """待我审核 (the rule lives in services.review_queue: chains may name other units' reviewers)."""
    from hub.approval.queue import awaiting_review as queue

    # Once per request: the badge, the dashboard and the post page all ask.
    memo = g.setdefault("awaiting_review", {})
    if user.id not in memo:
        memo[user.id] = queue(db.session(), user)
    return list(memo[user.id])



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



def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"



#: The pages' policy. No 'unsafe-inline': every script and style is a file under hub/static (tests/web/
#: test_csp_templates.py); a post body is shown in a frame with its own policy (FRAME_CSP).
PAGE_CSP = ("default-src 'self'; img-src 'self' data: blob: https: http:; style-src 'self'; "
            "script-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-src 'self'; "
            "frame-ancestors 'none'")


def page_csp(form_targets: list[str] | None = None) -> str:
    """The pages' policy; ``form_targets``: other origins a form of this page may lead to (Chromium applies
    form-action to the redirects after a submission too: 授权 posts to the hub, which redirects to the platform)."""
    if not form_targets:
        return PAGE_CSP
    return PAGE_CSP.replace("form-action 'self'", "form-action 'self' " + " ".join(form_targets))


#: The policy of a content frame: the document shows sanitised HTML and nothing else — no script
#: at all, styles only inside its own box (the frame), images from the hub or the web, framed only
#: by the hub's own pages. The pages' policy (hub.web) has no 'unsafe-inline'; this one needs it for
#: the body's sanitised ``style`` attributes, which stay confined to the frame.
FRAME_CSP = ("default-src 'none'; img-src 'self' https: http:; style-src 'self' 'unsafe-inline'; "
             "base-uri 'none'; form-action 'none'; frame-ancestors 'self'")


def content_frame(html: str) -> Any:
    """A sanitised body as its own document, for an ``<iframe sandbox>`` on a review or post page:
    nothing in it runs, and nothing in it can draw over the page's controls."""
    from flask import make_response, url_for
    from markupsafe import Markup

    doc = Markup('<!doctype html><html><head><meta charset="utf-8"><base target="_blank">'
                 '<link rel="stylesheet" href="{css}"></head><body>{body}</body></html>').format(
        css=url_for("static", filename="frame.css"), body=Markup(html))  # html is sanitised
    resp = make_response(str(doc))
    resp.headers["Content-Type"] = "text/html; charset=utf-8"
    resp.headers["Content-Security-Policy"] = FRAME_CSP
    resp.headers["X-Frame-Options"] = "SAMEORIGIN"
    resp.headers["Cache-Control"] = "no-store"
    return resp
