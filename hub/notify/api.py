"""REST endpoints of notifications, added to the API blueprint (see hub.api).

* ``GET /notifications[?unread=1&limit=n]`` — the caller's in-app notifications, newest first, and the
  unread count; ``POST /notifications/<id>/read`` marks one read.
* ``GET|PUT /units/<code>/notifications {"channels": [{"kind": "wecom"|"dingtalk"|"email", "url"?,
  "secret"?, ...}]}`` — the unit's outside channels, for its admins; URL and secret write-only.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from hub.api.base import body, lenient_body, user
from hub.api.openapi import contract
from hub.contracts import NoBody
from hub.db import db
from hub.errors import BadRequest
from hub.notify import channels as channels_svc
from hub.notify import inbox
from hub.notify.schemas import ChannelsIn, ChannelsOut, NotificationOut, NotificationsOut

bp = Blueprint("notify", __name__)
__all__ = ["bp"]

SEEN = {404: "unknown unit, or not visible to the caller"}


@bp.get("/notifications")
@contract("The caller's in-app notifications, newest first, with the unread count", out=NotificationsOut,
          query={"unread": bool, "limit": int}, errors={400: "bad limit"})
def notifications():
    raw = request.args.get("limit", "100")
    if not raw.isdigit() or not 1 <= int(raw) <= 500:
        raise BadRequest("limit 必须是 1 到 500 之间的整数", code="invalid_limit")
    unread_only = request.args.get("unread", "").lower() in ("1", "true", "yes")
    s = db.session()
    rows = inbox.items(s, user(), unread_only=unread_only, limit=int(raw))
    return jsonify(NotificationsOut.model_validate(
        {"unread": inbox.unread_count(s, user()), "notifications": [inbox.item_json(n) for n in rows]}).dump())


@bp.post("/notifications/<int:notification_id>/read")
@contract("Mark one of the caller's notifications read", out=NotificationOut, body=NoBody, body_required=False,
          errors={404: "not one of the caller's notifications"})
def notification_read(notification_id: int):
    body(optional=True)
    with db.transaction() as s:
        n = inbox.mark_read(s, user(), notification_id)
        out = inbox.item_json(n)
    return jsonify(NotificationOut.model_validate(out).dump())


@bp.get("/units/<code>/notifications")
@contract("The unit's notification channels (企业微信 / 钉钉 group robots, e-mail); URLs without their key, "
          "secrets only as set or not", out=ChannelsOut, errors={**SEEN, 403: "not an admin of the unit"})
def get_unit_channels(code: str):
    return jsonify(ChannelsOut.model_validate(channels_svc.view(db.session(), user(), code)).dump())


@bp.put("/units/<code>/notifications")
@contract("Replace the unit's notification channels: {channels: [{id?, kind, name?, url?, secret?, msgtype?, "
          "to?, username?, enabled?}]}; a channel with id keeps its URL and secret unless given; "
          "channels left out are removed", out=ChannelsOut, body=ChannelsIn,
          errors={**SEEN, 403: "not an admin of the unit", 400: "invalid channels"})
def put_unit_channels(code: str):
    data = lenient_body()
    with db.transaction() as s:
        channels_svc.set_channels(s, user(), code, data)
    return jsonify(ChannelsOut.model_validate(channels_svc.view(db.session(), user(), code)).dump())
