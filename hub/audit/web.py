"""Web pages of the audit area, added to the web blueprint (see hub.web).

* ``/audit``: the audit log for admins and supervisors (their unit subtree),
  filtered by actor, action, object, unit and date; each entry links to its
  object; ``?verify=1`` verifies the whole trail.
* ``/posts/<id>/accountability``: the post's accountability record (问责留痕),
  printable; ``.pdf`` downloads it as PDF (an audited export) and ``.json``
  gives the same data with the verification result.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from hub import audit
from hub.audit import search as audit_search
from hub.audit.report import ACTION_LABELS, action_label, build_record, local, render_pdf
from hub.db import db
from hub.errors import HubError
from hub.i18n_marks import N_
from hub.posts import access as post_access

bp = Blueprint("audit", __name__)

__all__ = ["bp"]

PAGE_SIZE = 50
OBJECT_TYPES = ("post", "dispatch", "account", "user", "unit", "audit", "vault")
OBJECT_TYPE_LABELS = {"post": N_("稿件"), "dispatch": N_("发布任务"), "account": N_("账号"), "user": N_("用户"),
                      "unit": N_("单位"), "audit": N_("审计"), "vault": N_("保险库"), "chain": N_("审核流程"),
                      "lexicon": N_("词库"), "token": N_("API 令牌"), "inspection": N_("巡检"),
                      "rectification": N_("整改"), "annual_report": N_("年度报表"), "check_alert": N_("复查告警"),
                      "lexicon_entry": N_("词条"), "lexicon_rule": N_("检查规则"), "monitor_alert": N_("监测预警"),
                      "quarterly_inspection": N_("季度巡检"), "scan_run": N_("每日复查"), "witness": N_("见证文件")}
# 操作 filter: a whole kind of action (the stored prefix) or one action, by name.
ACTION_GROUPS = {"post.": N_("稿件的全部操作"), "dispatch.": N_("发布任务的全部操作"),
                 "account.": N_("账号的全部操作"), "auth.": N_("登录与退出"), "user.": N_("用户的全部操作"),
                 "unit.": N_("单位的全部操作"), "vault.": N_("保险库的全部操作"), "audit.": N_("审计的全部操作")}


def object_type_label(kind: str) -> str:
    return _(OBJECT_TYPE_LABELS[kind]) if kind in OBJECT_TYPE_LABELS else kind


def shown_ip(ip: str | None) -> str:
    """A client address as people write it: an IPv4 address mapped into IPv6 (``::ffff:127.0.0.1``, as a
    dual-stack server records it) is shown as the IPv4 address."""
    import ipaddress

    if not ip:
        return ""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    mapped = getattr(addr, "ipv4_mapped", None)
    return str(mapped) if mapped is not None else str(addr)


def _action_choices(current: str) -> list[tuple[str, str]]:
    groups = [(code, _(label)) for code, label in ACTION_GROUPS.items()]
    actions = sorted(((code, _(label)) for code, label in ACTION_LABELS.items()), key=lambda c: c[0])
    choices = groups + actions
    if current and current not in dict(choices):
        choices.append((current, current))
    return choices


def _link(endpoint: str, values: dict[str, Any]) -> str | None:
    if endpoint not in current_app.view_functions:
        return None
    return url_for(endpoint, **values)


@bp.get("/audit")
@login_required
def audit_page():
    """The audit log, newest first, for admins and supervisors."""
    s = db.session()
    if not audit_search.is_auditor(current_user):
        return render_template("error.html", code=403,
                               message=_("只有管理员和主管单位可以查看审计日志")), 403
    scope = audit_search.scope_for(s, current_user)
    error = ""
    try:
        flt = audit_search.parse_filter(request.args)
        before, _limit = audit_search.parse_paging(request.args, "before")
    except HubError as exc:
        error, flt, before = exc.message, audit_search.AuditFilter(), None
    rows, more = audit_search.page(s, scope, flt, before=before, limit=PAGE_SIZE, newest_first=True)
    links = {seq: _link(ep, vals) for seq, (ep, vals) in audit_search.object_links(s, rows).items()}
    verification = None
    if request.args.get("verify") == "1":
        verification = audit.verify(s, current_app.extensions.get("hub_witness")).to_dict()
    units = sorted(scope.codes)
    args: dict[str, Any] = flt.as_args()
    older = url_for("web.audit.audit_page", before=rows[-1].seq, **args) if more and rows else None
    return render_template("audit/audit.html", rows=rows, links=links, flt=flt, error=error, units=units,
                           object_types=OBJECT_TYPES, older=older, verification=verification,
                           action_label=action_label, local=local, object_type_label=object_type_label,
                           shown_ip=shown_ip, action_choices=_action_choices(flt.action),
                           verify_url=url_for("web.audit.audit_page", verify="1", **args))


def _post_or_404(post_id: int) -> Any:
    try:
        return post_access.get_post(db.session(), current_user, post_id)
    except HubError:
        abort(404)


def _record(post_id: int) -> dict[str, Any]:
    post = _post_or_404(post_id)
    return build_record(db.session(), post, current_app.extensions.get("hub_witness"), current_user)


@bp.get("/posts/<int:post_id>/accountability")
@login_required
def accountability_page(post_id: int):
    """The printable accountability record of a post, for anyone who may see the post."""
    record = _record(post_id)
    return render_template("audit/accountability.html", r=record, post_id=post_id)


def _audit_export(post_id: int, fmt: str, record: dict[str, Any]) -> None:
    v = record["verification"]
    post = _post_or_404(post_id)
    with db.transaction() as s:
        audit.record(s, "post.accountability_export", object_type="post", object_id=post_id, unit=post.unit,
                     summary=f"导出问责留痕（{fmt.upper()}），校验{'通过' if v['ok'] else '未通过'}",
                     details={"format": fmt, "verified": v["ok"], "head_seq": (v.get("head") or {}).get("seq"),
                              "first_bad_seq": v.get("first_bad_seq")})


@bp.get("/posts/<int:post_id>/accountability.pdf")
@login_required
def accountability_pdf(post_id: int):
    """The accountability record as PDF (audited as an export)."""
    record = _record(post_id)
    pdf = render_pdf(record)
    _audit_export(post_id, "pdf", record)
    resp = Response(pdf, mimetype="application/pdf")
    resp.headers["Content-Disposition"] = f'attachment; filename="accountability-{post_id}.pdf"'
    return resp


@bp.get("/posts/<int:post_id>/accountability.json")
@login_required
def accountability_json(post_id: int):
    """The accountability record as JSON, with the verification result (audited as an export)."""
    record = _record(post_id)
    _audit_export(post_id, "json", record)
    resp = jsonify(record)
    resp.headers["Content-Disposition"] = f'attachment; filename="accountability-{post_id}.json"'
    return resp
