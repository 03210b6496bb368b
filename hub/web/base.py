"""The parent UI blueprint: shared hooks, labels and helpers every area's pages use."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from flask import (
    Blueprint,
    flash,
    request,
    session,
)
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from hub import audit
from hub.db import db
from hub.errors import HubError
from hub.extensions import LOCALES, login_manager
from hub.i18n_marks import MANUAL_SUFFIX, PLATFORM_LABELS, STATUS_LABELS
from hub.models import Post, User

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
    return format_datetime(dt, pattern)



def awaiting_review(user: User) -> list[Post]:
    """待我审核 (the rule lives in services.review_queue: chains may name other units' reviewers)."""
    from hub.approval.queue import awaiting_review as queue

    return queue(db.session(), user)



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
