"""The daily re-scan API: its runs are at ``/scans...`` (``/inspections`` is the quarterly
inspection since issue 15, hub/oversight); ``/check-alerts...`` still answer exactly as
``/inspection-alerts...`` do, are deprecated in the OpenAPI document, and a job queued under the
old function name runs."""

from __future__ import annotations

from typing import Any

from checks_helpers import publish  # type: ignore[import-not-found]
from support import run_burst_worker  # type: ignore[import-not-found]

from hub.db import db
from hub.models import InspectionRun

# (method, old path, new path) as OpenAPI writes them.
ALIASES = [
    ("get", "/check-alerts", "/inspection-alerts"),
    ("post", "/check-alerts/{id}/ack", "/inspection-alerts/{id}/ack"),
]


def _same(api: Any, method: str, old: str, new: str, **kw: Any) -> Any:
    """Ask the old and the new path the same thing; both answers must be identical."""
    a = getattr(api, method)(old, **kw)
    b = getattr(api, method)(new, **kw)
    assert (a.status_code, a.get_json()) == (b.status_code, b.get_json()), (old, new)
    return b


def _published_with_a_new_problem(world: dict[str, Any], app: Any) -> dict[str, Any]:
    post = publish(world, app, "<p>巴彦淖儿市召开森林防火会议。</p>")
    r = world["api"]["admin"].post("/lexicon/entries", json={"unit": "cbeh", "category": "typo",
                                                             "wrong": "巴彦淖儿", "right": "巴彦淖尔"})
    assert r.status_code == 201
    return post


def test_old_paths_answer_as_the_new_ones(world, app, client):
    api = world["api"]
    post = _published_with_a_new_problem(world, app)

    # Starting a run: refused alike, then started on either path with the same answer shape.
    assert api["editor"].post("/scans").status_code == 403  # not an admin
    r = api["admin"].post("/scans")
    assert r.status_code == 202 and r.get_json()["status"] == "queued"
    first = r.get_json()["id"]
    assert api["admin"].post("/scans").status_code == 409  # one is already queued
    run_burst_worker(app)
    r = api["admin"].post("/scans")
    assert r.status_code == 202
    second = r.get_json()["id"]
    run_burst_worker(app)

    runs = api["admin"].get("/scans").get_json()["runs"]
    assert [x["id"] for x in runs] == [second, first] and {x["status"] for x in runs} == {"done"}
    assert api["editor"].get("/scans").status_code == 403
    for run_id in (first, second):
        detail = api["admin"].get(f"/scans/{run_id}").get_json()
        assert detail["findings"] and all(f["post_id"] == post["id"] for f in detail["findings"])
        assert api["admin"].get(f"/scans/{run_id}?new=1").status_code == 200
    r = api["admin"].get("/scans/999999")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "scan_not_found"

    alerts = _same(api["admin"], "get", "/check-alerts", "/inspection-alerts").get_json()["alerts"]
    assert len(alerts) == 1 and alerts[0]["post_id"] == post["id"]
    assert _same(api["r1"], "get", "/check-alerts", "/inspection-alerts").get_json()["alerts"] == []
    aid = alerts[0]["id"]
    _same(api["r1"], "post", f"/check-alerts/{aid}/ack", f"/inspection-alerts/{aid}/ack")  # 404 to a reviewer
    assert api["admin"].post(f"/check-alerts/{aid}/ack").status_code == 200  # the old path acts
    r = _same(api["admin"], "post", f"/check-alerts/{aid}/ack", f"/inspection-alerts/{aid}/ack")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "already_acknowledged"
    assert _same(api["admin"], "get", "/check-alerts", "/inspection-alerts").get_json()["alerts"] == []
    handled = _same(api["admin"], "get", "/check-alerts?all=1", "/inspection-alerts?all=1").get_json()["alerts"]
    assert [a["id"] for a in handled] == [aid] and handled[0]["acknowledged_at"]

    for old, new in (("/check-alerts", "/inspection-alerts"),):
        a, b = client.get("/api/v1" + old), client.get("/api/v1" + new)  # no token
        assert a.status_code == b.status_code == 401 and a.get_json() == b.get_json()


def _shape(op: dict[str, Any]) -> dict[str, Any]:
    """What an operation takes and returns (not how it is described)."""
    return {"parameters": op.get("parameters"), "requestBody": op.get("requestBody"),
            "responses": {status: r.get("content") for status, r in op["responses"].items()}}


def test_old_paths_are_deprecated_aliases_in_openapi(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for method, old, new in ALIASES:
        alias, canonical = paths[old][method], paths[new][method]
        assert alias.get("deprecated") is True and "deprecated" not in canonical, (method, old)
        assert f"use {new}" in alias["summary"]
        assert _shape(alias) == _shape(canonical), (method, old)


def test_a_job_queued_under_the_old_name_still_runs(world, app):
    from hub.checks.jobs import job_id
    from hub.queue import get_queue

    _published_with_a_new_problem(world, app)
    with db.transaction() as s:
        run = InspectionRun(run_key="manual-before-rename", trigger="manual", day="2025-03-10", status="queued",
                            window_days=30)
        s.add(run)
        s.flush()
        run_id = run.id
    # What an older release put in Redis: the job names its function by its old dotted path.
    get_queue(app.config).enqueue("hub.checks.jobs.run_scan", run_id, job_id=job_id(run_id))
    assert job_id(run_id) == f"hub-rescan-{run_id}"
    run_burst_worker(app)
    done = db.session().get(InspectionRun, run_id)
    assert done is not None and done.status == "done" and done.new_findings == 1
    db.session.remove()
