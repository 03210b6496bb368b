"""REST endpoints of the accounts area, added to the API blueprint (see hub.api):
filing (备案) decisions, changes and closure, the register export, credential
rotation / reveal / rollback, overdue credentials and the vault status."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import select

from hub.accounts import filing as filing_svc
from hub.accounts import register as register_svc
from hub.accounts import service as accounts_svc
from hub.accounts import suspension as suspension_svc
from hub.api.base import body, user
from hub.db import db
from hub.errors import BadRequest, Forbidden
from hub.models import Filing
from hub.serializers import account_json, iso

bp = Blueprint("accounts", __name__)
__all__ = ["bp"]


def _lenient() -> Any:
    """The body parsed, {} when empty, None when not JSON: the service decides after its state checks."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None


def _account_out(account_id: int) -> Response:
    s = db.session()
    return jsonify(account_json(accounts_svc.get_account(s, user(), account_id), viewer=user()))


# -- filing ------------------------------------------------------------------------------
@bp.patch("/accounts/<int:account_id>")
def patch_account(account_id: int):  # type: ignore[no-untyped-def]
    data = body()
    with db.transaction() as s:
        acc = accounts_svc.get_account(s, user(), account_id)
        accounts_svc.update_account(s, user(), acc, data)
    return _account_out(account_id)


@bp.post("/accounts/<int:account_id>/filing/approve")
def approve_filing(account_id: int):  # type: ignore[no-untyped-def]
    data = _lenient()
    with db.transaction() as s:
        acc = accounts_svc.get_account(s, user(), account_id)
        filing_svc.approve(s, user(), acc, data)
    return _account_out(account_id)


@bp.post("/accounts/<int:account_id>/filing/reject")
def reject_filing(account_id: int):  # type: ignore[no-untyped-def]
    data = _lenient()
    with db.transaction() as s:
        acc = accounts_svc.get_account(s, user(), account_id)
        filing_svc.reject(s, user(), acc, data)
    return _account_out(account_id)


@bp.post("/accounts/<int:account_id>/filing/resubmit")
def resubmit_filing(account_id: int):  # type: ignore[no-untyped-def]
    body(optional=True)
    with db.transaction() as s:
        acc = accounts_svc.get_account(s, user(), account_id)
        accounts_svc.resubmit_filing(s, user(), acc)
    return _account_out(account_id)


@bp.get("/accounts/<int:account_id>/filings")
def list_filings(account_id: int):  # type: ignore[no-untyped-def]
    s = db.session()
    acc = accounts_svc.get_account(s, user(), account_id)
    if not filing_svc.filing_details(acc, user()):
        raise Forbidden("只有本单位管理员和主管单位可以查看备案信息", code="not_filing_viewer")
    rows = s.scalars(select(Filing).where(Filing.account_id == acc.id).order_by(Filing.id.desc())).all()
    return jsonify({"filings": [filing_svc.filing_json(s, f) for f in rows]})


@bp.post("/accounts/<int:account_id>/close")
def close_account(account_id: int):  # type: ignore[no-untyped-def]
    data = body()
    with db.transaction() as s:
        acc = accounts_svc.get_account(s, user(), account_id)
        accounts_svc.close_account(s, user(), acc, data)
    return _account_out(account_id)


# -- suspension ---------------------------------------------------------------------------
@bp.post("/accounts/<int:account_id>/suspend")
def suspend_account(account_id: int):  # type: ignore[no-untyped-def]
    data = _lenient()
    with db.transaction() as s:
        acc = accounts_svc.get_account(s, user(), account_id)
        suspension_svc.suspend_account(s, user(), acc, data)
    return _account_out(account_id)


@bp.post("/accounts/<int:account_id>/resume")
def resume_account(account_id: int):  # type: ignore[no-untyped-def]
    from hub.dispatch.jobs.publish import enqueue_dispatches

    data = _lenient()
    with db.transaction() as s:
        acc = accounts_svc.get_account(s, user(), account_id)
        _acc, due = suspension_svc.resume_account(s, user(), acc, data)
    enqueue_dispatches(current_app.config, due)
    out = account_json(accounts_svc.get_account(db.session(), user(), account_id), viewer=user())
    out["released"] = len(due)  # held dispatches put back on the queue now
    return jsonify(out)


@bp.get("/accounts/register")
def account_register():  # type: ignore[no-untyped-def]
    s = db.session()
    if not register_svc.may_view(s, user()):
        raise Forbidden("只有管理员和主管单位可以查看账号备案登记表", code="not_register_viewer")
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "csv", "xlsx"):
        raise BadRequest("format 必须是 json、csv 或 xlsx", code="invalid_format")
    rows = [register_svc.row(s, a) for a in register_svc.accounts(
        s, user(), request.args.get("unit") or None, request.args.get("platform") or None,
        request.args.get("status") or None)]
    if fmt == "json":
        return jsonify({"columns": [{"key": k, "label": label} for k, label in register_svc.COLUMNS],
                        "accounts": rows})
    if fmt == "csv":
        return Response(register_svc.to_csv(rows), mimetype="text/csv; charset=utf-8",
                        headers={"Content-Disposition": "attachment; filename=account-register.csv"})
    return Response(register_svc.to_xlsx(rows),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": "attachment; filename=account-register.xlsx"})


# -- credentials -------------------------------------------------------------------------
@bp.post("/accounts/<int:account_id>/credentials/<field>/rotate")
def rotate_credential(account_id: int, field: str):  # type: ignore[no-untyped-def]
    body(optional=True)
    with db.transaction() as s:
        acc = accounts_svc.get_account(s, user(), account_id)
        password = accounts_svc.rotate_password(s, user(), acc, field)
        status = accounts_svc.credential_status(acc)[field]
    resp = jsonify({"field": field, "password": password, "version": status["version"],
                    "previous_kept_until": status["previous_kept_until"],
                    "message": "新密码只显示这一次：请立即在平台上设置，并验证"})
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.post("/accounts/<int:account_id>/credentials/<field>/reveal")
def reveal_credential(account_id: int, field: str):  # type: ignore[no-untyped-def]
    data = _lenient()
    with db.transaction() as s:
        acc = accounts_svc.get_account(s, user(), account_id)
        outcome = accounts_svc.reveal_credential(s, user(), acc, field, data)
    if outcome.error is not None:  # the failed attempt is audited (committed) before the error goes out
        raise outcome.error
    resp = jsonify({"field": field, "value": outcome.value, "message": "仅显示这一次，已记录审计"})
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.post("/accounts/<int:account_id>/credentials/<field>/rollback")
def rollback_credential(account_id: int, field: str):  # type: ignore[no-untyped-def]
    body(optional=True)
    with db.transaction() as s:
        acc = accounts_svc.get_account(s, user(), account_id)
        accounts_svc.rollback_credential(s, user(), acc, field)
    return _account_out(account_id)


@bp.get("/accounts/credentials/overdue")
def overdue_credentials():  # type: ignore[no-untyped-def]
    s = db.session()
    rows = accounts_svc.overdue_credentials(s, user())
    return jsonify({"max_age_days": accounts_svc.max_age_days(), "credentials": [
        {"account_id": r["account"].id, "account": r["account"].name, "unit": r["account"].unit.code,
         "field": r["field"], "changed_at": iso(r["changed_at"]), "age_days": r["age_days"], "reason": r["reason"]}
        for r in rows]})


@bp.get("/vault/status")
def vault_status():  # type: ignore[no-untyped-def]
    from hub.accounts.vault_admin import status

    u = user()
    if not u.has_role("admin"):
        raise Forbidden("只有管理员可以查看保险库状态", code="not_admin")
    st = status(current_app._get_current_object())  # type: ignore[attr-defined]
    st.pop("source", None)
    return jsonify(st)


# -- accounts ----------------------------------------------------------------------------
@bp.get("/accounts")
def list_accounts():  # type: ignore[no-untyped-def]
    from hub.models import Account
    from hub.permissions import can_see_account

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


