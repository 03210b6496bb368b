"""Pages of people and sign-in (docs/people-and-sign-in.md): the admins' people pages (create with
a one-time set-up link, roles, disable / enable, password reset, second-factor reset), the set-up
link's page, the second sign-in step, one's own second factor (enrolment with a QR code,
recovery codes) and the vault status page for admins."""

from __future__ import annotations

import math
import time
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_limiter import RequestLimit
from flask_login import current_user, login_required
from sqlalchemy import func, select

from hub import audit
from hub.accounts import service as accounts_svc
from hub.db import db
from hub.errors import HubError
from hub.extensions import limiter
from hub.i18n_marks import N_
from hub.models import AuditEntry, User, UserTotp, VaultKey
from hub.org import people as people_svc
from hub.org import signin as signin_svc
from hub.web.base import PENDING_KEY, PENDING_SECONDS, finish_login, run_action

bp = Blueprint("org", __name__)
__all__ = ["bp", "ROLE_LABELS"]

ROLE_LABELS = {"editor": N_("编辑"), "reviewer": N_("审核人"), "admin": N_("管理员"), "supervisor": N_("主管单位"),
               "witness": N_("见证用户")}


def _admin_only() -> None:
    if not current_user.has_role("admin"):
        abort(404)


def _person(username: str) -> User:
    try:
        return people_svc.user_by_username(db.session(), current_user, username)
    except HubError:
        abort(404)


def _get(s: Any, user_id: int) -> User:
    """A user inside a write transaction (checked visible just before)."""
    u = s.get(User, user_id)
    if u is None:
        abort(404)
    return u


def _roles_from_form() -> list[str]:
    return [r for r in request.form.getlist("roles") if r in people_svc.STAFF_ROLES]


def _link_page(user: User, token: str, purpose: str) -> Any:
    link = url_for("web.org.setup_page", token=token, _external=True)
    return render_template("org/link.html", person=user, link=link, purpose=purpose,
                           hours=people_svc.LINK_HOURS)


# -- the admins' people pages -------------------------------------------------------------------
@bp.get("/people")
@login_required
def people_page():
    _admin_only()
    s = db.session()
    rows = people_svc.people(s, current_user)
    enrolled = {uid for (uid,) in s.execute(select(UserTotp.user_id).where(
        UserTotp.confirmed_at.is_not(None)))}
    return render_template("org/people.html", rows=rows, enrolled=enrolled,
                           units=people_svc.managed_units(s, current_user), role_labels=ROLE_LABELS,
                           staff_roles=people_svc.STAFF_ROLES, form=request.form)


@bp.post("/people")
@login_required
def person_create():
    _admin_only()
    try:
        with db.transaction() as s:
            user, token = people_svc.create_person(s, current_user, request.form.get("username", ""),
                                                   request.form.get("name", ""), request.form.get("unit", ""),
                                                   _roles_from_form())
    except HubError as exc:
        flash(exc.message, "error")
        s = db.session()
        return render_template("org/people.html", rows=people_svc.people(s, current_user), enrolled=set(),
                               units=people_svc.managed_units(s, current_user), role_labels=ROLE_LABELS,
                               staff_roles=people_svc.STAFF_ROLES, form=request.form), exc.status
    flash(_("已创建用户 %(name)s", name=user.display_name()), "success")
    return _link_page(user, token, "setup")


@bp.get("/people/<username>")
@login_required
def person_page(username: str):
    _admin_only()
    user = _person(username)
    s = db.session()
    return render_template("org/person.html", person=user, role_labels=ROLE_LABELS,
                           staff_roles=people_svc.STAFF_ROLES,
                           held={g.role for g in user.roles if g.unit_id == user.unit_id},
                           has_totp=signin_svc.has_factor(s, user),
                           totp_required=signin_svc.required(user))


@bp.post("/people/<username>")
@login_required
def person_save(username: str):
    _admin_only()
    user_id = _person(username).id

    def save(s: Any) -> None:
        people_svc.update_person(s, current_user, _get(s, user_id), request.form.get("name", ""),
                                 _roles_from_form())

    run_action(save, _("已保存"))
    return redirect(url_for("web.org.person_page", username=username))


@bp.post("/people/<username>/disable")
@login_required
def person_disable(username: str):
    _admin_only()
    user_id = _person(username).id
    run_action(lambda s: people_svc.disable_person(s, current_user, _get(s, user_id),
                                                   request.form.get("reason", "")),
               _("已停用该用户：其登录和 API 令牌立即失效"))
    return redirect(url_for("web.org.person_page", username=username))


@bp.post("/people/<username>/enable")
@login_required
def person_enable(username: str):
    _admin_only()
    user_id = _person(username).id
    run_action(lambda s: people_svc.enable_person(s, current_user, _get(s, user_id)), _("已重新启用该用户"))
    return redirect(url_for("web.org.person_page", username=username))


@bp.post("/people/<username>/reset-password")
@login_required
def person_reset_password(username: str):
    _admin_only()
    user_id = _person(username).id
    try:
        with db.transaction() as s:
            user = _get(s, user_id)
            token = people_svc.reset_link(s, current_user, user)
    except HubError as exc:
        flash(exc.message, "error")
        return redirect(url_for("web.org.person_page", username=username))
    return _link_page(_get(db.session(), user_id), token, "reset")


@bp.post("/people/<username>/reset-totp")
@login_required
def person_reset_totp(username: str):
    _admin_only()
    user_id = _person(username).id
    run_action(lambda s: signin_svc.reset(s, current_user, _get(s, user_id)),
               _("已重置二次验证：该用户下次登录时需重新设置"))
    return redirect(url_for("web.org.person_page", username=username))


# -- the one-time link --------------------------------------------------------------------------
@bp.route("/setup/<token>", methods=["GET", "POST"])
def setup_page(token: str):
    s = db.session()
    link = people_svc.link_for(s, token)
    if link is None:
        return render_template("org/setup.html", link=None), 404
    if request.method == "POST":
        try:
            with db.transaction() as ws:
                people_svc.redeem(ws, token, request.form.get("password", ""), request.form.get("password2", ""))
        except HubError as exc:
            flash(exc.message, "error")
            return render_template("org/setup.html", link=people_svc.link_for(db.session(), token)), exc.status
        flash(_("密码已设置，请用新密码登录"), "success")
        return redirect(url_for("web.login"))
    return render_template("org/setup.html", link=link)


# -- sign-in's second step ----------------------------------------------------------------------
def pending_user() -> User | None:
    """The user whose password was right and who still owes a code, while that is fresh."""
    p = session.get(PENDING_KEY)
    if not isinstance(p, dict) or time.time() - float(p.get("at", 0)) > PENDING_SECONDS:
        return None
    u = db.session().get(User, int(p.get("uid", 0)))
    if u is None or not u.is_active or u.session_version != p.get("v"):
        return None
    return u


def _code_key() -> str:
    p = session.get(PENDING_KEY)
    return f"2fa:{p.get('uid', '') if isinstance(p, dict) else ''}"


def _code_throttled(limit: RequestLimit) -> Any:
    wait = max(1, int(math.ceil(limit.reset_at - time.time())))
    flash(_("验证码错误次数过多，请 %(n)s 秒后再试", n=wait), "error")
    resp = current_app.make_response((render_template("org/login_code.html"), 429))
    resp.headers["Retry-After"] = str(wait)
    return resp


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["HUB_LOGIN_LIMIT"], methods=["POST"], key_func=_code_key,
               deduct_when=lambda resp: resp.status_code != 302, on_breach=_code_throttled)
def login_code():
    user = pending_user()
    if user is None:
        session.pop(PENDING_KEY, None)
        flash(_("登录已超时，请重新输入用户名和密码"), "error")
        return redirect(url_for("web.login"))
    if request.method == "GET":
        return render_template("org/login_code.html")
    with db.transaction() as s:
        u = _get(s, user.id)
        kind = signin_svc.check(s, u, request.form.get("code", ""))
        if kind is None:
            audit.record(s, "auth.login_failed", object_type="user", object_id=u.id, unit=u.unit,
                         summary=f"登录失败（二次验证码错误）：{u.username}",
                         details={"username": u.username, "step": "code"}, actor=audit.Actor(None, "anonymous"))
    if kind is None:
        flash(_("验证码不正确，请输入手机验证器中当前的 6 位数字，或一个未用过的恢复码"), "error")
        return render_template("org/login_code.html"), 401
    nxt = str(session.get(PENDING_KEY, {}).get("next", ""))
    resp = finish_login(user, nxt, second_factor=kind)  # a fresh session: flash after it
    if kind == "recovery":
        left = signin_svc.remaining_codes(db.session(), user)
        flash(_("您使用了一个恢复码，还剩 %(n)s 个；用完前请在「二次验证」页重新生成", n=left), "info")
    return resp


# -- one's own second factor --------------------------------------------------------------------
@bp.get("/me/security")
@login_required
def security_page():
    s = db.session()
    if signin_svc.enrolled(s, current_user):
        return render_template("org/security.html", enrolled=True,
                               remaining=signin_svc.remaining_codes(s, current_user),
                               required=signin_svc.required(current_user))
    with db.transaction() as ws:
        secret = signin_svc.pending_secret(ws, _get(ws, current_user.id))
    uri = signin_svc.provisioning_uri(current_user, secret)
    return render_template("org/security.html", enrolled=False, secret=secret, qr=signin_svc.qr_svg(uri),
                           required=signin_svc.required(current_user))


@bp.post("/me/security")
@login_required
def security_confirm():
    try:
        with db.transaction() as s:
            codes = signin_svc.confirm(s, _get(s, current_user.id), request.form.get("code", ""))
    except HubError as exc:
        flash(exc.message, "error")
        return redirect(url_for("web.org.security_page"))
    flash(_("二次验证已启用"), "success")
    return render_template("org/recovery_codes.html", codes=codes)


@bp.post("/me/security/recovery-codes")
@login_required
def security_new_codes():
    try:
        with db.transaction() as s:
            codes = signin_svc.regenerate_codes(s, _get(s, current_user.id), request.form.get("code", ""))
    except HubError as exc:
        flash(exc.message, "error")
        return redirect(url_for("web.org.security_page"))
    return render_template("org/recovery_codes.html", codes=codes)


# -- the vault, for admins ----------------------------------------------------------------------
@bp.get("/vault")
@login_required
def vault_page():
    from hub.accounts.vault_admin import status

    _admin_only()
    st = status(current_app._get_current_object())  # type: ignore[attr-defined]
    s = db.session()
    keys = {r.version: r for r in s.scalars(select(VaultKey))}
    last_rotation = s.scalar(select(func.max(AuditEntry.at)).where(AuditEntry.action == "vault.rotate_key"))
    current = st["current_version"]
    in_use_since = keys[current].created_at if current in keys else None
    return render_template("org/vault.html", st=st, keys=keys, last_rotation=last_rotation,
                           in_use_since=in_use_since, overdue=accounts_svc.overdue_credentials(s, current_user),
                           max_age=accounts_svc.max_age_days())
