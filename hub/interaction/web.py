"""Web pages of 政民互动, added to the web blueprint (see hub.web).

Public (no login): ``/public/units/<code>/messages`` (answered messages, the four required fields,
the question masked; monthly figures) and ``/public/units/<code>/messages/new`` (the 留言 form:
content, optional name and phone; a signed arithmetic question; rate limited).
Staff: ``/interaction`` (the inbox with filters), ``/interaction/messages/<id>`` (assign, forward,
answer, review, close), ``/interaction/qa`` and ``/interaction/qa/<id>`` (the 问答库)."""

from __future__ import annotations

import re
import secrets as pyrandom
from datetime import date
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select

from hub import audit
from hub.db import db
from hub.errors import HubError
from hub.extensions import limiter
from hub.interaction import answers as answer_svc
from hub.interaction import inbox
from hub.interaction import qa as qa_svc
from hub.interaction import stats as stats_svc
from hub.models import Unit, User, utcnow
from hub.oversight.monitor import today
from hub.permissions import subtree_ids

bp = Blueprint("interaction", __name__)
__all__ = ["bp"]

CHALLENGE_SALT = "interaction-form-challenge"
PHONE = re.compile(r"\+?[0-9][0-9 \-]{4,28}")
CHALLENGE_MAX_AGE = 3600


def status_labels() -> dict[str, str]:
    return {"open": _("待处理"), "in_review": _("答复审核中"), "approved": _("答复待发出"), "closed": _("已办结")}


def channel_labels() -> dict[str, str]:
    return {"wechat": _("微信"), "weibo": _("微博"), "form": _("网站留言"), "phone": _("电话"), "letter": _("来信"),
            "transfer": _("12345 转办")}


def answer_labels() -> dict[str, str]:
    return {"in_review": _("审核中"), "approved": _("审核通过，待发出"), "rejected": _("已退回"), "void": _("已作废"),
            "sending": _("发送中"), "sent": _("已发出"), "failed": _("发送失败")}


def close_labels() -> dict[str, str]:
    return {"answered": _("已答复"), "auto_answered": _("问答库自动答复"), "spam": _("垃圾信息"),
            "abuse": _("辱骂、恶意信息")}


def qa_labels() -> dict[str, str]:
    return {"in_review": _("审核中"), "active": _("使用中"), "expired": _("已过期，待复核"), "rejected": _("已退回")}


def via_labels() -> dict[str, str]:
    return {"wechat": _("微信客服消息"), "weibo": _("微博评论回复"), "page": _("公开页面")}


# -- public --------------------------------------------------------------------------------------
def _unit_or_404(code: str) -> Unit:
    unit = db.session().scalars(select(Unit).where(Unit.code == code)).first()
    if unit is None:
        abort(404)
    return unit


@bp.get("/public/units/<code>/messages")
def public_messages(code: str):
    s = db.session()
    unit = _unit_or_404(code)
    ids = subtree_ids(s, unit.id)
    months = [stats_svc.monthly(s, ids, m) for m in stats_svc.recent_months(today())]
    return render_template("interaction/public.html", unit=unit, rows=stats_svc.public_messages(s, unit),
                           months=months, channel_labels=channel_labels())


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=CHALLENGE_SALT)


def _challenge() -> tuple[str, str]:
    a, b = pyrandom.randbelow(9) + 1, pyrandom.randbelow(9) + 1
    return _("%(a)s 加 %(b)s 等于多少？", a=a, b=b), _serializer().dumps({"s": a + b, "n": pyrandom.token_hex(4)})


def _form(unit: Unit, status: int = 200, **values: Any):
    question, token = _challenge()
    return render_template("interaction/form.html", unit=unit, question=question, token=token,
                           values=values), status


@bp.get("/public/units/<code>/messages/new")
def message_form(code: str):
    return _form(_unit_or_404(code))


@bp.post("/public/units/<code>/messages/new")
@limiter.limit("5 per minute;30 per hour")
def message_form_post(code: str):
    unit = _unit_or_404(code)
    f = request.form
    text, name, phone = f.get("content", "").strip(), f.get("name", "").strip(), f.get("phone", "").strip()
    keep = {"content": text, "name": name, "phone": phone}
    try:
        data = _serializer().loads(f.get("challenge_token", ""), max_age=CHALLENGE_MAX_AGE)
        solved = str(data.get("s")) == f.get("challenge", "").strip()
    except BadSignature:
        solved = False
    if not solved:
        flash(_("验证题答案不正确，请重新计算"), "error")
        return _form(unit, 400, **keep)
    if not text or len(text) > 2000:
        flash(_("请填写留言内容（不超过 2000 字）"), "error")
        return _form(unit, 400, **keep)
    if len(name) > 50 or (phone and not PHONE.fullmatch(phone)):
        flash(_("姓名或电话格式不正确"), "error")
        return _form(unit, 400, **keep)
    token = audit.current_actor.set(audit.Actor.system("public-form"))
    audit.current_request.set(audit.RequestInfo())  # the sender's address and browser are not recorded
    try:
        with db.transaction() as s:
            u = s.get(Unit, unit.id)
            assert u is not None
            msg, _created = inbox.intake(s, unit=u, channel="form", text=text, received_at=utcnow(),
                                         contacts={"name": name, "phone": phone})
            due = msg.due_on
    except HubError as exc:
        flash(exc.message, "error")
        return _form(unit, 400, **keep)
    finally:
        audit.current_actor.reset(token)
    return render_template("interaction/form_done.html", unit=unit, due_on=due)


# -- staff -----------------------------------------------------------------------------------------
def _units_of(user: User) -> list[Unit]:
    s = db.session()
    ids = inbox.visible_units(s, user)
    return list(s.scalars(select(Unit).where(Unit.id.in_(ids)).order_by(Unit.id)))


@bp.get("/interaction")
@login_required
def inbox_page():
    units = _units_of(current_user)
    code = request.args.get("unit") or (next((u.code for u in units if u.id == current_user.unit_id), None)
                                        or (units[0].code if units else ""))
    status = request.args.get("status", "open")
    channel = request.args.get("channel", "")
    mine = request.args.get("mine") == "1"
    if status not in ("open", "closed", ""):
        status = "open"
    if channel not in channel_labels():
        channel = ""
    try:
        rows = inbox.listing(db.session(), current_user, code, status, channel,
                             current_user.username if mine else "") if code else []
    except HubError:
        abort(404)
    return render_template("interaction/inbox.html", units=units, code=code, status=status, channel=channel,
                           mine=mine, rows=rows, today=today(), status_labels=status_labels(),
                           channel_labels=channel_labels())


@bp.get("/interaction/messages/<int:message_id>")
@login_required
def message_page(message_id: int):
    s = db.session()
    try:
        msg = inbox.get_message(s, current_user, message_id)
    except HubError:
        abort(404)
    ans = answer_svc.current(s, msg)
    people = [u for u in s.scalars(select(User).where(User.active.is_(True))).unique()
              if any(u.has_role(r, msg.unit_id) for r in inbox.HANDLER_ROLES)]
    targets = [u for u in _units_of(current_user) if u.id in subtree_ids(s, msg.unit_id) and u.id != msg.unit_id]
    return render_template(
        "interaction/message.html", m=msg, ans=ans, decisions=answer_svc.decisions(s, ans) if ans else [],
        people=people, targets=targets, contacts=inbox.contact_fields(s, msg), today=today(),
        may_handle=inbox.may_handle_unit(s, current_user, msg.unit_id),
        may_review=bool(ans and ans.status == "in_review" and inbox.may_review_unit(current_user, msg.unit_id)
                        and current_user.id not in (ans.editor_ids or [])),
        status_labels=status_labels(), channel_labels=channel_labels(), answer_labels=answer_labels(),
        close_labels=close_labels(), via_labels=via_labels())


def _act(message_id: int, done: str, fn: Any) -> Any:
    try:
        with db.transaction() as s:
            fn(s)
        flash(done, "success")
    except HubError as exc:
        if exc.status == 404:
            abort(404)
        flash(exc.message, "error")
    return redirect(url_for("web.interaction.message_page", message_id=message_id))


@bp.post("/interaction/messages/<int:message_id>/assign")
@login_required
def message_assign(message_id: int):
    return _act(message_id, _("已指定承办人"),
                lambda s: inbox.assign(s, current_user, message_id, request.form.get("username", "")))


@bp.post("/interaction/messages/<int:message_id>/forward")
@login_required
def message_forward(message_id: int):
    return _act(message_id, _("已转办"), lambda s: inbox.forward(
        s, current_user, message_id, request.form.get("unit", ""), request.form.get("note", "")))


@bp.post("/interaction/messages/<int:message_id>/close")
@login_required
def message_close(message_id: int):
    return _act(message_id, _("留言已关闭"), lambda s: inbox.close_as(
        s, current_user, message_id, request.form.get("reason", ""), request.form.get("note", "")))


@bp.post("/interaction/messages/<int:message_id>/answer")
@login_required
def message_answer(message_id: int):
    return _act(message_id, _("答复已送审"),
                lambda s: answer_svc.draft(s, current_user, message_id, request.form.get("text", "")))


@bp.post("/interaction/messages/<int:message_id>/approve")
@login_required
def message_approve(message_id: int):
    aid = request.form.get("answer_id", "")
    if not (aid.isascii() and aid.isdigit()) or len(aid) > 9:
        abort(404)
    return _act(message_id, _("答复审核通过"), lambda s: answer_svc.approve(
        s, current_user, int(aid), request.form.get("revision_hash", ""), request.form.get("comment", "")))


@bp.post("/interaction/messages/<int:message_id>/reject")
@login_required
def message_reject(message_id: int):
    aid = request.form.get("answer_id", "")
    if not (aid.isascii() and aid.isdigit()) or len(aid) > 9:
        abort(404)
    return _act(message_id, _("答复已退回"),
                lambda s: answer_svc.reject(s, current_user, int(aid), request.form.get("reason", "")))


@bp.get("/interaction/qa")
@login_required
def qa_page():
    rows = qa_svc.listing(db.session(), current_user)
    return render_template("interaction/qa_list.html", rows=rows, labels=qa_labels(), expired=qa_svc.expired,
                           units=[u for u in _units_of(current_user)
                                  if inbox.may_handle_unit(db.session(), current_user, u.id)])


@bp.post("/interaction/qa")
@login_required
def qa_create():
    f = request.form
    raw = f.get("expires_on", "").strip()
    try:
        expires = date.fromisoformat(raw) if raw else None
    except ValueError:
        flash(_("有效期应为日期"), "error")
        return redirect(url_for("web.interaction.qa_page"))
    keywords = [k for k in f.get("keywords", "").replace("，", ",").replace("、", ",").split(",")]
    try:
        with db.transaction() as s:
            e = qa_svc.create(s, current_user, f.get("unit") or None, f.get("question", ""), f.get("answer", ""),
                              f.get("category", ""), keywords, f.get("source_policy", ""), expires)
            eid = e.id
    except HubError as exc:
        flash(exc.message, "error")
        return redirect(url_for("web.interaction.qa_page"))
    flash(_("问答已送审"), "success")
    return redirect(url_for("web.interaction.qa_entry", entry_id=eid))


@bp.get("/interaction/qa/<int:entry_id>")
@login_required
def qa_entry(entry_id: int):
    s = db.session()
    try:
        e = qa_svc.get(s, current_user, entry_id)
    except HubError:
        abort(404)
    dup = qa_svc.get(s, current_user, e.duplicate_of_id) if e.duplicate_of_id else None
    return render_template("interaction/qa_entry.html", e=e, dup=dup, labels=qa_labels(), expired=qa_svc.expired(e),
                           may_review=e.status == "in_review" and qa_svc.may_review(current_user, e)
                           and e.author_id != current_user.id)


@bp.post("/interaction/qa/<int:entry_id>/approve")
@login_required
def qa_approve(entry_id: int):
    return _qa_act(entry_id, _("问答审核通过，开始使用"), lambda s: qa_svc.approve(
        s, current_user, entry_id, request.form.get("revision_hash", "")))


@bp.post("/interaction/qa/<int:entry_id>/reject")
@login_required
def qa_reject(entry_id: int):
    return _qa_act(entry_id, _("问答已退回"),
                   lambda s: qa_svc.reject(s, current_user, entry_id, request.form.get("reason", "")))


def _qa_act(entry_id: int, done: str, fn: Any) -> Any:
    try:
        with db.transaction() as s:
            fn(s)
        flash(done, "success")
    except HubError as exc:
        if exc.status == 404:
            abort(404)
        flash(exc.message, "error")
    return redirect(url_for("web.interaction.qa_entry", entry_id=entry_id))
