"""Sign-in, sign-out, language and the dashboard: the pages of the parent blueprint itself."""

from __future__ import annotations

import math
import time
from typing import Any
from urllib.parse import urlsplit

from flask import (
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_limiter import RequestLimit
from flask_login import current_user, login_required, logout_user
from sqlalchemy import func, select

from hub import audit
from hub.db import db
from hub.extensions import LOCALES, limiter
from hub.models import Dispatch, Post, User
from hub.org import signin as signin_svc
from hub.permissions import overseen_unit_ids, visible_unit_ids
from hub.security import hash_password, needs_rehash, verify_password
from hub.web.base import PENDING_KEY, LoginForm, awaiting_review, bp, finish_login, fresh_session, safe_next


# -- auth ---------------------------------------------------------------------------------
def _login_username_key() -> str:
    return "user:" + (request.form.get("username", "") or "").strip().lower()[:64]


def _failed(resp: Any) -> bool:
    return resp.status_code != 302


def _wait_text(seconds: int) -> str:
    if seconds <= 90:
        return _("%(n)s 秒", n=seconds)
    return _("%(n)s 分钟", n=math.ceil(seconds / 60))


def _throttled(kind: str):
    """A login limit was reached: say whose, why and for how long, on the sign-in page itself."""

    def respond(limit: RequestLimit):
        wait = max(1, int(math.ceil(limit.reset_at - time.time())))
        if kind == "user":
            msg = _("该用户名连续登录失败次数过多，请 %(wait)s后再试；其他人的登录不受影响。", wait=_wait_text(wait))
        else:
            msg = _("本机所在地址登录失败次数过多，请 %(wait)s后再试。", wait=_wait_text(wait))
        flash(msg, "error")
        resp = current_app.make_response((render_template("login.html", form=LoginForm()), 429))
        resp.headers["Retry-After"] = str(wait)
        return resp

    return respond


# Per username: one person's typos lock out only that username, briefly. Per address: a wider
# limit, since a whole office often signs in from behind one address.
@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: _limit("HUB_LOGIN_IP_LIMIT"), methods=["POST"], deduct_when=_failed,
               on_breach=_throttled("ip"))
@limiter.limit(lambda: _limit("HUB_LOGIN_LIMIT"), methods=["POST"], key_func=_login_username_key,
               deduct_when=_failed, on_breach=_throttled("user"))
def login():
    form = LoginForm()
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("web.dashboard"))
    if form.validate_on_submit():
        username = form.username.data.strip()
        s = db.session()
        u = s.scalars(select(User).where(User.username == username)).first()
        ok = verify_password(u.password_hash if u else None, form.password.data)
        ok = ok and not (u is not None and u.role_names() == {"witness"})  # a witness user has no web face
        if ok and u is not None and u.is_active:
            if needs_rehash(u.password_hash):
                with db.transaction() as s:
                    row = s.get(User, u.id)
                    if row is not None:
                        row.password_hash = hash_password(form.password.data)
            nxt = request.args.get("next", "")
            if signin_svc.enrolled(db.session(), u):
                fresh_session()
                session[PENDING_KEY] = {"uid": u.id, "v": u.session_version, "at": time.time(),
                                        "next": safe_next(nxt)}
                return redirect(url_for("web.org.login_code"))
            return finish_login(u, nxt)
        with db.transaction() as s:
            audit.record(s, "auth.login_failed", object_type="user", object_id=u.id if u else "",
                         unit=u.unit if u else None, summary=f"登录失败：{username[:64]}",
                         details={"username": username[:64]}, actor=audit.Actor(None, "anonymous"))
        flash(_("用户名或密码错误"), "error")
    elif request.method == "POST":
        flash(_("请填写用户名和密码"), "error")
    return render_template("login.html", form=form), 200 if request.method == "GET" else 401


def _limit(key: str) -> str:
    return current_app.config[key]


@bp.post("/logout")
@login_required
def logout():
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
def set_language(code: str):
    if code in LOCALES:
        session["lang"] = code
    ref = request.referrer or ""
    parts = urlsplit(ref)
    target = parts.path if parts.path.startswith("/") and parts.netloc in ("", request.host) else "/"
    return redirect(target or "/")



@bp.get("/")
@login_required
def dashboard():
    if current_user.has_role("supervisor") and not current_user.has_role("editor"):
        from hub.oversight.web import monitor_page

        return monitor_page()  # the supervisor's home is the 监测台 (issue 15)
    s = db.session()
    units = visible_unit_ids(s, current_user)
    from hub.posts.listing import list_posts

    drafts, _more = list_posts(s, units, creator_id=current_user.id,
                               statuses=("draft", "rejected"), limit=20)
    recent = s.scalars(select(Dispatch).join(Post).where(Post.unit_id.in_(units),
                                                         Dispatch.status.in_(["published", "failed",
                                                                              "unconfirmed"]))
                       .order_by(Dispatch.updated_at.desc()).limit(15)).unique().all()
    attention_count = manual_count = None  # admins: failed and unconfirmed dispatches wait on the /dispatches page,
    if current_user.has_role("admin"):   # and so do the ones waiting to be published by hand
        overseen = overseen_unit_ids(s, current_user)
        by_status: dict[str, int] = dict(s.execute(select(Dispatch.status, func.count(Dispatch.id)).join(Post).where(
            Post.unit_id.in_(overseen), Dispatch.status.in_(["failed", "unconfirmed", "awaiting_manual"]))
            .group_by(Dispatch.status)).all())
        attention_count = by_status.get("failed", 0) + by_status.get("unconfirmed", 0)
        manual_count = by_status.get("awaiting_manual", 0)
    return render_template("dashboard.html", drafts=drafts, review=awaiting_review(current_user), recent=recent,
                           attention_count=attention_count, manual_count=manual_count)

