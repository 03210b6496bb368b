"""Platform accounts and their credentials (write-only, kept in the vault)."""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.registry import UnknownPlatform, get_adapter, platforms

from .. import audit
from ..content import generated_cover
from ..errors import BadRequest, Conflict, Forbidden, NotFound, Unprocessable
from ..models import Account, Credential, Unit, User, utcnow
from ..permissions import can_see_account, is_admin_of
from ..vault import Sealed, Vault
from .posts import store_media


def get_vault() -> Vault:
    return current_app.extensions["hub_vault"]


def validate_api_base(value: str) -> str:
    """scheme://host[:port]; plain http only to loopback (simulators)."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Unprocessable("接口地址必须形如 https://api.weixin.qq.com", code="invalid_api_base")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise Unprocessable("接口地址只能包含协议、主机和端口，不能带路径或参数", code="invalid_api_base")
    try:
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        raise Unprocessable("接口地址的端口无效", code="invalid_api_base") from None
    if parts.scheme == "http":
        host = parts.hostname
        loopback = host == "localhost"
        try:
            loopback = loopback or ipaddress.ip_address(host).is_loopback
        except ValueError:
            pass
        if not loopback:
            raise Unprocessable("非本机地址必须使用 https", code="insecure_api_base")
    return f"{parts.scheme}://{parts.netloc}"


def get_account(session: Session, user: User, account_id: int) -> Account:
    acc = session.get(Account, account_id)
    if acc is None or not can_see_account(session, user, acc):
        raise NotFound("账号不存在或无权查看", code="account_not_found")
    return acc


def create_account(session: Session, user: User | None, data: Any, *, actor: Any = None) -> Account:
    if not isinstance(data, dict):
        raise BadRequest("请求体必须是 JSON 对象", code="invalid_body")
    unit_code = data.get("unit")
    if not isinstance(unit_code, str) or not unit_code:
        raise BadRequest("缺少 unit（单位代码）", code="missing_unit")
    unit = session.scalars(select(Unit).where(Unit.code == unit_code)).first()
    if unit is None:
        raise Unprocessable(f"单位 {unit_code} 不存在", code="unknown_unit")
    if user is not None and not is_admin_of(session, user, unit.id):
        raise Forbidden("只有该单位的管理员可以开设账号", code="not_admin")
    platform = data.get("platform")
    name = data.get("name")
    if not isinstance(platform, str) or not platform:
        raise BadRequest("缺少 platform", code="missing_platform")
    if not isinstance(name, str) or not name.strip():
        raise BadRequest("缺少账号名称 name", code="missing_name")
    if len(name) > 200:
        raise Unprocessable("账号名称过长", code="name_too_long")
    try:
        adapter = get_adapter(platform)
    except UnknownPlatform:
        raise Unprocessable(f"不支持的平台：{platform}（可选：{', '.join(platforms())}）",
                            code="unknown_platform") from None
    api_base = data.get("api_base") or adapter.default_api_base
    if not isinstance(api_base, str):
        raise BadRequest("api_base 必须是字符串", code="invalid_api_base")
    api_base = validate_api_base(api_base)
    is_main = data.get("is_main", True)
    if not isinstance(is_main, bool):
        raise BadRequest("is_main 必须是布尔值", code="invalid_is_main")
    justification = data.get("justification") or ""
    if not isinstance(justification, str):
        raise BadRequest("justification 必须是字符串", code="invalid_justification")
    if not is_main and not justification.strip():
        raise Unprocessable("开设非主账号必须写明理由（justification）", code="missing_justification")
    if is_main:
        existing = session.scalars(select(Account).where(
            Account.unit_id == unit.id, Account.platform == platform, Account.is_main.is_(True),
            Account.status != "closed")).first()
        if existing:
            raise Conflict(f"本单位在该平台已有主账号「{existing.name}」，每个单位每个平台只能有一个主账号",
                           code="main_account_exists", account_id=existing.id)
    acc = Account(unit_id=unit.id, platform=platform, name=name.strip(), api_base=api_base, status="active",
                  is_main=is_main, justification=justification.strip() or None)
    cover = store_media(session, unit.id, "image/jpeg", generated_cover(name, f"{unit.code}/{name}"))
    acc.default_cover_id = cover.id
    session.add(acc)
    session.flush()
    audit.record(session, "account.create", object_type="account", object_id=acc.id, unit=unit,
                 summary=f"开设{adapter.label}账号「{acc.name}」",
                 details={"platform": platform, "api_base": api_base, "is_main": is_main}, actor=actor)
    return acc


def set_credentials(session: Session, user: User | None, account: Account, data: Any,
                    *, actor: Any = None) -> list[str]:
    """Replace the given fields (partial update). Returns the field names written."""
    if user is not None and not is_admin_of(session, user, account.unit_id):
        raise Forbidden("只有该账号所属单位的管理员可以管理凭据", code="not_admin")
    if account.status == "closed":
        raise Conflict("账号已关闭，不能设置凭据", code="account_closed")
    if not isinstance(data, dict) or not data:
        raise BadRequest("请求体必须是包含凭据字段的 JSON 对象", code="invalid_body")
    adapter = get_adapter(account.platform)
    allowed = {f.name for f in adapter.credential_fields}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise BadRequest(f"未知凭据字段：{', '.join(unknown)}（可用：{', '.join(sorted(allowed))}）",
                         code="unknown_credential_field")
    for k, v in data.items():
        if not isinstance(v, str) or not v.strip() or len(v) > 4096:
            raise BadRequest(f"凭据字段 {k} 必须是非空字符串", code="invalid_credential_value", field=k)
    vault = get_vault()
    existing = {c.field: c for c in account.credentials}
    for k, v in sorted(data.items()):
        cred = existing.get(k)
        version = (cred.version + 1) if cred else 1
        sealed = vault.seal(account.id, k, version, v.strip())
        if cred is None:
            cred = Credential(account_id=account.id, field=k)
            session.add(cred)
            account.credentials.append(cred)
        cred.version, cred.key_version = version, sealed.key_version
        cred.wrapped_key, cred.ciphertext = sealed.wrapped_key, sealed.ciphertext
        cred.changed_at = utcnow()
        cred.changed_by_id = user.id if user else None
    session.flush()
    audit.record(session, "account.credentials_set", object_type="account", object_id=account.id,
                 unit=account.unit, summary=f"更新账号「{account.name}」的凭据：{', '.join(sorted(data))}",
                 details={"credential_fields": sorted(data)}, actor=actor)
    return sorted(data)


def decrypt_credentials(account: Account, vault: Vault) -> dict[str, str]:
    """Plaintext credentials of an account: only for the worker or an admin's explicit verify."""
    return {c.field: vault.open(account.id, c.field, c.version,
                                Sealed(c.key_version, c.wrapped_key, c.ciphertext))
            for c in account.credentials}


def credential_status(account: Account) -> dict[str, dict[str, Any]]:
    adapter = get_adapter(account.platform)
    have = {c.field: c for c in account.credentials}
    out: dict[str, dict[str, Any]] = {}
    for f in adapter.credential_fields:
        c = have.get(f.name)
        out[f.name] = {"set": c is not None, "label": f.label, "required": f.required,
                       "changed_at": c.changed_at.isoformat() + "Z" if c else None}
    return out


def verify_account(session: Session, user: User | None, account: Account, *, actor: Any = None) -> tuple[bool, str]:
    """A real call to the platform with the stored credentials (admin only; audited)."""
    from ..queue import RedisTokenCache, get_redis
    from ..vault import VaultError

    if user is not None and not is_admin_of(session, user, account.unit_id):
        raise Forbidden("只有该账号所属单位的管理员可以验证凭据", code="not_admin")
    try:
        creds = decrypt_credentials(account, get_vault())
    except VaultError:
        ok, message = False, "凭据无法解密（可能被篡改或密钥不匹配）"
        creds = None
    if creds is not None:
        adapter = get_adapter(account.platform)(account.api_base, creds,
                                                RedisTokenCache(get_redis(current_app.config)))
        ok, message = adapter.verify_credentials()
        del creds
    audit.record(session, "account.credentials_verify", object_type="account", object_id=account.id,
                 unit=account.unit, summary=f"验证账号「{account.name}」的凭据：{'成功' if ok else '失败'}",
                 details={"ok": ok, "message": message}, actor=actor)
    return ok, message
