"""Web pages of the dispatch area, added to the web blueprint (see hub.web).

* ``/dispatches/<id>``: one dispatch with every attempt and its outcome; admins retry from here;
* ``/dispatches``: what needs attention (unconfirmed and failed dispatches) for admins and
  supervisors of the unit subtree;
* ``/wechat/callback/<account_id>``: WeChat's server push (URL check, the
  ``PUBLISHJOBFINISH`` event and followers' text messages, which go to the unit's inbox —
  hub/interaction/intake.py — answered with a passive reply when the 问答库 answers them), plain
  or encrypted (安全模式), verified with the account's ``callback_token`` / ``encoding_aes_key``;
* ``/feeds/accounts/<account_id>.atom``: an Atom feed of what the hub published to an account
  (public: it lists only published content).
"""

from __future__ import annotations

import logging
from typing import Any
from xml.etree import ElementTree as ET

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_timedelta
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from hub.db import db
from hub.dispatch import callbacks
from hub.dispatch import manual as manual_svc
from hub.dispatch import service as dispatches_svc
from hub.errors import HubError
from hub.extensions import csrf, limiter
from hub.inputs import xml_text
from hub.interaction import intake as interaction_intake
from hub.models import Account, Dispatch, Post, utcnow
from hub.permissions import is_admin_of, is_editor_of, overseen_unit_ids
from hub.times import iso

bp = Blueprint("dispatch", __name__)

__all__ = ["bp"]
log = logging.getLogger(__name__)


@bp.get("/dispatches/<int:dispatch_id>")
@login_required
def dispatch_page(dispatch_id: int):
    s = db.session()
    try:
        d = dispatches_svc.get_dispatch(s, current_user, dispatch_id)
    except HubError:
        abort(404)
    data = dispatches_svc.dispatch_json(s, d, with_attempts=False)
    can_retry = is_admin_of(s, current_user, d.account.unit_id)
    manual = manual_svc.material(s, d) if manual_svc.is_manual(d) else None
    can_record = manual is not None and is_editor_of(current_user, d.post.unit_id)
    return render_template("dispatch/dispatch.html", d=d, data=data, can_retry=can_retry,
                           attempts=dispatches_svc.attempts_of(s, d), kind_labels=kind_labels(),
                           outcome_labels=outcome_labels(), manual=manual, can_record=can_record)


@bp.post("/dispatches/<int:dispatch_id>/manual")
@login_required
def dispatch_manual(dispatch_id: int):
    """The editor's form: the URL of the manual publication, its time and an optional screenshot."""
    from hub.posts.media import store_body_image

    upload = request.files.get("screenshot")
    data: dict[str, Any] = {"url": request.form.get("url", "")}
    try:
        when = (request.form.get("published_at") or "").strip()
        if when:
            data["published_at"] = when  # datetime-local: Beijing time
        with db.transaction() as s:
            shot = None
            if upload is not None and upload.filename:
                d0 = dispatches_svc.get_dispatch(s, current_user, dispatch_id)
                shot = store_body_image(s, d0.post.unit_id, upload.read(), _("截图"))
            manual_svc.record_manual(s, current_user, dispatch_id, data, screenshot=shot)
        flash(_("已登记人工发布，系统将访问该链接核对"), "success")
    except HubError as exc:
        if exc.status == 404:
            abort(404)
        flash(exc.message, "error")
    return redirect(url_for("web.dispatch.dispatch_page", dispatch_id=dispatch_id))


def kind_labels() -> dict[str, str]:
    """zh-CN (translated) names of attempt kinds."""
    return {"publish": _("发布"), "reconcile": _("核实"), "poll": _("查询状态"), "recover": _("中断恢复"),
            "retry": _("管理员重试"), "callback": _("平台推送")}


def outcome_labels() -> dict[str, str]:
    """zh-CN (translated) names of attempt outcomes."""
    from hub.i18n_marks import OUTCOME_LABELS

    return {k: _(v) for k, v in OUTCOME_LABELS.items()}


@bp.post("/dispatches/<int:dispatch_id>/retry")
@login_required
def dispatch_retry(dispatch_id: int):
    try:
        with db.transaction() as s:
            dispatches_svc.retry_dispatch(s, current_user, dispatch_id)
        flash(_("已重新排队发布"), "success")
    except HubError as exc:
        if exc.status == 404:
            abort(404)
        flash(exc.message, "error")
    nxt = request.form.get("next", "")
    if nxt.startswith("/") and not nxt.startswith("//"):
        return redirect(nxt)
    return redirect(url_for("web.dispatch.dispatch_page", dispatch_id=dispatch_id))


@bp.app_context_processor
def _dispatch_globals() -> dict[str, Any]:
    return {"dispatch_attention": post_dispatch_attention}


def post_dispatch_attention(post: Post) -> list[dict[str, Any]]:
    """The post's failed and unconfirmed dispatches as the post page explains them: what happened,
    what to do now, and whether the current user (an admin of the account's unit) may retry here."""
    s = db.session()
    out = []
    for d in s.scalars(select(Dispatch).where(Dispatch.post_id == post.id,
                                              Dispatch.status.in_(("failed", "unconfirmed")))
                       .order_by(Dispatch.id)).unique():
        admin = is_admin_of(s, current_user, d.account.unit_id)
        if d.status == "unconfirmed":
            todo = _("平台尚未确认是否已发出：系统正在向平台核实，核实前不会重复发送，请勿在平台后台手工重发。")
            if admin:
                todo += _("如长时间未核实，请登录平台后台确认，再到发布任务页面处理。")
        elif dispatches_svc.retry_allowed(d):
            todo = _("已核实平台上没有这次发布，可以安全重试。若原因是凭据失效，请先在账号页面更新凭据；"
                     "若是内容不符合平台要求，请撤稿后修改重发。")
            if not admin:
                todo += _("重试须由本单位管理员办理。")
        else:
            todo = _("正在与平台核实这次发布是否已存在，核实后才可重试。")
        out.append({"d": d, "todo": todo, "can_retry": admin and dispatches_svc.retry_allowed(d)})
    return out


@bp.get("/dispatches")
@login_required
def dispatch_attention():
    s = db.session()
    units = overseen_unit_ids(s, current_user)
    if not units:
        abort(404)
    rows = s.scalars(select(Dispatch).join(Post, Post.id == Dispatch.post_id).where(
        Post.unit_id.in_(units), Dispatch.status.in_(("unconfirmed", "failed")))
        .order_by(Dispatch.updated_at.desc()).limit(200)).unique().all()
    # Approved posts to manual-publish accounts wait for an editor to publish by hand: the longest wait first.
    manual = s.scalars(select(Dispatch).join(Post, Post.id == Dispatch.post_id).where(
        Post.unit_id.in_(units), Dispatch.status == "awaiting_manual")
        .order_by(Dispatch.updated_at, Dispatch.id).limit(200)).unique().all()
    now = utcnow()
    return render_template("dispatch/list.html", rows=rows, retry_allowed=dispatches_svc.retry_allowed,
                           manual=manual, waited=lambda d: format_timedelta(now - d.updated_at, threshold=1,
                                                                            granularity="minute"))


# -- WeChat server push ------------------------------------------------------------------------
def _plain(text: str, status: int = 200) -> Response:
    return Response(text, status=status, mimetype="text/plain")


@bp.route("/wechat/callback/<int:account_id>", methods=["GET", "POST"])
@csrf.exempt
@limiter.limit("600 per minute")
def wechat_callback(account_id: int):
    from wechatpy import parse_message
    from wechatpy.crypto import WeChatCrypto
    from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
    from wechatpy.utils import check_signature

    s = db.session()
    account = s.get(Account, account_id)
    if account is None or account.platform != "wechat":
        return _plain("unknown account", 404)
    try:
        secrets_ = callbacks.callback_secrets(account, current_app.extensions["hub_vault"])
    except Exception:
        return _plain("credentials unavailable", 503)
    token, aes_key, appid = (secrets_.get("callback_token", ""), secrets_.get("encoding_aes_key", ""),
                             secrets_.get("app_id", ""))
    if not token:
        return _plain("callback not configured", 404)
    args = request.args
    timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
    encrypted = args.get("encrypt_type") == "aes" or (request.method == "GET" and args.get("msg_signature"))
    try:
        crypto = WeChatCrypto(token, aes_key, appid) if encrypted and aes_key else None
        if encrypted and crypto is None:
            return _plain("encrypted mode needs the EncodingAESKey", 403)
        if request.method == "GET":
            if crypto is not None:
                return _plain(crypto.check_signature(args.get("msg_signature", ""), timestamp, nonce,
                                                     args.get("echostr", "")))
            check_signature(token, args.get("signature", ""), timestamp, nonce)
            return _plain(args.get("echostr", ""))
        raw = request.get_data()
        if crypto is not None:
            xml = crypto.decrypt_message(raw, args.get("msg_signature", ""), timestamp, nonce)
        else:
            check_signature(token, args.get("signature", ""), timestamp, nonce)
            xml = raw
    except (InvalidSignatureException, InvalidAppIdException):
        return _plain("invalid signature", 403)
    except Exception:  # malformed XML / ciphertext: the sender's problem, never a 500
        return _plain("bad request", 400)
    try:
        msg = parse_message(xml)
    except Exception:
        return _plain("bad request", 400)
    data: dict[str, Any] = getattr(msg, "_data", {}) or {}
    if data.get("MsgType") == "event" and data.get("Event") == "PUBLISHJOBFINISH":
        info = data.get("PublishEventInfo") or {}
        if isinstance(info, dict):
            callbacks.publish_finished(account, info)
    elif data.get("MsgType") == "event" and data.get("Event") == "MASSSENDJOBFINISH":
        callbacks.mass_finished(account, data)
    elif data.get("MsgType") == "text":  # a follower's message: to the unit's inbox (issue 16)
        reply = interaction_intake.wechat_text(account.id, data)
        if reply:
            from wechatpy.replies import TextReply

            xml_reply = TextReply(message=msg, content=reply).render()
            if crypto is not None:
                xml_reply = crypto.encrypt_message(xml_reply, nonce, timestamp)
            return Response(xml_reply, mimetype="application/xml")
    return _plain("success")


# -- Atom feed per account --------------------------------------------------------------------
ATOM = "http://www.w3.org/2005/Atom"


@bp.get("/feeds/accounts/<int:account_id>.atom")
def account_feed(account_id: int):
    s = db.session()
    account = s.get(Account, account_id)
    if account is None or account.status not in ("active", "suspended"):
        abort(404)
    rows = s.scalars(select(Dispatch).join(Post, Post.id == Dispatch.post_id).where(
        Dispatch.account_id == account.id, Dispatch.status == "published", Post.status != "withdrawn")
        .order_by(Dispatch.published_at.desc()).limit(50)).unique().all()
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    ET.SubElement(feed, f"{{{ATOM}}}title").text = f"{account.name}（{account.unit.name}）"
    ET.SubElement(feed, f"{{{ATOM}}}id").text = f"{request.url_root.rstrip('/')}/feeds/accounts/{account.id}"
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=request.url)
    updated = max((d.published_at for d in rows if d.published_at), default=account.created_at)
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = iso(updated)
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    ET.SubElement(author, f"{{{ATOM}}}name").text = account.unit.name
    for d in rows:
        rev = d.revision
        variant = (rev.variants or {}).get(account.platform) or {}
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        ET.SubElement(entry, f"{{{ATOM}}}id").text = f"urn:zhengwu-hub:dispatch:{d.id}"
        ET.SubElement(entry, f"{{{ATOM}}}title").text = variant.get("title") or rev.title
        if d.url:
            ET.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", href=d.url)
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = iso(d.published_at or d.updated_at)
        ET.SubElement(entry, f"{{{ATOM}}}published").text = iso(d.published_at or d.updated_at)
        if rev.author:
            a = ET.SubElement(entry, f"{{{ATOM}}}author")
            ET.SubElement(a, f"{{{ATOM}}}name").text = rev.author
        if variant.get("summary") or rev.summary:
            ET.SubElement(entry, f"{{{ATOM}}}summary").text = variant.get("summary") or rev.summary
        ET.SubElement(entry, f"{{{ATOM}}}content", type="html").text = rev.content
    for el in feed.iter():  # old data may hold characters XML cannot carry (titles are checked since issue 20)
        if el.text:
            el.text = xml_text(el.text)
        for k, v in el.attrib.items():
            el.set(k, xml_text(v))
    body = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    resp = Response(body, mimetype="application/atom+xml")
    resp.headers["Cache-Control"] = "public, max-age=60"
    return resp
