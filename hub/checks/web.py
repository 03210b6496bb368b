"""Pages of the content-check area (see hub.web): the editor's 检查 button (a session JSON
endpoint), overriding a finding from the post page, lexicon management, the inspection (巡检)
pages and the dashboard alerts."""

from __future__ import annotations

import re
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from hub.checks import inspections as inspection_svc
from hub.checks import lexicon as lexicon_svc
from hub.checks import service as checks_svc
from hub.db import db
from hub.errors import HubError
from hub.i18n_marks import N_
from hub.inputs import request_json
from hub.web.base import run_action

bp = Blueprint("checks", __name__)
#: ``style="`` of an element in sanitised HTML (nh3 writes double-quoted attributes).
_INLINE_STYLE = re.compile(r'(<[^>]*?\s)style="', re.IGNORECASE)

__all__ = ["bp"]

SEVERITY_LABELS = {"block": N_("必须修改"), "warn": N_("提示"), "info": N_("参考")}
FIELD_LABELS = {"title": N_("标题"), "summary": N_("摘要"), "content": N_("正文"), "text": N_("正文"),
                "author": N_("作者"), "source_url": N_("原文链接"), "digest": N_("摘要"), "status": N_("微博正文"),
                "mass_send": N_("群发设置"), "send_ignore_reprint": N_("群发转载设置")}


def field_label(field: str) -> str:
    """A finding's field in words: 标题, 微博定制正文, 发往微信公众号的正文, 微博平台规则 …"""
    from hub.i18n_marks import PLATFORM_LABELS

    def one(key: str) -> str:
        if key.startswith("articles."):
            _a, number, rest = (key.split(".", 2) + ["", ""])[:3]
            return _("第 %(n)s 篇文章的%(field)s", n=int(number) + 2 if number.isascii() and number.isdigit() and len(number) < 9 else number,
                     field=_(FIELD_LABELS[rest]) if rest in FIELD_LABELS else rest)
        return _(FIELD_LABELS[key]) if key in FIELD_LABELS else key

    parts = field.split(".", 2)
    if len(parts) >= 2 and parts[0] in ("variants", "rendering"):
        platform = _(PLATFORM_LABELS[parts[1]]) if parts[1] in PLATFORM_LABELS else parts[1]
        if len(parts) == 2:
            return _("%(platform)s平台规则", platform=platform)
        if parts[0] == "variants":
            return _("%(platform)s定制%(field)s", platform=platform, field=one(parts[2]))
        return _("发往%(platform)s的%(field)s", platform=platform, field=one(parts[2]))
    return one(field)
TRIGGER_LABELS = {"daily": N_("每日巡检"), "manual": N_("手动巡检")}
INSPECTION_STATUS_LABELS = {"queued": N_("排队中"), "running": N_("进行中"), "done": N_("已完成"), "failed": N_("失败")}


@bp.app_context_processor
def _checks_globals() -> dict[str, Any]:
    def checks_panel() -> dict[str, Any]:
        """Dashboard: unhandled inspection alerts for the units the user is an admin of."""
        if not current_user.is_authenticated:
            return {"alerts": []}
        try:
            return {"alerts": inspection_svc.alerts_for(db.session(), current_user, limit=20)}
        except Exception:  # never let a panel break the dashboard
            current_app.logger.warning("inspection alerts panel failed", exc_info=True)
            return {"alerts": []}

    def checks_for_post(post: Any, data: dict[str, Any]) -> dict[str, Any]:
        """Post page: the body with findings marked, and whether the viewer may override."""
        findings = data.get("findings") or []
        rev = data.get("revision") or {}
        s = db.session()
        # The marked body sits in a <template> of the page, whose CSP refuses style="" in markup: its
        # styles travel as data-hub-style and checks.js applies them inside the content frame.
        marked = _INLINE_STYLE.sub(r'\1data-hub-style="', checks_svc.highlight_html(rev.get("content") or "", findings))
        return {"highlighted": Markup(marked),
                "can_override": current_user.is_authenticated and checks_svc.may_override(s, current_user, post)
                and post.status in checks_svc.OVERRIDABLE_STATUSES,
                "blocking": checks_svc.blocking(findings)}

    return {"checks_panel": checks_panel, "checks_for_post": checks_for_post,
            "severity_label": lambda v: _(SEVERITY_LABELS[v]) if v in SEVERITY_LABELS else v,
            "field_label": field_label}


def _json_error(exc: HubError) -> Any:
    db.session.rollback()
    resp = jsonify(exc.to_dict())
    resp.status_code = exc.status
    return resp


# -- editor -------------------------------------------------------------------------------
@bp.post("/checks/preview")
def checks_preview():
    """The editor's 检查 button: JSON in, findings out (session login and CSRF header)."""
    if not current_user.is_authenticated:
        return jsonify({"error": {"code": "unauthorized", "message": "请先登录"}}), 401
    data = request_json()
    try:
        out = checks_svc.preview(db.session(), current_user, data)
    except HubError as exc:
        return _json_error(exc)
    return jsonify(out)


# -- overrides ----------------------------------------------------------------------------
@bp.post("/posts/<int:post_id>/findings/<fid>/override")
@login_required
def finding_override(post_id: int, fid: str):
    body = {"reason": request.form.get("reason", ""), "revision_hash": request.form.get("revision_hash") or None}
    try:
        with db.transaction() as s:
            checks_svc.override_finding(s, current_user, post_id, fid[:64], body)
        flash(_("已豁免该检查结果，理由已记录"), "success")
    except HubError as exc:
        if exc.status == 404 and exc.code == "post_not_found":
            abort(404)
        flash(exc.message, "error")
    return redirect(url_for("web.posts.post_page", post_id=post_id) + "#findings-panel")


# -- lexicon ------------------------------------------------------------------------------
def _browse_or_404() -> None:
    if not lexicon_svc.may_browse(current_user):
        abort(404)


@bp.get("/lexicon")
@login_required
def lexicon_page():
    _browse_or_404()
    category = request.args.get("category", "")
    if category not in lexicon_svc.CATEGORY_LABELS:
        category = ""
    page = request.args.get("page", "1")
    view = lexicon_svc.browse(db.session(), current_user, category=category, q=request.args.get("q", ""),
                              page=int(page) if page.isascii() and page.isdigit() and 0 < int(page) < 100_000 else 1)
    from review.checks.lexicon import SENSITIVE_TAGS

    return render_template("checks/lexicon.html", view=view, category=category, q=request.args.get("q", "")[:50],
                           categories=lexicon_svc.CATEGORY_LABELS, tags=SENSITIVE_TAGS,
                           addable=("typo", "outdated", "sensitive", "ad", "source", "domain"))


def _lexicon_action(fn: Any, ok: str) -> Any:
    _browse_or_404()
    run_action(fn, ok)
    return redirect(url_for("web.checks.lexicon_page"))


def _form(*keys: str) -> dict[str, str]:
    return {k: request.form.get(k, "") for k in keys if k in request.form}


@bp.post("/lexicon/entries")
@login_required
def lexicon_add():
    data = _form("unit", *lexicon_svc.CSV_COLUMNS)
    return _lexicon_action(lambda s: lexicon_svc.add_entry(s, current_user, data), _("词条已添加，词库版本已更新"))


@bp.post("/lexicon/entries/<int:entry_id>/disable")
@login_required
def lexicon_disable(entry_id: int):
    data = _form("reason")
    return _lexicon_action(lambda s: lexicon_svc.disable_entry(s, current_user, entry_id, data), _("词条已停用"))


@bp.post("/lexicon/rules/disable")
@login_required
def lexicon_disable_rule():
    data = _form("unit", "rule", "reason")
    return _lexicon_action(lambda s: lexicon_svc.disable_rule(s, current_user, data), _("已为该单位停用共享规则"))


@bp.post("/lexicon/disables/<int:disable_id>/lift")
@login_required
def lexicon_lift(disable_id: int):
    return _lexicon_action(lambda s: lexicon_svc.lift_disable(s, current_user, disable_id), _("已恢复共享规则"))


@bp.post("/lexicon/import")
@login_required
def lexicon_import():
    _browse_or_404()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("请选择要导入的 CSV 文件"), "error")
        return redirect(url_for("web.checks.lexicon_page"))
    raw = upload.read()
    try:
        with db.transaction() as s:
            result = lexicon_svc.import_csv(s, current_user, request.form.get("unit"), raw)
        flash(_("导入完成：新增 %(added)s 个词条，跳过重复 %(skipped)s 个", added=result["added"],
                skipped=result["skipped"]), "success")
    except HubError as exc:
        flash(exc.message, "error")
    return redirect(url_for("web.checks.lexicon_page"))


@bp.get("/lexicon/export.csv")
@login_required
def lexicon_export():
    _browse_or_404()
    try:
        text = lexicon_svc.export_csv(db.session(), current_user, request.args.get("unit") or None,
                                      shared=request.args.get("shared") == "1")
    except HubError:
        abort(404)
    return Response(text, mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=lexicon.csv"})


# -- inspections (巡检) ---------------------------------------------------------------------
def _view_or_404() -> None:
    if not inspection_svc.may_view(current_user):
        abort(404)


@bp.get("/inspections")
@login_required
def inspections():
    _view_or_404()
    s = db.session()
    return render_template("checks/inspections.html", runs=inspection_svc.list_runs(s, current_user),
                           trigger_labels=TRIGGER_LABELS, status_labels=INSPECTION_STATUS_LABELS,
                           alerts=inspection_svc.alerts_for(s, current_user, include_acknowledged=True, limit=100))


@bp.post("/inspections/run")
@login_required
def inspection_start():
    _view_or_404()
    run_action(lambda s: inspection_svc.start_run(s, current_user, current_app).id,
               _("巡检已开始，完成后结果显示在此页"))
    return redirect(url_for("web.checks.inspections"))


@bp.get("/inspections/<int:run_id>")
@login_required
def inspection(run_id: int):
    _view_or_404()
    s = db.session()
    try:
        run = inspection_svc.get_run(s, current_user, run_id)
    except HubError:
        abort(404)
    only_new = request.args.get("new") == "1"
    rows = inspection_svc.run_findings(s, current_user, run, only_new=only_new)
    return render_template("checks/inspection.html", run=run, rows=rows, only_new=only_new,
                           trigger_labels=TRIGGER_LABELS, status_labels=INSPECTION_STATUS_LABELS)


@bp.post("/inspections/alerts/<int:alert_id>/ack")
@login_required
def inspection_ack(alert_id: int):
    run_action(lambda s: inspection_svc.acknowledge(s, current_user, alert_id), _("告警已标记为已处理"))
    nxt = request.form.get("next", "")
    if nxt not in ("dashboard", "inspections"):
        nxt = "dashboard"
    return redirect(url_for("web.dashboard") if nxt == "dashboard" else url_for("web.checks.inspections"))
