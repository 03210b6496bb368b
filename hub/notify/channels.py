"""A unit's outside channels: 企业微信 and 钉钉 group robots, and e-mail.

The webhook URL (its query carries the robot's key or token) and the 钉钉 signing secret or SMTP
password are sealed in the vault (hub/vault.py, as account 0 with the field ``notify:<channel>:<name>``)
and never shown back: the API and pages show the URL without its query and whether a secret is set.
Changes are audited, with no URL or secret in the entry.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub import audit
from hub.contracts import parse
from hub.errors import BadRequest, Forbidden, NotFound
from hub.i18n_marks import N_
from hub.inputs import control_char
from hub.models import NotifyChannel, NotifySecret, Unit, User, utcnow
from hub.notify.schemas import ChannelsIn
from hub.org.service import unit_by_code
from hub.permissions import is_admin_of, subtree_ids, visible_unit_ids
from hub.times import iso
from hub.vault import Sealed, Vault

KIND_LABELS = {"wecom": N_("企业微信群机器人"), "wecom_app": N_("企业微信应用消息"), "dingtalk": N_("钉钉群机器人"),
               "email": N_("电子邮件")}
WECOM_API = "https://qyapi.weixin.qq.com"
EMAIL_RE = re.compile(r"^[^@\s<>,;\x00-\x1f\x7f]{1,64}@[^@\s<>,;\x00-\x1f\x7f]{1,190}$")
ERRORS = {"channels": BadRequest("channels 必须是不超过 20 项的列表，每项含 kind（wecom、dingtalk 或 email）",
                                 code="invalid_channels"),
          "*": BadRequest("请求体应为 {\"channels\": [...]}", code="invalid_body")}


def vault() -> Vault:
    return current_app.extensions["hub_vault"]


def _field(channel_id: int, name: str) -> str:
    return f"notify:{channel_id}:{name}"


def url_hint(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.hostname or "", parts.path, "", ""))[:300]


def unit_for_admin(session: Session, user: User, code: str) -> Unit:
    """The unit named ``code`` if ``user`` administers it (404 if they cannot see it, else 403)."""
    unit = unit_by_code(session, code)
    mine = visible_unit_ids(session, user)
    if unit.id not in mine and not subtree_ids(session, unit.id) & mine:
        raise NotFound(f"单位 {code} 不存在", code="unit_not_found")
    if not is_admin_of(session, user, unit.id):
        raise Forbidden("只有本单位或上级单位的管理员可以配置通知渠道", code="not_admin")
    return unit


def secrets_of(session: Session, channel: NotifyChannel) -> dict[str, str]:
    """The channel's opened URL and secret: only for the worker that sends."""
    from hub.accounts.vault_admin import min_decryption_version

    floor = min_decryption_version(session)
    out = {}
    for row in session.scalars(select(NotifySecret).where(NotifySecret.channel_id == channel.id)):
        out[row.name] = vault().open(0, row.field, row.version, Sealed(row.key_version, row.wrapped_key,
                                                                           row.ciphertext), min_version=floor)
    return out


def _set_secret(session: Session, channel: NotifyChannel, name: str, value: str) -> None:
    from hub.accounts.vault_admin import ensure_current_key

    row = session.scalars(select(NotifySecret).where(NotifySecret.channel_id == channel.id,
                                                     NotifySecret.name == name)).first()
    if not value:
        if row is not None:
            session.delete(row)
        return
    v = vault()
    ensure_current_key(session, v)
    version = (row.version + 1) if row else 1
    sealed = v.seal(0, _field(channel.id, name), version, value)
    if row is None:
        row = NotifySecret(channel_id=channel.id, name=name, field=_field(channel.id, name))
        session.add(row)
    row.version, row.key_version = version, sealed.key_version
    row.wrapped_key, row.ciphertext, row.changed_at = sealed.wrapped_key, sealed.ciphertext, utcnow()


def _has_secret(session: Session, c: NotifyChannel) -> bool:
    return session.scalar(select(NotifySecret.id).where(NotifySecret.channel_id == c.id,
                                                        NotifySecret.name == "secret")) is not None


def channel_json(session: Session, c: NotifyChannel) -> dict[str, Any]:
    names = set(session.scalars(select(NotifySecret.name).where(NotifySecret.channel_id == c.id)))
    opts = c.options or {}
    return {"id": c.id, "kind": c.kind, "name": c.name, "url": c.url_hint or None, "url_set": "url" in names,
            "secret_set": "secret" in names, "msgtype": opts.get("msgtype", "markdown"),
            "to": list(opts.get("to", [])), "username": opts.get("username", ""),
            "corpid": opts.get("corpid", ""), "agentid": opts.get("agentid"), "api_base": opts.get("api_base", ""),
            "enabled": c.enabled,
            "updated_at": iso(c.updated_at)}


def unit_channels(session: Session, unit_id: int) -> list[NotifyChannel]:
    return list(session.scalars(select(NotifyChannel).where(NotifyChannel.unit_id == unit_id)
                                .order_by(NotifyChannel.id)))


def view(session: Session, user: User, code: str) -> dict[str, Any]:
    unit = unit_for_admin(session, user, code)
    return {"unit": unit.code, "channels": [channel_json(session, c) for c in unit_channels(session, unit.id)]}


def _check_url(url: str) -> None:
    bad = BadRequest("url 必须是 http:// 或 https:// 开头的完整地址", code="invalid_url", field="url")
    if control_char(url) or " " in url:
        raise bad
    try:
        parts = urllib.parse.urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        _ = parts.port  # a port that is not a number raises here
    except ValueError:
        raise bad from None
    if not ok:
        raise bad


def set_channels(session: Session, user: User, code: str, body: Any) -> Unit:
    """PUT: the unit's whole list. A channel with ``id`` is changed (its URL and secret stay unless
    given), one without is added, channels left out are removed."""
    unit = unit_for_admin(session, user, code)
    data = parse(ChannelsIn, body, ERRORS)
    existing = {c.id: c for c in unit_channels(session, unit.id)}
    kept: set[int] = set()
    changes: list[dict[str, Any]] = []
    for i, item in enumerate(data.channels):
        if item.id is not None:
            c = existing.get(item.id)
            if c is None or item.id in kept:
                raise BadRequest(f"第 {i + 1} 项：本单位没有编号为 {item.id} 的通知渠道", code="unknown_channel")
            if c.kind != item.kind:
                raise BadRequest(f"第 {i + 1} 项：渠道类型不能修改，请删除后新建", code="kind_changed")
            kept.add(c.id)
        else:
            c = None
        if item.url is not None and item.url != "":
            _check_url(item.url)
        if item.api_base:
            _check_url(item.api_base)
        if item.kind == "wecom_app":
            if not item.corpid.strip() or item.agentid is None or control_char(item.corpid):
                raise BadRequest(f"第 {i + 1} 项：企业微信应用消息需要 corpid（企业ID）和 agentid（应用 AgentId）",
                                 code="missing_app", field="corpid")
            if not item.secret and (c is None or not _has_secret(session, c)):
                raise BadRequest(f"第 {i + 1} 项：企业微信应用消息需要 secret（应用的 Secret）", code="missing_secret",
                                 field="secret")
        if item.kind in ("wecom", "dingtalk") and not item.url and (c is None or not c.url_hint):
            raise BadRequest(f"第 {i + 1} 项：{KIND_LABELS[item.kind]}需要 url（机器人的 Webhook 地址）",
                             code="missing_url", field="url")
        for text in (item.name, item.username, item.secret or ""):
            if control_char(text):
                raise BadRequest(f"第 {i + 1} 项：名称、登录名和密钥不能含有控制字符", code="invalid_text")
        bad = [a for a in item.to if not EMAIL_RE.match(a)]
        if bad:
            raise BadRequest(f"第 {i + 1} 项：邮件地址不正确", code="invalid_email", field="to")
        if c is None:
            c = NotifyChannel(unit_id=unit.id, kind=item.kind)
            session.add(c)
        c.name = item.name.strip()
        c.enabled = item.enabled
        if item.kind == "email":
            c.options = {"to": item.to, "username": item.username.strip()}
        elif item.kind == "wecom_app":
            c.options = {"corpid": item.corpid.strip(), "agentid": item.agentid,
                         "api_base": (item.api_base or WECOM_API).rstrip("/")}
        else:
            c.options = {"msgtype": item.msgtype}
        c.updated_at, c.updated_by_id = utcnow(), user.id
        session.flush()
        if item.url is not None and item.kind in ("wecom", "dingtalk"):
            _set_secret(session, c, "url", item.url)
            c.url_hint = url_hint(item.url) if item.url else ""
        if item.secret is not None:
            _set_secret(session, c, "secret", item.secret)
        changes.append({"id": c.id, "kind": c.kind, "enabled": c.enabled, "url_changed": item.url is not None,
                        "signing_key_set": item.secret is not None})
    removed = [cid for cid in existing if cid not in kept]
    for cid in removed:
        session.delete(existing[cid])
    session.flush()
    audit.record(session, "notify.channels", object_type="unit", object_id=unit.code, unit=unit,
                 summary=f"修改通知渠道：{len(data.channels)} 个"
                         + "（" + "、".join(KIND_LABELS[ch["kind"]] for ch in changes) + "）" if changes else
                         "删除全部通知渠道",
                 details={"channels": changes, "removed": removed})
    return unit
