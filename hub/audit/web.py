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
from hub.audit.report import action_label, build_record, local, render_pdf
from hub.db import db
from hub.errors import HubError
from hub.posts import access as post_access

bp = Blueprint("audit", __name__)

__all__ = ["bp"]

PAGE_SIZE = 50
OBJECT_TYPES = ("post", "dispatch", "account", "user", "unit", "audit", "vault")


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
                           action_label=action_label, local=local,
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
