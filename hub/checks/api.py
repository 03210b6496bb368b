"""REST endpoints of the content-check area, added to the API blueprint (see hub.api).

* ``POST /posts/<id>/findings/<fid>/override {reason, revision_hash?}`` — accept one blocking
  finding of the current revision (reviewer or admin of the post's unit, not a contributor).
* ``GET /lexicon`` (``category``, ``q``, ``page``), ``POST /lexicon/entries``,
  ``POST /lexicon/entries/<id>/disable {reason?}``, ``POST /lexicon/disables {unit, rule, reason}``,
  ``POST /lexicon/disables/<id>/lift``, ``GET /lexicon/export`` (CSV; ``unit``, ``shared``),
  ``POST /lexicon/import?unit=CODE`` (a CSV body) — lexicon management for admins.
* ``GET /scans``, ``POST /scans`` (start a re-scan now), ``GET /scans/<id>`` (``new=1``),
  ``GET /inspection-alerts``, ``POST /inspection-alerts/<id>/ack`` — the daily re-scan of published
  content (每日复查). ``/inspections`` is the quarterly inspection (巡检) of hub/oversight since
  issue 15; ``/check-alerts`` and ``/check-alerts/<id>/ack`` stay as aliases of the alert paths
  (same views, deprecated in the OpenAPI document).

``POST /checks`` stays exactly as docs/design.md §6.2 gives it.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from hub.api.base import body, lenient_body, user
from hub.api.openapi import Contract, contract
from hub.api.validation import body_as
from hub.approval.schemas import OptionalReasonIn
from hub.checks import inspections as inspection_svc
from hub.checks import lexicon as lexicon_svc
from hub.checks import service as checks_svc
from hub.checks.schemas import (
    ChecksIn,
    ChecksOut,
    FindingOverrideOut,
    ImportResult,
    InspectionAlertOut,
    InspectionAlerts,
    InspectionRunDetail,
    InspectionRunOut,
    InspectionRuns,
    LexiconCsv,
    LexiconEntryIn,
    LexiconRecord,
    LexiconView,
    OverrideIn,
    RuleDisableIn,
)
from hub.checks.service import run_checks
from hub.contracts import NoBody
from hub.db import db
from hub.errors import BadRequest

bp = Blueprint("checks", __name__)
__all__ = ["bp"]

SEEN = {404: "not found or not visible to the caller"}
ADMIN = {**SEEN, 403: "not an admin of the unit", 409: "duplicate / already done", 400: "bad body",
         422: "invalid entry"}
UNIT = {"unit": str}


# -- overrides ----------------------------------------------------------------------------
@bp.post("/posts/<int:post_id>/findings/<fid>/override")
@contract("Override one blocking finding of the current revision {reason, revision_hash?}", out=FindingOverrideOut,
          body=OverrideIn, errors={**SEEN, 403: "not a reviewer/admin of the unit, or a contributor",
                                   409: "post state, stale revision, already overridden", 400: "missing reason",
                                   422: "the finding does not block"})
def override_finding(post_id: int, fid: str):
    data = lenient_body()
    with db.transaction() as s:
        finding = checks_svc.override_finding(s, user(), post_id, fid[:64], data)
    return jsonify(FindingOverrideOut.model_validate(finding).dump())


# -- lexicon ------------------------------------------------------------------------------
def _page() -> int:
    raw = request.args.get("page", "1")
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < int(raw) < 100_000 else 1


@bp.get("/lexicon")
@contract("The shared lexicon (paged), unit additions, disabled rules and versions", out=LexiconView,
          errors={403: "not an admin or supervisor"}, query={"category": str, "q": str, "page": int})
def lexicon():
    s = db.session()
    view = lexicon_svc.browse(s, user(), category=request.args.get("category", ""), q=request.args.get("q", ""),
                              page=_page())
    return jsonify(LexiconView.model_validate({"version": view["version"], "page": view["page"], "pages": view["pages"],
                    "shared_total": view["shared_total"],
                    "shared": [lexicon_svc.shared_json(e) for e in view["shared"]],
                    "additions": [lexicon_svc.entry_json(e) for e in view["additions"]],
                    "disables": [lexicon_svc.disable_json(d) for d in view["disables"]],
                    "versions": [lexicon_svc.version_json(v) for v in view["versions"]]}).dump())


@bp.post("/lexicon/entries")
@contract("Add an entry for a unit", out=LexiconRecord, status=201, body=LexiconEntryIn, errors=ADMIN)
def lexicon_add():
    data = body()
    with db.transaction() as s:
        entry = lexicon_svc.add_entry(s, user(), data)
        out = lexicon_svc.entry_json(entry)
    return jsonify(LexiconRecord.model_validate(out).dump()), 201


@bp.post("/lexicon/entries/<int:entry_id>/disable")
@contract("Disable a unit's entry {reason?}", out=LexiconRecord, body=OptionalReasonIn, body_required=False,
          errors=ADMIN)
def lexicon_disable(entry_id: int):
    data = lenient_body()
    with db.transaction() as s:
        entry = lexicon_svc.disable_entry(s, user(), entry_id, data)
        out = lexicon_svc.entry_json(entry)
    return jsonify(LexiconRecord.model_validate(out).dump())


@bp.post("/lexicon/disables")
@contract("Switch a shared rule off for a unit {unit, rule, reason}", out=LexiconRecord, status=201,
          body=RuleDisableIn, errors=ADMIN)
def lexicon_disable_rule():
    data = body()
    with db.transaction() as s:
        d = lexicon_svc.disable_rule(s, user(), data)
        out = lexicon_svc.disable_json(d)
    return jsonify(LexiconRecord.model_validate(out).dump()), 201


@bp.post("/lexicon/disables/<int:disable_id>/lift")
@contract("Switch a disabled shared rule back on", out=LexiconRecord, body=NoBody, body_required=False,
          errors=ADMIN)
def lexicon_lift(disable_id: int):
    body(optional=True)
    with db.transaction() as s:
        d = lexicon_svc.lift_disable(s, user(), disable_id)
        out = lexicon_svc.disable_json(d)
    return jsonify(LexiconRecord.model_validate(out).dump())


@bp.get("/lexicon/export")
@contract("CSV of the unit additions (shared=1: and the shared lexicon)", out=None, files=("text/csv",),
          errors={**SEEN, 403: "not an admin or supervisor of the unit"}, query={**UNIT, "shared": str})
def lexicon_export():
    text = lexicon_svc.export_csv(db.session(), user(), request.args.get("unit") or None,
                                  shared=request.args.get("shared") in ("1", "true"))
    return Response(text, mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=lexicon.csv"})


@bp.post("/lexicon/import")
@contract("Import a CSV body into a unit (all or nothing)", out=ImportResult, body=LexiconCsv, body_media="text/csv", errors=ADMIN,
          query=UNIT)
def lexicon_import():
    raw = request.get_data(cache=True)
    with db.transaction() as s:
        result = lexicon_svc.import_csv(s, user(), request.args.get("unit"), raw)
    return jsonify(ImportResult.model_validate(result).dump())


# -- inspections (巡检) ---------------------------------------------------------------------
@bp.get("/scans")
@contract("Daily re-scan (每日复查) runs", out=InspectionRuns, errors={403: "forbidden"})
def inspections():
    runs = inspection_svc.list_runs(db.session(), user())
    return jsonify(InspectionRuns.model_validate({"runs": [inspection_svc.run_json(r) for r in runs]}).dump())


@bp.post("/scans")
@contract("Start a re-scan of published content now", out=InspectionRunOut, status=202, body=NoBody, body_required=False,
          errors={403: "not an admin", 409: "one is running"})
def start_inspection():
    body(optional=True)
    with db.transaction() as s:
        run_id = inspection_svc.start_run(s, user(), current_app).id
    run = inspection_svc.get_run(db.session(), user(), run_id)
    return jsonify(InspectionRunOut.model_validate(inspection_svc.run_json(run)).dump()), 202


@bp.get("/scans/<int:run_id>")
@contract("A run with its findings (new=1: only new ones)", out=InspectionRunDetail,
          errors={**SEEN, 403: "not an admin or supervisor"},
          query={"new": str})
def inspection(run_id: int):
    s = db.session()
    run = inspection_svc.get_run(s, user(), run_id)
    rows = inspection_svc.run_findings(s, user(), run, only_new=request.args.get("new") in ("1", "true"))
    return jsonify(InspectionRunDetail.model_validate(
        {**inspection_svc.run_json(run), "findings": [inspection_svc.finding_json(f) for f in rows]}).dump())


@bp.get("/inspection-alerts")
@contract("Unhandled inspection alerts for the caller's units (all=1: handled too)", out=InspectionAlerts,
          query={"all": str})
def inspection_alerts():
    rows = inspection_svc.alerts_for(db.session(), user(), include_acknowledged=request.args.get("all") == "1")
    return jsonify(InspectionAlerts.model_validate({"alerts": [inspection_svc.alert_json(a) for a in rows]}).dump())


@bp.post("/inspection-alerts/<int:alert_id>/ack")
@contract("Mark an alert as handled", out=InspectionAlertOut, body=NoBody, body_required=False, errors=ADMIN)
def ack_inspection_alert(alert_id: int):
    body(optional=True)
    with db.transaction() as s:
        alert = inspection_svc.acknowledge(s, user(), alert_id)
        out = inspection_svc.alert_json(alert)
    return jsonify(InspectionAlertOut.model_validate(out).dump())


def _alias(rule: str, view: Callable[..., Any], method: str, canonical: str) -> None:
    """Serve ``view`` at ``rule`` too: an old path that other clients still call. Same code, same
    answers; its OpenAPI operation is the canonical one's, marked deprecated."""

    @functools.wraps(view)
    def legacy(**kwargs: Any) -> Any:
        return view(**kwargs)

    c: Contract = view.__contract__  # type: ignore[attr-defined]
    legacy.__contract__ = dataclasses.replace(  # type: ignore[attr-defined]
        c, summary=f"{c.summary} (deprecated: use {canonical})", deprecated=True)
    bp.add_url_rule(rule, endpoint=f"legacy_{view.__name__}", view_func=legacy, methods=[method])


# The alert paths before they were renamed (the run paths are /scans again: /inspections is the
# quarterly inspection of hub/oversight).
for _rule, _view, _method, _canonical in (
        ("/check-alerts", inspection_alerts, "GET", "/inspection-alerts"),
        ("/check-alerts/<int:alert_id>/ack", ack_inspection_alert, "POST", "/inspection-alerts/{id}/ack")):
    _alias(_rule, _view, _method, _canonical)


# -- checks ------------------------------------------------------------------------------
@bp.post("/checks")
@contract("Run the content checks on text or HTML", out=ChecksOut, body=ChecksIn, errors={400: "bad body"})
def checks():
    data = body_as(ChecksIn, {"content": BadRequest("缺少 content（文本或 HTML）", code="missing_content")})
    return jsonify(ChecksOut.model_validate({"findings": run_checks(data.content)}).dump())


