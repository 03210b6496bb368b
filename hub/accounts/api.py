"""REST endpoints of the accounts area, added to the API blueprint (see hub.api):
filing (备案) decisions, changes and closure, the register export, credential
rotation / reveal / rollback, overdue credentials and the vault status."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import select

from hub.accounts import filing as filing_svc
from hub.accounts import register as register_svc
from hub.accounts import service as accounts_svc
from hub.accounts import suspension as suspension_svc
from hub.accounts.schemas import (
    AccountCloseIn,
    AccountIn,
    AccountList,
    AccountOut,
    AccountPatch,
    CredentialsIn,
    FilingCommentIn,
    FilingList,
    OverdueList,
    Register,
    RevealIn,
    RevealOut,
    RotateOut,
    VaultStatus,
    VerifyOut,
)
from hub.api.base import body, lenient_body, user
from hub.api.openapi import contract
from hub.approval.schemas import OptionalReasonIn, ReasonIn
from hub.contracts import NoBody
from hub.db import db
from hub.errors import BadRequest, Forbidden
from hub.models import Account, Filing, User
from hub.times import iso

bp = Blueprint("accounts", __name__)
__all__ = ["bp"]


SEEN = {404: "not found or not visible to the caller"}
ADMIN = {**SEEN, 403: "not an admin"}
SUPERVISOR = {**SEEN, 403: "not an admin or supervisor over the account's unit"}


def account_json(a: Account, viewer: User) -> dict[str, Any]:
    """An account; its filing (备案) data too when ``viewer`` is an admin or supervisor over its unit."""
    return AccountOut.of(a, accounts_svc.credential_status(a), filing_svc.filing_details(a, viewer)).dump()


def _account_out(account_id: int) -> Response:
    s = db.session()
    return jsonify(account_json(accounts_svc.get_account(s, user(), account_id), viewer=user()))


# -- filing ------------------------------------------------------------------------------
@bp.patch("/accounts/<int:account_id>")
@contract("Change an account: api_base at once; filed data by a change filing (a pending account: refiled)",
          out=AccountOut, body=AccountPatch, errors={
              **ADMIN, 409: "closed / main exists", 400: "unknown or bad field", 422: "invalid"})
def patch_account(account_id: int):
    data = body()
    with db.transaction() as s:
        acc = accounts_svc.get_account(s, user(), account_id)
        accounts_svc.update_account(s, user(), acc, data)
    return _account_out(account_id)


@bp.post("/accounts/<int:account_id>/filing/approve")
@contract("Approve the due step of the account's filing (备案), lowest level first", out=AccountOut,
          body=FilingCommentIn, body_required=False, errors={
              **SEEN, 403: "not a supervisor on the path / own filing",
              409: "not in review, out of turn, step taken, already decided", 400: "bad body"})
def approve_filing(account_id: int):
    data = lenient_body()
    with db.transaction() as s:
        acc = accounts_svc.get_account(s, user(), account_id)
        filing_svc.approve(s, user(), acc, data)
    return _account_out(account_id)


@bp.post("/accounts/<int:account_id>/filing/reject")
@contract("Reject the filing at the due step", out=AccountOut, body=ReasonIn, errors={
    **SEEN, 403: "not a supervisor on the path", 409: "not in review / out of turn", 400: "missing reason"})
def reject_filing(account_id: int):
    data = lenient_body()
    with db.transaction() as s:
        acc = accounts_svc.get_account(s, user(), account_id)
        filing_svc.reject(s, user(), acc, data)
    return _account_out(account_id)


@bp.post("/accounts/<int:account_id>/filing/resubmit")
@contract("Submit a rejected opening filing again", out=AccountOut, body=NoBody, body_required=False,
          errors={**ADMIN, 409: "not pending / already in review"})
def resubmit_filing(account_id: int):
    body(optional=True)
    with db.transaction() as s:
        acc = accounts_svc.get_account(s, user(), account_id)
        accounts_svc.resubmit_filing(s, user(), acc)
    return _account_out(account_id)


@bp.get("/accounts/<int:account_id>/filings")
@contract("The account's filings with their steps", out=FilingList, errors=SUPERVISOR)
def list_filings(account_id: int):
    s = db.session()
    acc = accounts_svc.get_account(s, user(), account_id)
    if not filing_svc.filing_details(acc, user()):
        raise Forbidden("只有本单位管理员和主管单位可以查看备案信息", code="not_filing_viewer")
    rows = s.scalars(select(Filing).where(Filing.account_id == acc.id).order_by(Filing.id.desc())).all()
    return jsonify(FilingList.model_validate({"filings": [filing_svc.filing_json(s, f) for f in rows]}).dump())


@bp.post("/accounts/<int:account_id>/close")
@contract("File the closure with its public notice (停更公告)", out=AccountOut, body=AccountCloseIn, errors={
    **ADMIN, 409: "closed", 400: "missing notice"})
def close_account(account_id: int):
    data = body()
    with db.transaction() as s:
        acc = accounts_svc.get_account(s, user(), account_id)
        accounts_svc.close_account(s, user(), acc, data)
    return _account_out(account_id)


# -- suspension ---------------------------------------------------------------------------
@bp.post("/accounts/<int:account_id>/suspend")
@contract("Suspend an active account: {reason}; posts cannot target it, queued dispatches are held",
          out=AccountOut, body=ReasonIn, errors={**SUPERVISOR, 409: "not active", 400: "missing reason"})
def suspend_account(account_id: int):
    data = lenient_body()
    with db.transaction() as s:
        acc = accounts_svc.get_account(s, user(), account_id)
        suspension_svc.suspend_account(s, user(), acc, data)
    return _account_out(account_id)


@bp.post("/accounts/<int:account_id>/resume")
@contract("Resume a suspended account: {reason?}; held dispatches are queued again (released: count)",
          out=AccountOut, body=OptionalReasonIn, body_required=False, errors={
              **SUPERVISOR, 409: "not suspended", 400: "bad body"})
def resume_account(account_id: int):
    data = lenient_body()
    with db.transaction() as s:
        acc = accounts_svc.get_account(s, user(), account_id)
        _acc, due = suspension_svc.resume_account(s, user(), acc, data)
    out = account_json(accounts_svc.get_account(db.session(), user(), account_id), viewer=user())
    out["released"] = len(due)  # held dispatches put back on the queue now
    return jsonify(out)


@bp.get("/accounts/register")
@contract("The account register (备案登记表): json, csv or xlsx", out=Register, errors={
    403: "not an admin or supervisor", 404: "unit outside the caller's subtree", 400: "bad filter"},
    query={"unit": str, "platform": str, "status": str, "format": ("json", "csv", "xlsx")},
    files=("text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
def account_register():
    s = db.session()
    if not register_svc.may_view(s, user()):
        raise Forbidden("只有管理员和主管单位可以查看账号备案登记表", code="not_register_viewer")
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "csv", "xlsx"):
        raise BadRequest("format 必须是 json、csv 或 xlsx", code="invalid_format")
    rows = register_svc.rows(s, register_svc.accounts(
        s, user(), request.args.get("unit") or None, request.args.get("platform") or None,
        request.args.get("status") or None))
    if fmt == "json":
        return jsonify(Register.model_validate({
            "columns": [{"key": k, "label": label} for k, label in register_svc.COLUMNS], "accounts": rows}).dump())
    if fmt == "csv":
        return Response(register_svc.to_csv(rows), mimetype="text/csv",
                        headers={"Content-Disposition": "attachment; filename=account-register.csv"})
    return Response(register_svc.to_xlsx(rows),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": "attachment; filename=account-register.xlsx"})


# -- credentials -------------------------------------------------------------------------
@bp.post("/accounts/<int:account_id>/credentials/<field>/rotate")
@contract("Generate a console password: stored, shown once ({field, password, version})", out=RotateOut,
          body=NoBody, body_required=False, errors={**ADMIN, 409: "closed", 422: "not a password field"})
def rotate_credential(account_id: int, field: str):
    body(optional=True)
    with db.transaction() as s:
        acc = accounts_svc.get_account(s, user(), account_id)
        password = accounts_svc.rotate_password(s, user(), acc, field)
        status = accounts_svc.credential_status(acc)[field]
    resp = jsonify(RotateOut(field=field, password=password, version=status["version"],
                             previous_kept_until=status["previous_kept_until"],
                             message="新密码只显示这一次：请立即在平台上设置，并验证").dump())
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.post("/accounts/<int:account_id>/credentials/<field>/reveal")
@contract("Show a console password once: password re-entry and reason; rate-limited; audited", out=RevealOut,
          body=RevealIn, errors={**SEEN, 403: "not an admin / wrong password / not revealable", 409: "not set",
                                 400: "missing password or reason", 429: "too many reveals"})
def reveal_credential(account_id: int, field: str):
    data = lenient_body()
    with db.transaction() as s:
        acc = accounts_svc.get_account(s, user(), account_id)
        outcome = accounts_svc.reveal_credential(s, user(), acc, field, data)
    if outcome.error is not None:  # the failed attempt is audited (committed) before the error goes out
        raise outcome.error
    resp = jsonify(RevealOut(field=field, value=outcome.value, message="仅显示这一次，已记录审计").dump())
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.post("/accounts/<int:account_id>/credentials/<field>/rollback")
@contract("Restore the previous version (kept for the grace period)", out=AccountOut, body=NoBody,
          body_required=False, errors={**ADMIN, 409: "no previous version"})
def rollback_credential(account_id: int, field: str):
    body(optional=True)
    with db.transaction() as s:
        acc = accounts_svc.get_account(s, user(), account_id)
        accounts_svc.rollback_credential(s, user(), acc, field)
    return _account_out(account_id)


@bp.get("/accounts/credentials/overdue")
@contract("Credentials due for rotation in the caller's units", out=OverdueList)
def overdue_credentials():
    s = db.session()
    rows = accounts_svc.overdue_credentials(s, user())
    return jsonify(OverdueList.model_validate({"max_age_days": accounts_svc.max_age_days(), "credentials": [
        {"account_id": r["account"].id, "account": r["account"].name, "unit": r["account"].unit.code,
         "field": r["field"], "changed_at": iso(r["changed_at"]), "age_days": r["age_days"], "reason": r["reason"]}
        for r in rows]}).dump())


@bp.get("/vault/status")
@contract("Vault key versions and health (admins)", out=VaultStatus, errors={403: "not an admin"})
def vault_status():
    from hub.accounts.vault_admin import status

    u = user()
    if not u.has_role("admin"):
        raise Forbidden("只有管理员可以查看保险库状态", code="not_admin")
    st = status(current_app._get_current_object())  # type: ignore[attr-defined]
    st.pop("source", None)
    return jsonify(VaultStatus.model_validate(st).dump())


# -- accounts ----------------------------------------------------------------------------
@bp.get("/accounts")
@contract("Accounts the caller may see", out=AccountList)
def list_accounts():
    from hub.models import Account
    from hub.permissions import can_see_account

    s = db.session()
    accounts = [a for a in s.scalars(select(Account).order_by(Account.id)).unique()
                if can_see_account(s, user(), a)]
    filing_svc.prefetch_latest(s, accounts)
    creds = accounts_svc.credential_statuses(s, accounts)
    return jsonify({"accounts": [AccountOut.of(a, creds[a.id], filing_svc.filing_details(a, user())).dump()
                                 for a in accounts]})  # AccountList


@bp.post("/accounts")
@contract("Open an account", out=AccountOut, status=201, body=AccountIn, errors={
    403: "not an admin", 409: "main account exists", 400: "bad body", 422: "invalid"})
def create_account():
    with db.transaction() as s:
        acc = accounts_svc.create_account(s, user(), body())
    return jsonify(account_json(acc, viewer=user())), 201


@bp.get("/accounts/<int:account_id>")
@contract("An account (secrets never shown)", out=AccountOut, errors=SEEN)
def get_account(account_id: int):
    s = db.session()
    return jsonify(account_json(accounts_svc.get_account(s, user(), account_id), viewer=user()))


@bp.put("/accounts/<int:account_id>/credentials")
@contract("Write-only, partial credential update; the response never echoes a secret", out=AccountOut,
          body=CredentialsIn, errors={**ADMIN, 400: "unknown field"})
def put_credentials(account_id: int):
    data = body()
    with db.transaction() as s:
        acc = accounts_svc.get_account(s, user(), account_id)
        accounts_svc.set_credentials(s, user(), acc, data)
    return jsonify(account_json(acc, viewer=user()))


@bp.post("/accounts/<int:account_id>/credentials/verify")
@contract("A real call to the platform", out=VerifyOut, body=NoBody, body_required=False, errors=ADMIN)
def verify_credentials(account_id: int):
    body(optional=True)
    with db.transaction() as s:
        acc = accounts_svc.get_account(s, user(), account_id)
        ok, message = accounts_svc.verify_account(s, user(), acc)
    return jsonify(VerifyOut(ok=ok, message=message).dump())


