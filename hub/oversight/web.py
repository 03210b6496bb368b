"""Pages of supervision (issue 15): the public page of a published quarterly inspection (no login,
及时公开检查情况)."""

from __future__ import annotations

from flask import Blueprint, render_template

from hub.db import db
from hub.errors import NotFound
from hub.oversight import inspections as inspection_svc

bp = Blueprint("oversight", __name__)
__all__ = ["bp"]


@bp.get("/public/inspections/<key>")
def public_inspection(key: str):
    try:
        insp = inspection_svc.by_public_key(db.session(), key)
    except NotFound:
        from flask import abort

        abort(404)
    return render_template("oversight/public_inspection.html", insp=insp, pass_mark=inspection_svc.PASS_MARK)
