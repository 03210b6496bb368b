"""Web pages of notifications, added to the web blueprint (see hub.web): the bell's count on every
page, 我的通知 (the list, mark read), 通知设置 (a person's channels and digest mode) and, for a unit's
admins, its notification channels."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from hub.db import db
from hub.errors import HubError
from hub.inputs import parse_id
from hub.notify import channels as channels_svc
from hub.notify import inbox
from hub.notify.events import absolute
from hub.web.base import run_action

bp = Blueprint("notify", __name__)
__all__ = ["bp"]


@bp.app_context_processor
def _bell() -> dict[str, Any]:
    count = 0
    if current_user.is_authenticated and "web" in request.blueprints:
        try:
            count = inbox.unread_count(db.session(), current_user)
        except Exception:  # never let a badge break a page
            count = 0
    return {"notify_unread": count}


@bp.get("/notifications")
@login_required
def inbox_page():
    s = db.session()
    rows = inbox.items(s, current_user, unread_only=request.args.get("unread") == "1")
    return render_template("notify/inbox.html", rows=rows, kind_labels=inbox.KIND_LABELS,
                           unread_only=request.args.get("unread") == "1")


@bp.post("/notifications/<int:notification_id>/open")
@login_required
def open_item(notification_id: int):
    """Mark read and go where the notification points."""
    try:
        with db.transaction() as s:
            n = inbox.mark_read(s, current_user, notification_id)
            link = n.link
    except HubError:
        abort(404)
    return redirect(link if link.startswith("/") and not link.startswith("//") else url_for("web.notify.inbox_page"))


@bp.post("/notifications/read-all")
@login_required
def read_all():
    run_action(lambda s: inbox.mark_all_read(s, current_user), _("全部通知已标为已读"))
    return redirect(url_for("web.notify.inbox_page"))


@bp.route("/settings/notifications", methods=["GET", "POST"])
@login_required
def settings_page():
    if request.method == "POST":
        f = request.form
        run_action(lambda s: inbox.set_preferences(
            s, current_user, email=f.get("email", "")[:254], email_on=f.get("email_on") == "1",
            wecom_on=f.get("wecom_on") == "1", dingtalk_on=f.get("dingtalk_on") == "1",
            digest=f.get("digest") == "1", wecom_userid=f.get("wecom_userid", "")[:64]), _("通知设置已保存"))
        return redirect(url_for("web.notify.settings_page"))
    return render_template("notify/settings.html", pref=inbox.preferences(db.session(), current_user))


@bp.route("/units/<code>/notifications", methods=["GET", "POST"])
@login_required
def unit_channels_page(code: str):
    s = db.session()
    try:
        unit = channels_svc.unit_for_admin(s, current_user, code)
    except HubError as exc:
        abort(404 if exc.status == 404 else 403)
    if request.method == "POST":
        f = request.form
        current = channels_svc.view(s, current_user, code)["channels"]
        keep = [{"id": c["id"], "kind": c["kind"], "name": c["name"], "msgtype": c["msgtype"], "to": c["to"],
                 "username": c["username"], "corpid": c["corpid"], "agentid": c["agentid"],
                 "api_base": c["api_base"], "enabled": c["enabled"]} for c in current]
        if f.get("action") == "delete":
            drop = parse_id(f.get("channel_id", ""))
            keep = [c for c in keep if c["id"] != drop]
            message = _("通知渠道已删除")
        else:
            item: dict[str, Any] = {"kind": f.get("kind", ""), "name": f.get("name", "")[:100],
                                    "msgtype": f.get("msgtype") or "markdown"}
            if f.get("url"):
                item["url"] = f.get("url", "")[:1000]
            if f.get("secret"):
                item["secret"] = f.get("secret", "")[:500]
            if item["kind"] == "email":
                item.pop("msgtype")
                item["to"] = [a.strip() for a in f.get("to", "").replace("，", ",").split(",") if a.strip()][:50]
                item["username"] = f.get("username", "")[:200]
            if item["kind"] == "wecom_app":
                item.pop("url", None)
                item["corpid"] = f.get("corpid", "")[:64]
                item["agentid"] = parse_id(f.get("agentid", ""))
            keep.append(item)
            message = _("通知渠道已添加")
        run_action(lambda s2: channels_svc.set_channels(s2, current_user, code, {"channels": keep}), message)
        return redirect(url_for("web.notify.unit_channels_page", code=code))
    view = channels_svc.view(s, current_user, code)
    return render_template("notify/channels.html", unit=unit, channels=view["channels"],
                           kind_labels=channels_svc.KIND_LABELS, external=absolute("/"))
