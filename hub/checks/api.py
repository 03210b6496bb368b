"""REST endpoints of the content-check area, added to the API blueprint (see hub.api).

* ``POST /posts/<id>/findings/<fid>/override {reason, revision_hash?}`` — accept one blocking
  finding of the current revision (reviewer or admin of the post's unit, not a contributor).
* ``GET /lexicon`` (``category``, ``q``, ``page``), ``POST /lexicon/entries``,
  ``POST /lexicon/entries/<id>/disable {reason?}``, ``POST /lexicon/disables {unit, rule, reason}``,
  ``POST /lexicon/disables/<id>/lift``, ``GET /lexicon/export`` (CSV; ``unit``, ``shared``),
  ``POST /lexicon/import?unit=CODE`` (a CSV body) — lexicon management for admins.
* ``GET /scans``, ``POST /scans`` (start a re-scan now), ``GET /scans/<id>`` (``new=1``),
  ``GET /check-alerts``, ``POST /check-alerts/<id>/ack`` — the 巡检.

``POST /checks`` stays in hub/api.py exactly as DESIGN gives it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from hub.api.base import body, lenient_body, user
from hub.checks import inspections as inspection_svc
from hub.checks import lexicon as lexicon_svc
from hub.checks import service as checks_svc
from hub.checks.service import run_checks
from hub.db import db
from hub.errors import BadRequest

bp = Blueprint("checks", __name__)
__all__ = ["bp"]


# -- overrides ----------------------------------------------------------------------------
@bp.post("/posts/<int:post_id>/findings/<fid>/override")
def override_finding(post_id: int, fid: str):  # type: ignore[no-untyped-def]
    data = lenient_body()
    with db.transaction() as s:
        finding = checks_svc.override_finding(s, user(), post_id, fid[:64], data)
    return jsonify(finding)


# -- lexicon ------------------------------------------------------------------------------
def _page() -> int:
    raw = request.args.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 100_000 else 1


@bp.get("/lexicon")
def lexicon():  # type: ignore[no-untyped-def]
    s = db.session()
    view = lexicon_svc.browse(s, user(), category=request.args.get("category", ""), q=request.args.get("q", ""),
                              page=_page())
    return jsonify({"version": view["version"], "page": view["page"], "pages": view["pages"],
                    "shared_total": view["shared_total"],
                    "shared": [lexicon_svc.shared_json(e) for e in view["shared"]],
                    "additions": [lexicon_svc.entry_json(e) for e in view["additions"]],
                    "disables": [lexicon_svc.disable_json(d) for d in view["disables"]],
                    "versions": [lexicon_svc.version_json(v) for v in view["versions"]]})


@bp.post("/lexicon/entries")
def lexicon_add():  # type: ignore[no-untyped-def]
    data = body()
    with db.transaction() as s:
        entry = lexicon_svc.add_entry(s, user(), data)
        out = lexicon_svc.entry_json(entry)
    return jsonify(out), 201


@bp.post("/lexicon/entries/<int:entry_id>/disable")
def lexicon_disable(entry_id: int):  # type: ignore[no-untyped-def]
    data = lenient_body()
    with db.transaction() as s:
        entry = lexicon_svc.disable_entry(s, user(), entry_id, data)
        out = lexicon_svc.entry_json(entry)
    return jsonify(out)


@bp.post("/lexicon/disables")
def lexicon_disable_rule():  # type: ignore[no-untyped-def]
    data = body()
    with db.transaction() as s:
        d = lexicon_svc.disable_rule(s, user(), data)
        out = lexicon_svc.disable_json(d)
    return jsonify(out), 201


@bp.post("/lexicon/disables/<int:disable_id>/lift")
def lexicon_lift(disable_id: int):  # type: ignore[no-untyped-def]
    body(optional=True)
    with db.transaction() as s:
        d = lexicon_svc.lift_disable(s, user(), disable_id)
        out = lexicon_svc.disable_json(d)
    return jsonify(out)


@bp.get("/lexicon/export")
def lexicon_export():  # type: ignore[no-untyped-def]
    text = lexicon_svc.export_csv(db.session(), user(), request.args.get("unit") or None,
                                  shared=request.args.get("shared") in ("1", "true"))
    return Response(text, mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=lexicon.csv"})


@bp.post("/lexicon/import")
def lexicon_import():  # type: ignore[no-untyped-def]
    raw = request.get_data(cache=True)
    with db.transaction() as s:
        result = lexicon_svc.import_csv(s, user(), request.args.get("unit"), raw)
    return jsonify(result)


# -- 巡检 -----------------------------------------------------------------------------------
@bp.get("/scans")
def scans():  # type: ignore[no-untyped-def]
    runs = inspection_svc.list_runs(db.session(), user())
    return jsonify({"runs": [inspection_svc.run_json(r) for r in runs]})


@bp.post("/scans")
def start_scan():  # type: ignore[no-untyped-def]
    from hub.checks.jobs import enqueue_scan

    body(optional=True)
    with db.transaction() as s:
        run = inspection_svc.start_run(s, user(), current_app)
        run_id = run.id
    enqueue_scan(current_app.config, run_id)
    return jsonify(inspection_svc.run_json(inspection_svc.get_run(db.session(), user(), run_id))), 202


@bp.get("/scans/<int:run_id>")
def scan(run_id: int):  # type: ignore[no-untyped-def]
    s = db.session()
    run = inspection_svc.get_run(s, user(), run_id)
    rows = inspection_svc.run_findings(s, user(), run, only_new=request.args.get("new") in ("1", "true"))
    return jsonify({**inspection_svc.run_json(run), "findings": [inspection_svc.finding_json(f) for f in rows]})


@bp.get("/check-alerts")
def check_alerts():  # type: ignore[no-untyped-def]
    rows = inspection_svc.alerts_for(db.session(), user(), include_acknowledged=request.args.get("all") == "1")
    return jsonify({"alerts": [inspection_svc.alert_json(a) for a in rows]})


@bp.post("/check-alerts/<int:alert_id>/ack")
def ack_alert(alert_id: int):  # type: ignore[no-untyped-def]
    body(optional=True)
    with db.transaction() as s:
        alert = inspection_svc.acknowledge(s, user(), alert_id)
        out = inspection_svc.alert_json(alert)
    return jsonify(out)


def openapi_paths(op: Any, id_param: dict[str, Any], common: dict[str, str]) -> dict[str, Any]:
    """This area's entries of /api/v1/openapi.json (``op`` builds one operation)."""
    fid = {"name": "fid", "in": "path", "required": True, "schema": {"type": "string"},
           "description": "a finding's id (the post's findings[].id)"}
    unit_q = {"name": "unit", "in": "query", "schema": {"type": "string"}, "description": "unit code"}
    admin = {"200": "ok", **common, "403": "not an admin of the unit", "409": "duplicate / already done",
             "400": "bad body", "422": "invalid entry"}
    return {
        "/posts/{id}/findings/{fid}/override": {"post": op(
            "Override one blocking finding of the current revision {reason, revision_hash?}",
            {"200": "the finding with its override", **common, "403": "not a reviewer/admin of the unit, or a "
             "contributor", "409": "post state, stale revision, already overridden", "400": "missing reason",
             "422": "the finding does not block"}, body="Reason", params=[id_param, fid])},
        "/lexicon": {"get": op("The shared lexicon (paged), unit additions, disabled rules and versions",
                               {"200": "ok", "401": common["401"], "403": "not an admin or supervisor"}, params=[
                                   {"name": "category", "in": "query", "schema": {"type": "string"}},
                                   {"name": "q", "in": "query", "schema": {"type": "string"}},
                                   {"name": "page", "in": "query", "schema": {"type": "integer"}}])},
        "/lexicon/entries": {"post": op("Add an entry for a unit {unit, category, wrong, right?, severity?, "
                                        "reason?, exceptions?, tag?, since?}", {**admin, "201": "created"})},
        "/lexicon/entries/{id}/disable": {"post": op("Disable a unit's entry {reason?}", admin, params=[id_param])},
        "/lexicon/disables": {"post": op("Switch a shared rule off for a unit {unit, rule, reason}",
                                         {**admin, "201": "created"})},
        "/lexicon/disables/{id}/lift": {"post": op("Switch a disabled shared rule back on", admin,
                                                   params=[id_param])},
        "/lexicon/export": {"get": op("CSV of the unit additions (shared=1: and the shared lexicon)",
                                      {"200": "text/csv", **common}, params=[unit_q])},
        "/lexicon/import": {"post": op("Import a CSV body into a unit (all or nothing)", admin, params=[unit_q])},
        "/scans": {"get": op("Re-scan (巡检) runs", {"200": "ok", "401": common["401"], "403": "forbidden"}),
                   "post": op("Start a re-scan now", {"202": "queued", "401": common["401"],
                                                      "403": "not an admin", "409": "one is running"})},
        "/scans/{id}": {"get": op("A run with its findings (new=1: only new ones)", {"200": "ok", **common},
                                  params=[id_param])},
        "/check-alerts": {"get": op("Unhandled re-scan alerts for the caller's units (all=1: handled too)",
                                    {"200": "ok", "401": common["401"]})},
        "/check-alerts/{id}/ack": {"post": op("Mark an alert as handled", {**admin}, params=[id_param])},
    }


# -- checks ------------------------------------------------------------------------------
@bp.post("/checks")
def checks():  # type: ignore[no-untyped-def]
    data = body()
    content = data.get("content")
    if not isinstance(content, str):
        raise BadRequest("缺少 content（文本或 HTML）", code="missing_content")
    return jsonify({"findings": run_checks(content)})


