"""REST endpoints of supervision (issue 15), added to the API blueprint (see hub.api).

* ``GET /monitor?unit=CODE[&as_of=YYYY-MM-DD]`` — every monitored account of the unit's subtree
  with its silence figures and alerts as of that date (supervisors over it, its admins).
* ``POST /notices {unit, account_id?, text, received_on}`` — a 通报; opens a rectification due in
  10 working days. ``GET /rectifications?unit=CODE``, ``POST /rectifications/<id>/report``,
  ``/accept``, ``/return {reason}``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, jsonify, request, url_for

from hub.api.base import body, user
from hub.api.openapi import contract
from hub.api.validation import body_as
from hub.contracts import NoBody
from hub.db import db
from hub.errors import BadRequest
from hub.models import QuarterlyInspection
from hub.org.service import unit_by_code
from hub.oversight import annual as annual_svc
from hub.oversight import inspections as inspection_svc
from hub.oversight import monitor as monitor_svc
from hub.oversight import rectifications as rect_svc
from hub.oversight.schemas import (
    AnnualPublishedIn,
    AnnualPublishedOut,
    AnnualReportOut,
    InspectionIn,
    InspectionItemIn,
    MonitorOut,
    NoticeIn,
    QuarterlyInspectionOut,
    RectificationOut,
    Rectifications,
    ReportIn,
    ReturnIn,
)
from hub.times import iso

bp = Blueprint("oversight", __name__)
__all__ = ["bp"]

SEEN = {404: "not found or not visible to the caller"}
BAD = BadRequest("请求体不正确", code="bad_body")


def parse_day(raw: str | None, name: str) -> date | None:
    if raw is None or raw == "":
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadRequest(f"{name} 应为 YYYY-MM-DD 格式的日期", code="bad_date", field=name) from None


@bp.get("/monitor")
@contract("The monitor: accounts of a unit's subtree, days without a publication and silence alerts",
          out=MonitorOut, query={"unit": str, "as_of": str},
          errors={400: "missing unit, bad as_of", 403: "not a supervisor over or admin of the unit",
                  404: "unknown unit"})
def monitor():
    code = request.args.get("unit", "")
    if not code:
        raise BadRequest("需要 unit 参数", code="missing_unit")
    as_of = parse_day(request.args.get("as_of"), "as_of") or monitor_svc.today()
    s = db.session()
    unit = unit_by_code(s, code)
    ids = monitor_svc.monitor_units(s, user(), unit)
    states = monitor_svc.states(s, monitor_svc.accounts_of(s, ids), as_of)
    out = {"as_of": as_of.isoformat(), "accounts": [
        {"id": st.account.id, "name": st.account.name, "platform": st.account.platform,
         "unit": st.account.unit.code, "last_published_at": iso(st.last_published_at),
         "days_silent": st.days_silent, "posts_7d": st.posts_7d, "posts_30d": st.posts_30d,
         "alerts": st.alerts} for st in states]}
    return jsonify(MonitorOut.model_validate(out).dump())


@bp.post("/notices")
@contract("Record a 通报 for a unit: opens a rectification due 10 working days after received_on",
          out=RectificationOut, status=201, body=NoticeIn,
          errors={400: "bad body or date", 403: "not a supervisor over the unit", 404: "unknown unit or account",
                  422: "the working-day calendar lacks the year"})
def notice():
    data = body_as(NoticeIn, {"*": BAD})
    received = parse_day(data.received_on, "received_on")
    assert received is not None
    with db.transaction() as s:
        r = rect_svc.record_notice(s, user(), data.unit, data.text, received, data.account_id)
        out = rect_svc.to_dict(r, monitor_svc.today())
    return jsonify(RectificationOut.model_validate(out).dump()), 201


@bp.get("/rectifications")
@contract("Rectifications of a unit's subtree", out=Rectifications, query={"unit": str},
          errors={400: "missing unit", 403: "not a supervisor over or admin of the unit", 404: "unknown unit"})
def rectifications():
    code = request.args.get("unit", "")
    if not code:
        raise BadRequest("需要 unit 参数", code="missing_unit")
    s = db.session()
    today = monitor_svc.today()
    rows = [rect_svc.to_dict(r, today) for r in rect_svc.listing(s, user(), code)]
    return jsonify(Rectifications.model_validate({"rectifications": rows}).dump())


@bp.post("/rectifications/<int:rect_id>/report")
@contract("The unit's 整改 report and 问责 record {rectification, accountability: {people, measures}}",
          out=RectificationOut, body=ReportIn,
          errors={**SEEN, 400: "bad body", 403: "not an admin of the unit", 409: "already reported or accepted"})
def report(rect_id: int):
    rect_svc.may_report(db.session(), user(), rect_id)
    data = body_as(ReportIn, {"*": BAD})
    acc = data.accountability
    with db.transaction() as s:
        r = rect_svc.report(s, user(), rect_id, data.rectification, acc.people if acc else 0,
                            acc.measures if acc else "")
        out = rect_svc.to_dict(r, monitor_svc.today())
    return jsonify(RectificationOut.model_validate(out).dump())


@bp.post("/rectifications/<int:rect_id>/accept")
@contract("Accept a reported rectification", out=RectificationOut, body=NoBody, body_required=False,
          errors={**SEEN, 403: "not a supervisor over the unit", 409: "not reported"})
def accept(rect_id: int):
    body(optional=True)
    with db.transaction() as s:
        r = rect_svc.decide(s, user(), rect_id, True)
        out = rect_svc.to_dict(r, monitor_svc.today())
    return jsonify(RectificationOut.model_validate(out).dump())


@bp.post("/rectifications/<int:rect_id>/return")
@contract("Return a reported rectification {reason}", out=RectificationOut, body=ReturnIn,
          errors={**SEEN, 400: "missing reason", 403: "not a supervisor over the unit", 409: "not reported"})
def return_(rect_id: int):
    rect_svc.may_decide(db.session(), user(), rect_id)
    data = body_as(ReturnIn, {"*": BadRequest("退回需要说明理由", code="missing_reason")})
    with db.transaction() as s:
        r = rect_svc.decide(s, user(), rect_id, False, data.reason)
        out = rect_svc.to_dict(r, monitor_svc.today())
    return jsonify(RectificationOut.model_validate(out).dump())


def _year() -> int:
    raw = request.args.get("year", "")
    if not raw.isdigit():
        raise BadRequest("需要 year 参数（四位年份）", code="bad_year")
    return int(raw)


@bp.get("/reports/annual")
@contract("The annual report's figures of a unit's subtree for one year (per account and totals)",
          out=AnnualReportOut, query={"year": int, "unit": str},
          errors={400: "missing or bad year/unit", 403: "not a supervisor over or admin of the unit",
                  404: "unknown unit"})
def annual_report():
    code = request.args.get("unit", "")
    if not code:
        raise BadRequest("需要 unit 参数", code="missing_unit")
    year = _year()
    s = db.session()
    annual_svc.may_view(s, user(), unit_by_code(s, code))
    return jsonify(AnnualReportOut.model_validate(annual_svc.figures(s, code, year)).dump())


@bp.post("/reports/annual/published")
@contract("Record that a unit's annual report was published {unit, year, url}", out=AnnualPublishedOut,
          status=201, body=AnnualPublishedIn,
          errors={400: "bad body or url", 403: "not an admin of the unit", 404: "unknown unit"})
def annual_published():
    data = body_as(AnnualPublishedIn, {"*": BAD})
    with db.transaction() as s:
        rec = annual_svc.record_published(s, user(), data.unit, data.year, data.url)
        out = {"unit": data.unit, "year": rec.year, "url": rec.url or "", "published_at": iso(rec.published_at)}
    return jsonify(AnnualPublishedOut.model_validate(out).dump()), 201


# -- quarterly inspections (巡检) -------------------------------------------------------------
def _inspection_out(insp: QuarterlyInspection) -> dict[str, Any]:
    url = url_for("web.oversight.public_inspection", key=insp.public_key, _external=True) \
        if insp.status == "published" else None
    return QuarterlyInspectionOut.model_validate(inspection_svc.to_dict(insp, url)).dump()


INSPECTOR = {**SEEN, 403: "not a supervisor over the unit"}


@bp.post("/inspections")
@contract("Run a quarterly inspection (巡检) of a unit's subtree as of a date {unit, period, as_of?}",
          out=QuarterlyInspectionOut, status=201, body=InspectionIn,
          errors={400: "bad body, period or date", 403: "not a supervisor over the unit", 404: "unknown unit"})
def start_inspection():
    data = body_as(InspectionIn, {"*": BAD})
    as_of = parse_day(data.as_of, "as_of")
    with db.transaction() as s:
        insp = inspection_svc.start(s, user(), data.unit, data.period, as_of)
        iid = insp.id
    return jsonify(_inspection_out(inspection_svc.get(db.session(), user(), iid))), 201


@bp.get("/inspections/<int:inspection_id>")
@contract("A quarterly inspection with each account's veto, score, result and problems",
          out=QuarterlyInspectionOut, errors=SEEN)
def get_inspection(inspection_id: int):
    return jsonify(_inspection_out(inspection_svc.get(db.session(), user(), inspection_id)))


@bp.post("/inspections/<int:inspection_id>/items")
@contract("Record an indicator item the hub's data does not hold {account_id, code, note?, count?}",
          out=QuarterlyInspectionOut, body=InspectionItemIn,
          errors={**INSPECTOR, 400: "bad body or indicator", 409: "already published"})
def record_inspection_item(inspection_id: int):
    inspection_svc.may_record(db.session(), user(), inspection_id)
    data = body_as(InspectionItemIn, {"*": BAD})
    with db.transaction() as s:
        inspection_svc.record_item(s, user(), inspection_id, data.account_id, data.code, data.note, data.count)
    return jsonify(_inspection_out(inspection_svc.get(db.session(), user(), inspection_id)))


@bp.post("/inspections/<int:inspection_id>/publish")
@contract("Publish the results: a public page (no login) at public_url", out=QuarterlyInspectionOut,
          body=NoBody, body_required=False, errors=INSPECTOR)
def publish_inspection(inspection_id: int):
    body(optional=True)
    with db.transaction() as s:
        inspection_svc.publish(s, user(), inspection_id)
    return jsonify(_inspection_out(inspection_svc.get(db.session(), user(), inspection_id)))
