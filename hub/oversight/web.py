"""Pages of supervision (issue 15): the 监测台 (the supervisor's home page, its XLSX export) and the
public page of a published quarterly inspection (no login, 及时公开检查情况)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user, login_required

from hub.db import db
from hub.errors import NotFound
from hub.oversight import board
from hub.oversight import inspections as inspection_svc
from hub.web.base import local_time

bp = Blueprint("oversight", __name__)
__all__ = ["bp"]


@bp.get("/public/inspections/<key>")
def public_inspection(key: str):
    try:
        insp = inspection_svc.by_public_key(db.session(), key)
    except NotFound:
        abort(404)
    return render_template("oversight/public_inspection.html", insp=insp, pass_mark=inspection_svc.PASS_MARK)


@bp.get("/monitor")
@login_required
def monitor_page():
    if not board.may_view(current_user):
        abort(404)
    args = _filters()
    data = board.rows(db.session(), current_user, **args)
    return render_template("oversight/monitor.html", board=data, filters=args, sorts=board.SORTS)


@bp.get("/monitor.xlsx")
@login_required
def monitor_export():
    if not board.may_view(current_user):
        abort(404)
    data = board.rows(db.session(), current_user, **_filters())
    body = board.to_xlsx(data, local_time)
    return Response(body, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f"attachment; filename=monitor-{data['as_of']}.xlsx"})


def _filters() -> dict[str, Any]:
    return {"unit": request.args.get("unit", "")[:64], "platform": request.args.get("platform", "")[:20],
            "sort": request.args.get("sort", "days_silent") if request.args.get("sort") in board.SORTS
            else "days_silent", "desc": request.args.get("dir", "desc") != "asc"}
