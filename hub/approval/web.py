"""Web pages of the review area, added to the web blueprint (see hub.web).

待我审核 (the queue, with filters), the review screen (platform previews,
findings, chain progress, history, diffs, comments, approve / reject), the
scheduling and withdraw controls shown on the post page, the chain
configuration page for admins and the per-unit pause switch.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from hub.approval import chains as chains_svc
from hub.approval import decisions as decisions_svc
from hub.approval import queue as queue_svc
from hub.db import db
from hub.dispatch import pauses as pauses_svc
from hub.errors import HubError
from hub.inputs import parse_id
from hub.models import Account, AuditEntry, Dispatch, Post, Unit
from hub.permissions import is_admin_of, is_editor_of, is_supervisor_over
from hub.posts import access as post_access
from hub.posts import comments as comments_svc
from hub.posts import schedule as schedule_svc
from hub.posts import withdraw as withdraw_svc
from hub.times import iso
from hub.web.base import awaiting_review, local_time, run_action, wants_json
from review.chain import MAX_STEPS

bp = Blueprint("approval", __name__)

__all__ = ["bp"]

EMPTY_ROWS = 2
UNIT_CHOICE_UP = "up:"
UNIT_CHOICE_CODE = "code:"


def _post_or_404(post_id: int) -> Post:
    try:
        return post_access.get_post(db.session(), current_user, post_id)
    except HubError:
        abort(404)


def _safe_next(default: str) -> str:
    nxt = request.form.get("next", "")
    return nxt if nxt.startswith("/") and not nxt.startswith("//") else default


# -- queue ------------------------------------------------------------------------------------
@bp.get("/review")
@login_required
def review_queue():
    flt = queue_svc.QueueFilter.from_args(request.args)
    view = queue_svc.queue_view(db.session(), current_user, flt)
    return render_template("approval/review_queue.html", view=view, flt=flt, ages=queue_svc.AGE_CHOICES)


# -- review screen ----------------------------------------------------------------------------
def _previews(s: Any, post: Post) -> list[dict[str, Any]]:
    """What each target account will be sent: the rendering stored with the revision (the one the
    approval binds to), rendered again for revisions made before renderings were stored."""
    from hub.dispatch import mass_quota
    from hub.posts.rendering import account_settings, render_targets

    rev = post.current_revision
    assert rev is not None
    stored = dict(rev.renderings or {})
    if not stored:
        from hub.posts.service import revision_fields

        stored = render_targets(s, revision_fields(rev))
    out = []
    for acc in s.scalars(select(Account).where(Account.id.in_(rev.account_ids or [])).order_by(Account.id)):
        r = stored.get(str(acc.id)) or {"platform": acc.platform, "fields": {}, "html_fields": [],
                                         "warnings": [], "problems": [_("无法生成该平台的发布内容")]}
        html_fields = set(r.get("html_fields") or ())
        fields = [{"key": k, "value": v, "html": k in html_fields} for k, v in (r.get("fields") or {}).items()]
        cover_id = rev.cover_id or getattr(acc, "default_cover_id", None)
        warnings = list(r.get("warnings") or [])
        quota_note = mass_quota.review_note(s, acc, (rev.variants or {}).get(acc.platform) or {},
                                            account_settings(acc, current_app.extensions.get("hub_vault")))
        if quota_note:  # the quota as of now (not part of the approved rendering)
            warnings.append(quota_note)
        out.append({"account": acc, "platform": acc.platform, "fields": fields, "cover_id": cover_id,
                    "pictures": r.get("pictures") or [], "warnings": warnings,
                    "problems": r.get("problems") or []})
    return out


def _history(s: Any, post: Post) -> list[AuditEntry]:
    dispatch_ids = [str(i) for i in s.scalars(select(Dispatch.id).where(Dispatch.post_id == post.id))]
    return list(s.scalars(select(AuditEntry).where(
        ((AuditEntry.object_type == "post") & (AuditEntry.object_id == str(post.id)))
        | ((AuditEntry.object_type == "dispatch") & (AuditEntry.object_id.in_(dispatch_ids or ["-"])))
    ).order_by(AuditEntry.seq)))


def _progress(s: Any, post: Post) -> list[dict[str, Any]]:
    """Each step of the chain with who approved it on the current revision."""
    chain = chains_svc.post_chain(s, post)
    live = [a for a in post.approvals if not a.voided and a.revision_id == post.current_revision_id]
    out = []
    for i, step in enumerate(chain.steps):
        done = [a for a in live if a.step == i and a.decision == "approved"]
        if post.status == "in_review":
            state = "done" if i < post.step else ("current" if i == post.step else "waiting")
        elif post.status in ("draft", "rejected"):
            state = "waiting"
        else:
            state = "done" if done else "waiting"
        out.append({"index": i, "name": step.name, "who": chains_svc.describe(step), "state": state, "approvals": done})
    return out


def _video(s: Any, rev: Any) -> dict[str, Any] | None:
    """The revision's video as the reviewer watches it: the exact stored file, by its hash-named URL."""
    from hub.models import Media
    from hub.posts.video import fingerprint, video_url

    m = s.get(Media, rev.video_id) if rev.video_id else None
    if m is None:
        return None
    return {"url": video_url(m), "fingerprint": fingerprint(m.sha256), "mb": (m.size or 0) / 1048576,
            "seconds": m.duration or 0.0}


@bp.get("/review/<int:post_id>")
@login_required
def review_post(post_id: int):
    from hub.posts.api import post_json

    s = db.session()
    post = _post_or_404(post_id)
    rev = post.current_revision
    assert rev is not None
    data = post_json(s, post)
    seen = queue_svc.last_seen_before(s, current_user, post)
    approved = queue_svc.last_approved_before(s, post)
    diffs = {
        "seen": (seen, queue_svc.diff_revisions(s, seen, rev) if seen else []),
        "approved": (approved, queue_svc.diff_revisions(s, approved, rev) if approved else []),
    }
    can_review = post in awaiting_review(current_user)
    not_reviewing = None if can_review else queue_svc.why_not_in_queue(s, current_user, post)
    context = {
        "post": post, "data": data, "rev": rev, "previews": _previews(s, post), "diffs": diffs,
        "progress": _progress(s, post), "history": _history(s, post),
        "comments": comments_svc.list_comments(s, post), "can_review": can_review,
        "not_reviewing": _(not_reviewing) if not_reviewing else None,
        "confirmation_labels": decisions_svc.CONFIRMATION_LABELS, "step": data["step"],
        "video": _video(s, rev),
    }
    html = render_template("approval/review_post.html", **context)
    if can_review or post_access.reviews_post(s, current_user, post):
        with db.transaction() as ws:
            queue_svc.record_view(ws, current_user, post)
    return html


@bp.get("/review/<int:post_id>/frame/<int:account_id>/<string:key>")
@login_required
def review_frame(post_id: int, account_id: int, key: str):
    """One HTML field of what an account will be sent, as the review page's sandboxed frame shows it;
    ``rev`` names the revision the page showed (a newer one is not shown under it: 404)."""
    from hub.web.base import content_frame

    post = _post_or_404(post_id)
    rev = post.current_revision
    if rev is None or request.args.get("rev") != rev.hash:
        abort(404)
    for pv in _previews(db.session(), post):
        if pv["account"].id == account_id:
            for f in pv["fields"]:
                if f["key"] == key and f["html"]:
                    return content_frame(f["value"])
    abort(404)


@bp.post("/review/<int:post_id>/approve")
@login_required
def review_approve(post_id: int):
    body: dict[str, Any] = {
        "revision_hash": request.form.get("revision_hash", ""), "comment": request.form.get("comment", ""),
        "checks": {k: request.form.get(f"check_{k}") == "on" for k in decisions_svc.CONFIRMATION_KEYS}}
    step = request.form.get("step", "")
    if step.isdigit():
        body["step"] = int(step)
    try:
        with db.transaction() as s:
            status = decisions_svc.approve_post(s, current_user, post_id, body).status
        flash(_("审核通过，已进入发布流程") if status in ("approved", "publishing") else _("审核通过，已转下一环节"),
              "success")
    except HubError as exc:
        flash(exc.message, "error")
        return redirect(url_for("web.approval.review_post", post_id=post_id))
    return redirect(url_for("web.approval.review_queue"))


@bp.post("/review/<int:post_id>/reject")
@login_required
def review_reject(post_id: int):
    body: dict[str, Any] = {"reason": request.form.get("reason", ""),
                            "revision_hash": request.form.get("revision_hash") or None}
    step = request.form.get("step", "")
    if step.isdigit():
        body["step"] = int(step)
    if run_action(lambda s: decisions_svc.reject_post(s, current_user, post_id, body), _("已退回编辑")) is None:
        return redirect(url_for("web.approval.review_post", post_id=post_id))
    return redirect(url_for("web.approval.review_queue"))


# -- post controls: comments, schedule, cancel, withdraw --------------------------------------
@bp.app_context_processor
def _review_globals() -> dict[str, Any]:
    return {"review_controls": review_controls}


def review_controls(post: Post) -> dict[str, Any]:
    """What the current user may do to ``post`` beyond editing and reviewing (for post.html)."""
    s = db.session()
    user = current_user
    may_time = is_editor_of(user, post.unit_id) or is_admin_of(s, user, post.unit_id)
    pause = pauses_svc.active_pause_for(s, post.unit)
    from hub.models import utcnow

    missed = post.status == "approved" and (post.publish_at is None or post.publish_at <= utcnow())
    in_queue = post in awaiting_review(user)
    can_withdraw = post.status in withdraw_svc.WITHDRAWABLE_STATUSES and withdraw_svc.may_withdraw(s, user, post)
    not_reviewing = None if in_queue else queue_svc.why_not_in_queue(s, user, post)
    return {
        "can_schedule": may_time and post.status in schedule_svc.SCHEDULABLE_STATUSES,
        "can_cancel": may_time and post.status == "approved" and post.publish_at is not None
        and not missed,
        "waiting_for_time": post.status == "approved" and missed,
        "can_withdraw": can_withdraw,
        # Present and explained, never silently absent: who withdraws, why this review is not yours.
        "withdraw_note": _("撤稿须由本单位管理员或终审人员办理。")
        if post.status in withdraw_svc.WITHDRAWABLE_STATUSES and not can_withdraw else None,
        "not_reviewing": _(not_reviewing) if not_reviewing else None,
        "comments": comments_svc.list_comments(s, post),
        "in_queue": in_queue,
        "pause": pause,
    }


@bp.post("/posts/<int:post_id>/comments")
@login_required
def post_comment(post_id: int):
    run_action(lambda s: comments_svc.add_comment(s, current_user, post_id, {"body": request.form.get("body", "")}),
               _("评论已发表"))
    return redirect(_safe_next(url_for("web.posts.post_page", post_id=post_id)))


@bp.post("/posts/<int:post_id>/schedule")
@login_required
def post_schedule(post_id: int):
    """The post page's form; the calendar (hub/static/calendar.js) posts the same form asking for JSON."""
    now = request.form.get("now") == "1"
    value = None if now else (request.form.get("publish_at", "").strip() or None)
    if not now and value is None:
        if wants_json():
            return jsonify({"error": {"code": "missing_publish_at", "message": _("请选择发布时间")}}), 400
        flash(_("请选择发布时间"), "error")
        return redirect(url_for("web.posts.post_page", post_id=post_id))
    try:
        with db.transaction() as s:
            post = schedule_svc.schedule_post(s, current_user, post_id, {"publish_at": value})
            status, at = post.status, post.publish_at
        message = _("已开始发布") if status == "publishing" else _("发布时间已更新")
        if wants_json():
            return jsonify({"status": status, "publish_at": iso(at), "publish_at_local": local_time(at),
                            "message": message})
        flash(message, "success")
    except HubError as exc:
        if wants_json():
            return jsonify(exc.to_dict()), exc.status
        flash(exc.message, "error")
    return redirect(url_for("web.posts.post_page", post_id=post_id))


@bp.post("/posts/<int:post_id>/schedule/cancel")
@login_required
def post_schedule_cancel(post_id: int):
    run_action(lambda s: schedule_svc.cancel_schedule(s, current_user, post_id), _("已取消定时发布，请重新选择发布时间"))
    return redirect(url_for("web.posts.post_page", post_id=post_id))


@bp.post("/posts/<int:post_id>/withdraw")
@login_required
def post_withdraw(post_id: int):
    run_action(
        lambda s: withdraw_svc.withdraw_post(s, current_user, post_id, {"reason": request.form.get("reason", "")}),
        _("已撤稿：正在从各平台撤下"))
    return redirect(url_for("web.posts.post_page", post_id=post_id))


# -- chains -----------------------------------------------------------------------------------
@bp.get("/chains")
@login_required
def chain_units():
    s = db.session()
    units = chains_svc.chain_units(s, current_user)
    if not units:
        abort(404)
    rows = [(u, chains_svc.resolve(s, u), pauses_svc.active_pause_for(s, u)) for u in units]
    return render_template("approval/chain_units.html", rows=rows)


def _unit_choices(unit: Unit) -> list[tuple[str, str]]:
    choices = [(f"{UNIT_CHOICE_UP}0", _("稿件所在单位"))]
    for n in range(1, 4):
        choices.append((f"{UNIT_CHOICE_UP}{n}", _("稿件所在单位的上%(n)s级单位", n=n)))
    for u in unit.path():
        choices.append((f"{UNIT_CHOICE_CODE}{u.code}", _("指定单位：%(name)s", name=u.name)))
    return choices


def _row_value(step: dict[str, Any]) -> dict[str, Any]:
    if step.get("unit"):
        where = f"{UNIT_CHOICE_CODE}{step['unit']}"
    else:
        where = f"{UNIT_CHOICE_UP}{step.get('levels_up', 0)}"
    return {"name": step["name"], "who": "users" if step.get("users") else "role", "role": step.get("role", "reviewer"),
            "unit": where, "users": ", ".join(step.get("users") or []), "quorum": step.get("quorum", "any")}


def _steps_from_form(form: Any) -> list[dict[str, Any]]:
    steps = []
    count = min(parse_id(form.get("rows", "0")) or 0, 10_000)
    for i in range(min(count, MAX_STEPS + EMPTY_ROWS)):
        name = (form.get(f"name_{i}") or "").strip()
        if not name:
            continue
        step: dict[str, Any] = {"name": name, "quorum": form.get(f"quorum_{i}", "any")}
        if form.get(f"who_{i}") == "users":
            step["users"] = [u.strip() for u in (form.get(f"users_{i}") or "").replace("，", ",").split(",")
                             if u.strip()]
            if not step["users"]:
                step["users"] = [""]  # the service names the empty list as the problem
        else:
            step["role"] = form.get(f"role_{i}", "reviewer")
            where = form.get(f"unit_{i}", f"{UNIT_CHOICE_UP}0")
            if where.startswith(UNIT_CHOICE_CODE):
                step["unit"] = where[len(UNIT_CHOICE_CODE):]
            elif where.startswith(UNIT_CHOICE_UP) and where[len(UNIT_CHOICE_UP):].isdigit():
                step["levels_up"] = int(where[len(UNIT_CHOICE_UP):])
        steps.append(step)
    return steps


@bp.route("/units/<code>/chain", methods=["GET", "POST"])
@login_required
def chain_config(code: str):
    s = db.session()
    category = (request.values.get("category") or "").strip()
    try:
        view = chains_svc.unit_chain_view(s, current_user, code, category)
    except HubError:
        abort(404)
    unit = s.scalars(select(Unit).where(Unit.code == code)).one()
    rows: list[dict[str, Any]] | None = None
    if request.method == "POST":
        body: dict[str, Any] = {"category": category, "note": request.form.get("note", "")}
        base = request.form.get("base_version", "")
        if base.isdigit():
            body["base_version"] = int(base)
        if request.form.get("inherit") == "1":
            body["inherit"] = True
        else:
            body["steps"] = _steps_from_form(request.form)
            if not body["steps"]:
                body["steps"] = []
        try:
            with db.transaction() as ws:
                row = chains_svc.set_unit_chain(ws, current_user, code, body)
                version = row.version
            flash(_("审核流程已保存为第 %(v)s 版", v=version), "success")
            return redirect(url_for("web.approval.chain_config", code=code, category=category or None))
        except HubError as exc:
            flash(exc.message, "error")
            rows = [_row_value({**st, "users": st.get("users") or []}) for st in body.get("steps") or []]
    own = next((o for o in view["own"] if o["category"] == category), None)
    if rows is None:
        rows = [_row_value(st) for st in (own or view["effective"])["steps"]]
    rows += [{"name": "", "who": "role", "role": "reviewer", "unit": f"{UNIT_CHOICE_UP}0", "users": "",
              "quorum": "any"} for _i in range(EMPTY_ROWS)]
    base_version = max((h["version"] for h in view["history"] if h["category"] == category), default=0)
    may_pause = is_admin_of(s, current_user, unit.id) or is_supervisor_over(s, current_user, unit.id)
    return render_template("approval/chain_config.html", view=view, unit=unit, category=category, own=own, rows=rows,
                           unit_choices=_unit_choices(unit), roles=chains_svc.ROLE_LABELS, base_version=base_version,
                           pause=pauses_svc.pause_state(s, unit), may_pause=may_pause)


@bp.post("/units/<code>/pause")
@login_required
def unit_pause(code: str):
    try:
        with db.transaction() as s:
            pauses_svc.pause_unit(s, current_user, code, {"reason": request.form.get("reason", "")})
        flash(_("已暂停该单位及下级单位的全部发布"), "success")
    except HubError as exc:
        flash(exc.message, "error")
    return redirect(_safe_next(url_for("web.approval.chain_config", code=code)))


@bp.post("/units/<code>/resume")
@login_required
def unit_resume(code: str):
    try:
        with db.transaction() as s:
            _p, due = pauses_svc.resume_unit(s, current_user, code, {"reason": request.form.get("reason", "")})
        flash(_("已恢复发布，%(n)s 个待发任务重新排队", n=len(due)), "success")
    except HubError as exc:
        flash(exc.message, "error")
    return redirect(_safe_next(url_for("web.approval.chain_config", code=code)))

