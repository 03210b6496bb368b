"""REST endpoints of the audit area, added to the API blueprint (see hub.api).

``GET /audit`` lists entries with every hashed field plus ``prev_hash`` and
``hash`` so that a client can verify the range it fetched
(docs/verify_export.py); ``GET /audit/verify`` verifies the whole trail
against the witness and the signed checkpoints.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from hub import audit
from hub.api.base import user
from hub.api.openapi import contract
from hub.audit import search as audit_search
from hub.audit.schemas import (
    AuditPage,
    AuditVerifyOut,
    WitnessCheckpointIn,
    WitnessCheckpointList,
    WitnessCheckpointOut,
)
from hub.db import db

bp = Blueprint("audit", __name__)
__all__ = ["bp"]


@bp.get("/audit")
@contract("Audit entries of the caller's unit subtree", out=AuditPage, errors={
    403: "not an admin or supervisor", 400: "bad paging"}, query={
        "after": int, "limit": int, "actor": str, "action": str, "object_type": str, "object_id": str,
        "unit": str, "from": str, "to": str})
def audit_list():
    """Entries of the caller's unit subtree after ``after``, at most ``limit`` (≤ 1000), oldest first."""
    s = db.session()
    scope = audit_search.scope_for(s, user())
    after, limit = audit_search.parse_paging(request.args)
    flt = audit_search.parse_filter(request.args)
    rows, more = audit_search.page(s, scope, flt, after=after or 0, limit=limit)
    return jsonify(AuditPage.model_validate({"entries": [audit.entry_to_dict(e, with_chain=True) for e in rows],
                                             "next_after": int(rows[-1].seq) if more and rows else None}).dump())


@bp.get("/audit/verify")
@contract("Verify the audit chain", out=AuditVerifyOut, errors={403: "not an admin or supervisor"})
def audit_verify():
    """Verify the whole trail: {ok, entries, head, witness, warnings[, first_bad_seq, reason]}."""
    s = db.session()
    if not audit_search.is_auditor(user()):
        from hub.errors import Forbidden

        raise Forbidden("只有管理员和主管单位可以校验审计日志", code="not_auditor")
    return jsonify(AuditVerifyOut.model_validate(audit.verify(s, current_app.extensions.get("hub_witness")).to_dict())
                   .dump())


# -- the witness for other hubs (hub.audit.remote) ------------------------------------------
@bp.post("/witness/checkpoints")
@contract("Receive a signed audit checkpoint from a hub that named this hub as its witness",
          out=WitnessCheckpointOut, status=201, body=WitnessCheckpointIn, errors={
    403: "not a witness user", 400: "bad checkpoint or signature", 409: "contradicts an earlier checkpoint"})
def witness_receive():
    """Verify the checkpoint's Ed25519 signature against ``public_key`` and keep it (append-only)."""
    from hub.api.base import body
    from hub.audit import remote

    row, created = remote.receive(db.session(), body(), user())
    return jsonify({"stored": created, **remote.to_dict(row)}), 201


@bp.get("/witness/checkpoints")
@contract("The checkpoints received from one hub (by its key fingerprint)", out=WitnessCheckpointList, errors={
    403: "not a witness user or supervisor", 400: "bad key"}, query={"key": str})
def witness_list():
    """``{checkpoints: [{checkpoint, sig, public_key}]}``, oldest first."""
    from hub.audit import remote

    return jsonify({"checkpoints": remote.listing(db.session(), request.args.get("key", ""), user())})
