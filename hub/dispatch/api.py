"""REST endpoints of the dispatch area, added to the API blueprint (see hub.api).

    GET  /api/v1/dispatches/<id>          a dispatch with its attempt history
    POST /api/v1/dispatches/<id>/retry    admins: retry a failed dispatch, only once reconciliation
                                          has confirmed the platform holds no publication of it
    GET  /api/v1/platforms                the enabled adapters: label, content limits (for the editor's
                                          per-platform previews) and credential schema
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from hub.api.base import body, user
from hub.api.openapi import contract
from hub.contracts import NoBody
from hub.db import db
from hub.dispatch import manual as manual_svc
from hub.dispatch import service as dispatches_svc
from hub.dispatch.schemas import DispatchOut, ManualIn, PlatformList

bp = Blueprint("dispatch", __name__)
__all__ = ["bp"]


SEEN = {404: "not found or not visible to the caller"}


@bp.get("/dispatches/<int:dispatch_id>")
@contract("A dispatch with its attempt history (attempts_log) and reconciliation state", out=DispatchOut,
          errors=SEEN)
def get_dispatch(dispatch_id: int):
    s = db.session()
    d = dispatches_svc.get_dispatch(s, user(), dispatch_id)
    return jsonify(DispatchOut.model_validate(dispatches_svc.dispatch_json(s, d)).dump())


@bp.post("/dispatches/<int:dispatch_id>/retry")
@contract("Admins: retry a failed dispatch once reconciliation confirmed the platform holds nothing "
          "(409 not_reconciled starts that check)", out=DispatchOut, body=NoBody, body_required=False, errors={
              **SEEN, 403: "not an admin of the account's unit",
              409: "not failed / not reconciled / stale revision", 400: "bad body"})
def retry_dispatch(dispatch_id: int):
    with db.transaction() as s:
        dispatches_svc.retry_dispatch(s, user(), dispatch_id)
        body(optional=True)  # after 404/403/409 (docs/design.md §8's order); a bad body rolls the retry back
    s = db.session()
    d = dispatches_svc.get_dispatch(s, user(), dispatch_id)
    return jsonify(DispatchOut.model_validate(dispatches_svc.dispatch_json(s, d)).dump())


@bp.post("/dispatches/<int:dispatch_id>/manual")
@contract("Editors of the post's unit: record where a manual-publish account's approved dispatch was "
          "published by hand; it becomes published with that URL", out=DispatchOut, body=ManualIn, errors={
              **SEEN, 403: "not an editor of the post's unit",
              409: "not a manual-publish account / not awaiting manual publication (before approval, already "
                   "recorded) / post withdrawn or edited", 400: "bad body", 422: "bad url or time"})
def record_manual(dispatch_id: int):
    with db.transaction() as s:
        manual_svc.record_manual(s, user(), dispatch_id, body())
    s = db.session()
    d = dispatches_svc.get_dispatch(s, user(), dispatch_id)
    return jsonify(DispatchOut.model_validate(dispatches_svc.dispatch_json(s, d)).dump())


@bp.get("/platforms")
@contract("Enabled platforms: label, content limits and credential fields", out=PlatformList)
def list_platforms():
    from adapters.registry import get_adapter, platforms

    user()
    out = []
    for name in platforms():
        cls = get_adapter(name)
        out.append({"platform": name, "label": cls.label, "limits": dict(cls.limits),
                    "credentials": cls.credential_schema()["fields"]})
    return jsonify(PlatformList.model_validate({"platforms": out}).dump())
