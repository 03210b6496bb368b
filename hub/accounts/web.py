"""Web pages of the accounts area, added to the web blueprint (see hub.web): the register
with filters and export, account detail with its filing steps, credentials (set / verify /
rotate / reveal / rollback), filings awaiting the supervisor, and overdue credentials."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from hub.accounts import filing as filing_svc
from hub.accounts import oauth as oauth_svc
from hub.accounts import register as register_svc
from hub.accounts import service as accounts_svc
from hub.accounts import suspension as suspension_svc
from hub.db import db
from hub.errors import HubError
from hub.models import Account, Filing, Unit
from hub.permissions import can_see_account, overseen_unit_ids
from hub.web.base import page_csp, run_action

bp = Blueprint("accounts", __name__)

__all__ = ["bp"]

FILED_TEXT = ("host_unit", "operating_unit", "responsible_person", "responsible_phone", "certification_name")


def _account_or_404(account_id: int) -> Account:
    try:
        return accounts_svc.get_account(db.session(), current_user, account_id)
    except HubError:
        abort(404)


def _acc(s: Any, account_id: int) -> Account:
    """The account inside a write transaction (it was checked visible just before)."""
    acc = s.get(Account, account_id)
    if acc is None:
        abort(404)
    return acc


def _filings_due(user: Any) -> list[tuple[Account, Filing]]:
    """Filings in review whose current step this user may take (bounded: see filing.due_for)."""
    return filing_svc.due_for(db.session(), user)


@bp.app_context_processor
def _accounts_globals() -> dict[str, Any]:
    def accounts_panel() -> dict[str, Any]:
        """Dashboard data: overdue credentials, filings awaiting me, vault problem (admins only)."""
        from hub.accounts.vault_admin import problem

        if not current_user.is_authenticated:
            return {}
        s = db.session()
        out: dict[str, Any] = {"overdue": [], "filings": [], "vault_problem": None}
        try:
            out["overdue"] = accounts_svc.overdue_credentials(s, current_user)[:20]
            out["filings"] = _filings_due(current_user)[:20]
            if current_user.has_role("admin"):
                out["vault_problem"] = problem(s, current_app.extensions["hub_vault"])
        except HubError as exc:
            out["vault_problem"] = exc.message
        return out

    return {"accounts_panel": accounts_panel}


# -- register -----------------------------------------------------------------------------
def _register_filters() -> dict[str, str]:
    return {k: (request.args.get(k) or "").strip()[:64] for k in ("unit", "platform", "status")}


@bp.get("/accounts/register")
@login_required
def account_register():
    s = db.session()
    if not register_svc.may_view(s, current_user):
        abort(404)
    filters = _register_filters()
    rows: list[dict[str, Any]] = []
    try:
        rows = register_svc.rows(s, register_svc.accounts(
            s, current_user, filters["unit"] or None, filters["platform"] or None, filters["status"] or None))
    except HubError as exc:
        flash(exc.message, "error")
    units = s.scalars(select(Unit).where(Unit.id.in_(overseen_unit_ids(s, current_user))).order_by(Unit.id)).all()
    return render_template("accounts/register.html", rows=rows, filters=filters, units=units,
                           columns=register_svc.COLUMNS, platforms=register_svc.PLATFORMS,
                           statuses=register_svc.STATUSES)


@bp.get("/accounts/register.<fmt>")
@login_required
def account_register_export(fmt: str):
    s = db.session()
    if fmt not in ("csv", "xlsx") or not register_svc.may_view(s, current_user):
        abort(404)
    filters = _register_filters()
    try:
        rows = register_svc.rows(s, register_svc.accounts(
            s, current_user, filters["unit"] or None, filters["platform"] or None, filters["status"] or None))
    except HubError as exc:
        flash(exc.message, "error")
        return redirect(url_for("web.accounts.account_register"))
    if fmt == "csv":
        return Response(register_svc.to_csv(rows), mimetype="text/csv",
                        headers={"Content-Disposition": "attachment; filename=account-register.csv"})
    return Response(register_svc.to_xlsx(rows),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": "attachment; filename=account-register.xlsx"})


# -- create / edit / close ----------------------------------------------------------------
def _form_account_data() -> dict[str, Any]:
    f = request.form
    data: dict[str, Any] = {k: f.get(k, "") for k in FILED_TEXT}
    data["name"] = f.get("name", "")
    data["launch_date"] = f.get("launch_date", "") or None
    data["ipv6"] = {"yes": True, "no": False}.get(f.get("ipv6", ""))
    data["is_main"] = f.get("is_main", "yes") == "yes"
    data["justification"] = f.get("justification", "")
    return data


def _admin_units() -> list[Unit]:
    s = db.session()
    ids = {g.unit_id for g in current_user.roles if g.role == "admin"}
    from hub.permissions import subtree_ids

    all_ids: set[int] = set()
    for i in ids:
        all_ids |= subtree_ids(s, i)
    return list(s.scalars(select(Unit).where(Unit.id.in_(all_ids or {0})).order_by(Unit.id)))


@bp.route("/accounts/new", methods=["GET", "POST"])
@login_required
def account_new():
    units = _admin_units()
    if not units:
        flash(_("只有管理员可以开设账号"), "error")
        return redirect(url_for("web.accounts.accounts"))
    from hub.i18n_marks import PLATFORM_NEEDS

    values: dict[str, Any] = {"is_main": True, "unit": units[0].code, "platform": "wechat"}
    if request.method == "POST":
        values = _form_account_data()
        values["unit"] = request.form.get("unit", "")
        values["platform"] = request.form.get("platform", "")
        if values["platform"] == "manual":
            values["platform_name"] = request.form.get("platform_name", "")
        values["api_base"] = request.form.get("api_base", "").strip() or None
        acc = run_action(lambda s: accounts_svc.create_account(s, current_user, values),
                   _("账号已登记，开设备案已提交，待主管单位逐级审批"))
        if acc is not None:
            return redirect(url_for("web.accounts.account_page", account_id=acc.id))
    return render_template("accounts/form.html", account=None, values=values, units=units,
                           platforms=list(PLATFORM_NEEDS), needs=PLATFORM_NEEDS)


@bp.route("/accounts/<int:account_id>/edit", methods=["GET", "POST"])
@login_required
def account_edit(account_id: int):
    acc = _account_or_404(account_id)
    values: dict[str, Any] = dict(filing_svc.snapshot_of(acc), api_base=acc.api_base)
    if request.method == "POST":
        values = _form_account_data()
        values["api_base"] = request.form.get("api_base", "").strip() or acc.api_base
        msg = _("已提交变更备案，审批通过后生效") if acc.status != "pending" else _("已保存并重新提交开设备案")
        if run_action(lambda s: accounts_svc.update_account(s, current_user, _acc(s, account_id), values), msg):
            return redirect(url_for("web.accounts.account_page", account_id=account_id))
    return render_template("accounts/form.html", account=acc, values=values, units=[], platforms=[], needs={})


@bp.post("/accounts/<int:account_id>/close")
@login_required
def account_close(account_id: int):
    _account_or_404(account_id)
    data = {"notice_text": request.form.get("notice_text", ""), "notice_date": request.form.get("notice_date", ""),
            "reason": request.form.get("reason", "")}
    run_action(lambda s: accounts_svc.close_account(s, current_user, _acc(s, account_id), data),
         _("已提交关闭备案（停更公告已记录），待主管单位审批"))
    return redirect(url_for("web.accounts.account_page", account_id=account_id))


# -- detail and filing decisions -----------------------------------------------------------
@bp.get("/accounts/<int:account_id>")
@login_required
def account_page(account_id: int):
    s = db.session()
    acc = _account_or_404(account_id)
    details = filing_svc.filing_details(acc, current_user)
    is_admin = accounts_svc.is_admin_of(s, current_user, acc.unit_id)
    filing = filing_svc.open_filing(s, acc)
    can_decide = filing is not None and filing_svc.may_take(current_user, filing, filing_svc.staffed_units(s))
    history = s.scalars(select(Filing).where(Filing.account_id == acc.id).order_by(Filing.id.desc())).all() \
        if details else []
    from hub.accounts.vault_admin import problem

    vault_problem = problem(s, current_app.extensions["hub_vault"]) if is_admin else None
    from hub.metrics.service import account_figures

    page = render_template("accounts/detail.html", account=acc, details=details, is_admin=is_admin,
                           figures=account_figures(s, acc) if acc.status != "pending" else None,
                           can_decide=can_decide, creds=accounts_svc.credential_status(acc) if is_admin else {},
                           history=[filing_svc.filing_json(s, f) for f in history],
                           grace_days=accounts_svc.grace_days(), kind_labels=filing_svc.KIND_LABELS,
                           vault_problem=vault_problem,
                           filing_status_labels=filing_svc.STATUS_LABELS,
                           can_suspend=suspension_svc.may_suspend(s, current_user, acc),
                           suspension=suspension_svc.last_suspension(s, acc),
                           oauth={"alert": oauth_svc.reauthorisation(s, acc), "authorised": oauth_svc.is_authorised(acc)}
                           if oauth_svc.is_oauth(acc) else None)
    resp = make_response(page)
    origin = oauth_svc.authorize_origin(acc) if is_admin else ""
    if origin:  # 授权 posts here and is redirected to the platform's page: the policy must let that form go there
        resp.headers["Content-Security-Policy"] = page_csp([origin])
    return resp


@bp.post("/accounts/<int:account_id>/suspend")
@login_required
def account_suspend(account_id: int):
    _account_or_404(account_id)
    data = {"reason": request.form.get("reason", "")}
    run_action(lambda s: suspension_svc.suspend_account(s, current_user, _acc(s, account_id), data),
         _("账号已暂停：不能再作为发布目标，已排队的发布任务暂缓执行"))
    return redirect(url_for("web.accounts.account_page", account_id=account_id))


@bp.post("/accounts/<int:account_id>/resume")
@login_required
def account_resume(account_id: int):
    _account_or_404(account_id)
    data = {"reason": request.form.get("reason", "")}
    run_action(lambda s: suspension_svc.resume_account(s, current_user, _acc(s, account_id), data),
               _("账号已恢复启用，暂缓的发布任务将继续执行"))
    return redirect(url_for("web.accounts.account_page", account_id=account_id))


@bp.post("/accounts/<int:account_id>/filing/approve")
@login_required
def account_filing_approve(account_id: int):
    _account_or_404(account_id)
    comment = request.form.get("comment", "")
    run_action(lambda s: filing_svc.approve(s, current_user, _acc(s, account_id), {"comment": comment}),
         _("已通过本级备案审批"))
    return redirect(url_for("web.accounts.account_page", account_id=account_id))


@bp.post("/accounts/<int:account_id>/filing/reject")
@login_required
def account_filing_reject(account_id: int):
    _account_or_404(account_id)
    reason = request.form.get("reason", "")
    run_action(lambda s: filing_svc.reject(s, current_user, _acc(s, account_id), {"reason": reason}),
         _("已退回备案"))
    return redirect(url_for("web.accounts.account_page", account_id=account_id))


@bp.post("/accounts/<int:account_id>/filing/resubmit")
@login_required
def account_filing_resubmit(account_id: int):
    _account_or_404(account_id)
    run_action(lambda s: accounts_svc.resubmit_filing(s, current_user, _acc(s, account_id)),
         _("已重新提交开设备案"))
    return redirect(url_for("web.accounts.account_page", account_id=account_id))


@bp.get("/accounts/filings")
@login_required
def account_filings():
    return render_template("accounts/filings.html", due=_filings_due(current_user),
                           kind_labels=filing_svc.KIND_LABELS)


# -- credentials --------------------------------------------------------------------------
@bp.post("/accounts/<int:account_id>/credentials")
@login_required
def account_credentials_set(account_id: int):
    acc = _account_or_404(account_id)
    names = [f for f in accounts_svc.credential_status(acc)]
    data = {k: request.form.get(f"cred_{k}", "") for k in names if request.form.get(f"cred_{k}", "").strip()}
    if not data:
        flash(_("请至少填写一个凭据字段"), "error")
    else:
        run_action(lambda s: accounts_svc.set_credentials(s, current_user, _acc(s, account_id), data),
             _("凭据已加密保存"))
    return redirect(url_for("web.accounts.account_page", account_id=account_id))


@bp.post("/accounts/<int:account_id>/verify")
@login_required
def account_verify(account_id: int):
    _account_or_404(account_id)
    try:
        with db.transaction() as s:
            ok, message = accounts_svc.verify_account(s, current_user, _acc(s, account_id))
        flash((_("验证成功：") if ok else _("验证失败：")) + message, "success" if ok else "error")
    except HubError as exc:
        flash(exc.message, "error")
    return redirect(url_for("web.accounts.account_page", account_id=account_id))


def _secret_page(acc: Account, field: str, value: str, title: str) -> Response:
    resp = Response(render_template("accounts/secret.html", account=acc, field=accounts_svc.credential_label(
        acc.platform, field), value=value, title=title))
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.post("/accounts/<int:account_id>/credentials/<field>/rotate")
@login_required
def account_credential_rotate(account_id: int, field: str):
    acc = _account_or_404(account_id)
    password = run_action(lambda s: accounts_svc.rotate_password(s, current_user, _acc(s, account_id), field),
                    _("已生成新密码：请立即在平台上设置"))
    if password is None:
        return redirect(url_for("web.accounts.account_page", account_id=account_id))
    return _secret_page(acc, field, password, _("新密码（只显示这一次）"))


@bp.post("/accounts/<int:account_id>/credentials/<field>/reveal")
@login_required
def account_credential_reveal(account_id: int, field: str):
    acc = _account_or_404(account_id)
    data = {"password": request.form.get("password", ""), "reason": request.form.get("reason", "")}
    try:
        with db.transaction() as s:
            outcome = accounts_svc.reveal_credential(s, current_user, _acc(s, account_id), field, data)
    except HubError as exc:
        flash(exc.message, "error")
        return redirect(url_for("web.accounts.account_page", account_id=account_id))
    if outcome.error is not None or outcome.value is None:
        flash(outcome.error.message if outcome.error else _("未能显示"), "error")
        return redirect(url_for("web.accounts.account_page", account_id=account_id))
    return _secret_page(acc, field, outcome.value, _("密码（只显示这一次，已记录审计）"))


@bp.post("/accounts/<int:account_id>/credentials/<field>/rollback")
@login_required
def account_credential_rollback(account_id: int, field: str):
    _account_or_404(account_id)
    run_action(lambda s: accounts_svc.rollback_credential(s, current_user, _acc(s, account_id), field),
         _("已回滚到旧版本"))
    return redirect(url_for("web.accounts.account_page", account_id=account_id))


# -- OAuth authorisation (抖音, 快手) --------------------------------------------------------
def _oauth_redirect_uri() -> str:
    """The one callback address registered with the platform's application (the account is in the state)."""
    return url_for("web.accounts.account_oauth_callback", _external=True)


@bp.post("/accounts/<int:account_id>/oauth")
@login_required
def account_oauth_start(account_id: int):
    _account_or_404(account_id)
    try:
        with db.transaction() as s:
            url = oauth_svc.start(s, current_user, _acc(s, account_id), _oauth_redirect_uri())
    except HubError as exc:
        flash(exc.message, "error")
        return redirect(url_for("web.accounts.account_page", account_id=account_id))
    return redirect(url, code=303)


@bp.get("/accounts/oauth/callback")
@login_required
def account_oauth_callback():
    account_id: int | None = None
    try:
        with db.transaction() as s:
            acc = oauth_svc.account_of_state(s, current_user, request.args.get("state", ""))
            account_id = acc.id
            oauth_svc.finish(s, current_user, acc, request.args.get("code", ""), _oauth_redirect_uri())
        flash(_("授权成功：令牌已加密保存"), "success")
    except HubError as exc:
        flash(exc.message, "error")
    if account_id is None:
        return redirect(url_for("web.accounts.accounts"))
    return redirect(url_for("web.accounts.account_page", account_id=account_id))


@bp.get("/accounts/credentials/overdue")
@login_required
def account_overdue():
    s = db.session()
    return render_template("accounts/overdue.html", rows=accounts_svc.overdue_credentials(s, current_user),
                           max_age=accounts_svc.max_age_days())


# -- accounts -----------------------------------------------------------------------------
@bp.get("/accounts")
@login_required
def accounts():
    from hub.accounts.service import credential_statuses

    s = db.session()
    rows = [a for a in s.scalars(select(Account).order_by(Account.unit_id, Account.id)).unique()
            if can_see_account(s, current_user, a)]
    show_creds = credential_statuses(s, rows) if current_user.has_role("admin") else {}
    return render_template("accounts/list.html", accounts=rows, creds=show_creds)

