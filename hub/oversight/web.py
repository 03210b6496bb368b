"""Pages of supervision (issue 15): the 监测台 (the supervisor's home page, its XLSX export), the
staff pages of quarterly inspections (list and start, record an item, publish) and rectifications
(the unit admin's 整改 report and 问责 record; the supervisor's accept / return), and the public
page of a published quarterly inspection (no login, 及时公开检查情况). Supervisors and admins
only: others get 404."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from hub.db import db
from hub.errors import BadRequest, NotFound
from hub.i18n_marks import N_
from hub.models import QuarterlyInspection, Rectification, Unit
from hub.oversight import board
from hub.oversight import inspections as inspection_svc
from hub.oversight import monitor as monitor_svc
from hub.oversight import rectifications as rect_svc
from hub.permissions import is_admin_of, is_supervisor_over, overseen_unit_ids
from hub.web.base import local_time, run_action

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


# -- quarterly inspections (巡检) -------------------------------------------------------------
RECT_STATUS = {"open": N_("待整改"), "reported": N_("已报送，待验收"), "accepted": N_("已通过"),
               "returned": N_("已退回，待重新报送")}
SOURCE_LABELS = {"notice": N_("通报"), "inspection": N_("巡检")}


def _staff_only() -> None:
    if not board.may_view(current_user):
        abort(404)


def _supervised_units(s: Any) -> list[Unit]:
    ids = overseen_unit_ids(s, current_user)
    units = s.scalars(select(Unit).where(Unit.id.in_(ids or {-1})).order_by(Unit.id)).all()
    return [u for u in units if is_supervisor_over(s, current_user, u.id)]


@bp.get("/oversight/inspections")
@login_required
def inspections_page():
    _staff_only()
    s = db.session()
    ids = overseen_unit_ids(s, current_user)
    rows = s.scalars(select(QuarterlyInspection).where(QuarterlyInspection.unit_id.in_(ids or {-1}))
                     .order_by(QuarterlyInspection.id.desc()).limit(200)).unique().all()
    return render_template("oversight/inspections.html", rows=rows, units=_supervised_units(s),
                           today=monitor_svc.today())


@bp.post("/oversight/inspections")
@login_required
def inspection_start():
    _staff_only()
    raw = request.form.get("as_of", "").strip()
    try:
        as_of = date.fromisoformat(raw) if raw else None
    except ValueError:
        flash(_("参考日期应为 YYYY-MM-DD"), "error")
        return redirect(url_for("web.oversight.inspections_page"))
    insp = run_action(lambda s: inspection_svc.start(s, current_user, request.form.get("unit", "")[:64],
                                                     request.form.get("period", "").strip()[:8], as_of),
                      _("巡检已完成，请核对各账号结果并记录数据未涵盖的问题"))
    if insp is None:
        return redirect(url_for("web.oversight.inspections_page"))
    return redirect(url_for("web.oversight.inspection_page", inspection_id=insp.id))


def _inspection_or_404(inspection_id: int) -> QuarterlyInspection:
    _staff_only()
    try:
        return inspection_svc.get(db.session(), current_user, inspection_id)
    except NotFound:
        abort(404)


@bp.get("/oversight/inspections/<int:inspection_id>")
@login_required
def inspection_page(inspection_id: int):
    insp = _inspection_or_404(inspection_id)
    s = db.session()
    public_url = url_for("web.oversight.public_inspection", key=insp.public_key, _external=True) \
        if insp.status == "published" else None
    return render_template("oversight/inspection.html", insp=insp, public_url=public_url,
                           indicators=inspection_svc.indicators(), pass_mark=inspection_svc.PASS_MARK,
                           may_record=is_supervisor_over(s, current_user, insp.unit_id))


@bp.post("/oversight/inspections/<int:inspection_id>/items")
@login_required
def inspection_item(inspection_id: int):
    _inspection_or_404(inspection_id)
    f = request.form

    def record(s: Any) -> Any:
        try:
            account_id, count = int(f.get("account_id", "")), int(f.get("count", "1") or "1")
        except ValueError:
            raise BadRequest(_("请选择账号并填写扣分次数（整数）"), code="bad_item") from None
        return inspection_svc.record_item(s, current_user, inspection_id, account_id, f.get("code", "")[:8],
                                          f.get("note", "").strip()[:500], count)

    run_action(record, _("已记录巡检问题，分数已重新计算"))
    return redirect(url_for("web.oversight.inspection_page", inspection_id=inspection_id))


@bp.post("/oversight/inspections/<int:inspection_id>/publish")
@login_required
def inspection_publish(inspection_id: int):
    _inspection_or_404(inspection_id)
    run_action(lambda s: inspection_svc.publish(s, current_user, inspection_id), _("巡检结果已公开"))
    return redirect(url_for("web.oversight.inspection_page", inspection_id=inspection_id))


# -- rectifications (整改、问责) ----------------------------------------------------------------
@bp.get("/oversight/rectifications")
@login_required
def rectifications_page():
    _staff_only()
    s = db.session()
    ids = overseen_unit_ids(s, current_user)
    rows = s.scalars(select(Rectification).where(Rectification.unit_id.in_(ids or {-1}))
                     .order_by(Rectification.id.desc()).limit(500)).unique().all()
    seen = {r.unit_id for r in rows}  # checked once per unit, not per row
    admin_of = {u for u in seen if is_admin_of(s, current_user, u)}
    over = {u for u in seen if is_supervisor_over(s, current_user, u)}
    units = _supervised_units(s)
    accounts = monitor_svc.accounts_of(s, {u.id for u in units}) if units else []
    return render_template("oversight/rectifications.html", rows=rows, admin_of=admin_of, over=over,
                           status_labels=RECT_STATUS, source_labels=SOURCE_LABELS, today=monitor_svc.today(),
                           OPEN=rect_svc.OPEN, units=units, accounts=accounts)


@bp.post("/oversight/notices")
@login_required
def notice_record():
    """A supervisor records a 通报 (the form of the rectifications page): it opens a rectification."""
    _staff_only()
    f = request.form

    def record(s: Any) -> Any:
        try:
            received = date.fromisoformat(f.get("received_on", ""))
        except ValueError:
            raise BadRequest(_("收到日期应为 YYYY-MM-DD"), code="bad_date") from None
        raw = f.get("account_id", "")
        if raw and not raw.isdigit():
            raise BadRequest(_("请选择账号"), code="bad_account")
        return rect_svc.record_notice(s, current_user, f.get("unit", "")[:64], f.get("text", "")[:5000], received,
                                      int(raw) if raw else None)

    run_action(record, _("通报已登记，已开启整改"))
    return _back()


def _rect_or_404(rect_id: int) -> None:
    _staff_only()
    try:
        rect_svc.get(db.session(), current_user, rect_id)
    except NotFound:
        abort(404)


def _back() -> Any:
    return redirect(url_for("web.oversight.rectifications_page"))


@bp.post("/oversight/rectifications/<int:rect_id>/report")
@login_required
def rectification_report(rect_id: int):
    _rect_or_404(rect_id)
    f = request.form

    def report(s: Any) -> Any:
        text = f.get("rectification", "").strip()[:5000]
        if not text:
            raise BadRequest(_("请填写整改情况"), code="missing_text")
        try:
            people = int(f.get("people", "0") or "0")
        except ValueError:
            raise BadRequest(_("问责人数应为整数"), code="bad_people") from None
        if not 0 <= people <= 10000:
            raise BadRequest(_("问责人数应在 0 到 10000 之间"), code="bad_people")
        return rect_svc.report(s, current_user, rect_id, text, people, f.get("measures", "").strip()[:2000])

    run_action(report, _("整改情况已报送，待主管单位验收"))
    return _back()


@bp.post("/oversight/rectifications/<int:rect_id>/accept")
@login_required
def rectification_accept(rect_id: int):
    _rect_or_404(rect_id)
    run_action(lambda s: rect_svc.decide(s, current_user, rect_id, True), _("整改已通过"))
    return _back()


@bp.post("/oversight/rectifications/<int:rect_id>/return")
@login_required
def rectification_return(rect_id: int):
    _rect_or_404(rect_id)
    run_action(lambda s: rect_svc.decide(s, current_user, rect_id, False, request.form.get("reason", "")[:2000]),
               _("整改已退回"))
    return _back()

