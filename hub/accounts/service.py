"""Platform accounts: the filed register (备案) and their credentials (write-only, kept in the vault).

An account is created ``pending`` with an opening filing; it becomes ``active`` when the
filing is approved up the unit tree (see ``hub.accounts.filing``). Changes and closure
are filings too. Credentials can be written while the account is being filed.

Credential values never leave this module except to the worker's adapter, the admin's
explicit verify, the one-time display of a generated password, and an audited reveal.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
import string
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session

from adapters.registry import UnknownPlatform, get_adapter, platforms
from hub import audit
from hub.accounts import filing as filing_svc
from hub.accounts.credential_state import (  # noqa: F401  (re-exported)
    DEFAULT_MAX_AGE_DAYS,
    credential_status,
    credential_statuses,
    max_age_days,
    revealable,
)
from hub.authz import require_role
from hub.config import default, get_settings
from hub.content import generated_cover
from hub.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    HubError,
    NotFound,
    TooManyRequests,
    Unprocessable,
    VaultLocked,
)
from hub.models import Account, AuditEntry, Credential, CredentialArchive, RotationTask, Unit, User, utcnow
from hub.models.account import ONE_MAIN_INDEX
from hub.models.audit import REVEAL_ACTIONS
from hub.models.states import ACCOUNT, FILING, AccountStatus, FilingStatus
from hub.permissions import can_see_account, is_admin_of, overseen_unit_ids
from hub.posts.media import store_media
from hub.security import verify_password
from hub.vault import Sealed, Vault, VaultError

DEFAULT_GRACE_DAYS: int = default("HUB_CREDENTIAL_GRACE_DAYS")
DEFAULT_REVEALS_PER_HOUR: int = default("HUB_REVEALS_PER_HOUR")
PHONE_RE = re.compile(r"^[0-9+\-() ]{5,30}$")
TEXT_LIMITS = {"host_unit": 200, "operating_unit": 200, "responsible_person": 100,
               "certification_name": 200}


def get_vault() -> Vault:
    return current_app.extensions["hub_vault"]


def grace_days() -> int:
    """How long a replaced credential version is kept for rollback (``HUB_CREDENTIAL_GRACE_DAYS``, default 7)."""
    return max(0, get_settings(current_app.config).credential_grace_days)


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


def _require_admin(session: Session, user: User | None, account_or_unit: Account | Unit, what: str) -> None:
    unit_id = account_or_unit.unit_id if isinstance(account_or_unit, Account) else account_or_unit.id
    if user is not None and not is_admin_of(session, user, unit_id):
        raise Forbidden(f"只有该账号所属单位的管理员可以{what}", code="not_admin")


# -- filed data ---------------------------------------------------------------------------
def parse_filed_fields(data: dict[str, Any]) -> dict[str, Any]:
    """Validate the filing fields present in ``data``; returns them normalised (dates as ISO strings)."""
    out: dict[str, Any] = {}
    for key, limit in TEXT_LIMITS.items():
        if key in data:
            v = data[key]
            if v is not None and not isinstance(v, str):
                raise BadRequest(f"{key} 必须是字符串", code="invalid_field", field=key)
            v = (v or "").strip()
            if len(v) > limit:
                raise Unprocessable(f"{key} 不能超过 {limit} 个字符", code="field_too_long", field=key)
            out[key] = v or None
    if "responsible_phone" in data:
        v = data["responsible_phone"]
        if v is not None and not isinstance(v, str):
            raise BadRequest("responsible_phone 必须是字符串", code="invalid_field", field="responsible_phone")
        v = (v or "").strip()
        if v and not PHONE_RE.match(v):
            raise Unprocessable("联系电话格式不正确（数字、空格、+、-、括号，5–30 位）", code="invalid_phone",
                                field="responsible_phone")
        out["responsible_phone"] = v or None
    if "launch_date" in data:
        out["launch_date"] = parse_date(data["launch_date"], "launch_date")
    if "ipv6" in data:
        v = data["ipv6"]
        if v is not None and not isinstance(v, bool):
            raise BadRequest("ipv6 必须是布尔值或 null", code="invalid_field", field="ipv6")
        out["ipv6"] = v
    return out


def parse_date(v: Any, key: str) -> str | None:
    """An optional YYYY-MM-DD date, returned as its ISO string."""
    if v is None or v == "":
        return None
    if not isinstance(v, str):
        raise BadRequest(f"{key} 必须是 YYYY-MM-DD 格式的日期", code="invalid_date", field=key)
    try:
        return date.fromisoformat(v.strip()).isoformat()
    except ValueError:
        raise BadRequest(f"{key} 必须是 YYYY-MM-DD 格式的日期", code="invalid_date", field=key) from None


def _parse_name(v: Any) -> str:
    if not isinstance(v, str) or not v.strip():
        raise BadRequest("缺少账号名称 name", code="missing_name")
    if len(v) > 200:
        raise Unprocessable("账号名称过长", code="name_too_long")
    return v.strip()


def _is_one_main_violation(exc: IntegrityError) -> bool:
    """Whether ``exc`` is the one-main-account index (PostgreSQL names it; SQLite names its columns)."""
    text_ = str(exc.orig)
    return ONE_MAIN_INDEX in text_ or "accounts.unit_id, accounts.platform" in text_


MANUAL = "manual"


def _parse_platform_name(platform: str, v: Any) -> str:
    """A manual-publish account names its platform (视频号, 头条号, 人民号 or any other); others do not."""
    if platform != MANUAL:
        if v not in (None, ""):
            raise BadRequest("只有人工发布账号（platform 为 manual）填写 platform_name", code="invalid_platform_name",
                             field="platform_name")
        return ""
    if not isinstance(v, str) or not v.strip():
        raise BadRequest("人工发布账号必须填写平台名称 platform_name（如 视频号、头条号、人民号）",
                         code="missing_platform_name", field="platform_name")
    v = v.strip()
    if len(v) > 50 or any(ord(c) < 32 for c in v):
        raise Unprocessable("平台名称不得超过 50 个字符，且不能含控制字符", code="invalid_platform_name",
                            field="platform_name")
    return v


def _check_main(session: Session, unit: Unit, platform: str, exclude_id: int | None = None,
                platform_name: str = "") -> None:
    stmt = select(Account).where(Account.unit_id == unit.id, Account.platform == platform,
                                 Account.platform_name == platform_name,
                                 Account.is_main.is_(True), Account.status != "closed")
    if exclude_id is not None:
        stmt = stmt.where(Account.id != exclude_id)
    existing = session.scalars(stmt).first()
    if existing:
        raise Conflict(f"本单位在该平台已有主账号「{existing.name}」，每个单位每个平台只能有一个主账号",
                       code="main_account_exists", account_id=existing.id)


def create_account(session: Session, user: User | None, data: Any, *, actor: Any = None) -> Account:
    """Open an account: it is ``pending`` with an opening filing until approved up the unit tree."""
    if user is not None:  # a caller who is nobody's admin is 403 whatever the body (DESIGN's order)
        require_role("api.accounts.create_account", {g.role for g in user.roles})
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
    if not isinstance(platform, str) or not platform:
        raise BadRequest("缺少 platform", code="missing_platform")
    name = _parse_name(data.get("name"))
    try:
        adapter = get_adapter(platform)
    except UnknownPlatform:
        raise Unprocessable(f"不支持的平台：{platform}（可选：{', '.join(platforms())}）",
                            code="unknown_platform") from None
    platform_name = _parse_platform_name(platform, data.get("platform_name"))
    api_base = data.get("api_base") or adapter.default_api_base
    if not isinstance(api_base, str):
        raise BadRequest("api_base 必须是字符串", code="invalid_api_base")
    if platform == MANUAL:
        api_base = ""  # nothing is called: an editor publishes by hand (hub/dispatch/manual.py)
    else:
        api_base = validate_api_base(api_base)
    is_main = data.get("is_main", True)
    if not isinstance(is_main, bool):
        raise BadRequest("is_main 必须是布尔值", code="invalid_is_main")
    justification = data.get("justification") or ""
    if not isinstance(justification, str):
        raise BadRequest("justification 必须是字符串", code="invalid_justification")
    if not is_main and not justification.strip():
        raise Unprocessable("开设非主账号必须写明理由（justification）", code="missing_justification")
    filed = parse_filed_fields(data)
    if is_main:
        _check_main(session, unit, platform, platform_name=platform_name)
    acc = Account(unit_id=unit.id, platform=platform, platform_name=platform_name, name=name, api_base=api_base,
                  status=ACCOUNT.check(None, AccountStatus.PENDING),
                  is_main=is_main, justification=justification.strip() or None)
    acc.unit = unit
    filed.setdefault("host_unit", None)
    filed.setdefault("operating_unit", None)
    filed["host_unit"] = filed["host_unit"] or unit.name
    filed["operating_unit"] = filed["operating_unit"] or unit.name
    filing_svc.apply_snapshot(acc, filed)
    cover = store_media(session, unit.id, "image/jpeg", generated_cover(name, f"{unit.code}/{name}"))
    acc.default_cover_id = cover.id
    session.add(acc)
    try:
        session.flush()
    except IntegrityError as exc:
        if not _is_one_main_violation(exc):
            raise
        # Another request opened the unit's main account on this platform since _check_main looked.
        raise Conflict("本单位在该平台已有主账号，每个单位每个平台只能有一个主账号",
                       code="main_account_exists") from None
    audit.record(session, "account.create", object_type="account", object_id=acc.id, unit=unit,
                 summary=f"开设{platform_name or adapter.label}账号「{acc.name}」（待备案审批）",
                 details={"platform": platform, "platform_name": platform_name, "api_base": api_base,
                          "is_main": is_main}, actor=actor)
    filing_svc.submit(session, acc, "open", filing_svc.snapshot_of(acc), user)
    return acc


def update_account(session: Session, user: User | None, account: Account, data: Any) -> Account:
    """Change an account. ``api_base`` applies at once; filed data goes through a change filing
    (for a pending account: the data is updated and the opening filing submitted afresh)."""
    _require_admin(session, user, account, "修改账号")
    if account.status == "closed":
        raise Conflict("账号已关闭，不能修改", code="account_closed")
    if not isinstance(data, dict):
        raise BadRequest("请求体必须是 JSON 对象", code="invalid_body")
    allowed = set(filing_svc.FILED_FIELDS) | {"api_base"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise BadRequest(f"不能修改的字段：{', '.join(unknown)}（可改：{', '.join(sorted(allowed))}）",
                         code="unknown_field")
    changes = parse_filed_fields(data)
    if "name" in data:
        changes["name"] = _parse_name(data["name"])
    if "is_main" in data:
        if not isinstance(data["is_main"], bool):
            raise BadRequest("is_main 必须是布尔值", code="invalid_is_main")
        changes["is_main"] = data["is_main"]
    if "justification" in data:
        if data["justification"] is not None and not isinstance(data["justification"], str):
            raise BadRequest("justification 必须是字符串", code="invalid_justification")
        changes["justification"] = (data["justification"] or "").strip() or None
    new_base = None
    if "api_base" in data:
        if not isinstance(data["api_base"], str):
            raise BadRequest("api_base 必须是字符串", code="invalid_api_base")
        new_base = validate_api_base(data["api_base"])
    current = filing_svc.snapshot_of(account)
    wanted = dict(current, **changes)
    if not wanted["is_main"] and not wanted.get("justification"):
        raise Unprocessable("非主账号必须写明理由（justification）", code="missing_justification")
    if wanted["is_main"] and not current["is_main"]:
        _check_main(session, account.unit, account.platform, exclude_id=account.id,
                    platform_name=account.platform_name)
    if new_base is not None and new_base != account.api_base:
        old = account.api_base
        account.api_base = new_base
        audit.record(session, "account.update", object_type="account", object_id=account.id,
                     unit=account.unit, summary=f"修改账号「{account.name}」的接口地址",
                     details={"api_base": new_base, "previous": old})
    if wanted != current:
        diff = sorted(k for k in wanted if wanted[k] != current[k])
        if account.status == "pending":
            filing_svc.apply_snapshot(account, wanted)
            session.flush()
            filing_svc.submit(session, account, "open", filing_svc.snapshot_of(account), user,
                              note=f"修改后重新提交：{', '.join(diff)}")
        else:
            filing_svc.submit(session, account, "change", wanted, user, note=f"变更：{', '.join(diff)}")
    session.flush()
    return account


def resubmit_filing(session: Session, user: User | None, account: Account) -> Any:
    """Submit the opening filing of a pending account again (after a rejection)."""
    _require_admin(session, user, account, "提交备案")
    if account.status != "pending":
        raise Conflict("只有待备案的账号可以重新提交开设备案；变更请直接修改账号", code="account_not_pending")
    if filing_svc.open_filing(session, account) is not None:
        raise Conflict("该账号已有审批中的备案", code="filing_in_review")
    return filing_svc.submit(session, account, "open", filing_svc.snapshot_of(account), user, note="重新提交")


def close_account(session: Session, user: User | None, account: Account, data: Any) -> Account:
    """File the closure of an account with its public notice (停更公告); a pending account is withdrawn."""
    _require_admin(session, user, account, "关闭账号")
    if account.status == "closed":
        raise Conflict("账号已关闭", code="account_closed")
    if not isinstance(data, dict):
        raise BadRequest("请求体必须是 JSON 对象", code="invalid_body")
    text = data.get("notice_text")
    if not isinstance(text, str) or not text.strip():
        raise BadRequest("关闭账号必须填写停更公告内容（notice_text）", code="missing_notice_text")
    if len(text) > 5000:
        raise Unprocessable("停更公告不能超过 5000 字", code="notice_too_long")
    notice_date = parse_date(data.get("notice_date"), "notice_date")
    if notice_date is None:
        raise BadRequest("关闭账号必须填写停更公告发布日期（notice_date，YYYY-MM-DD）", code="missing_notice_date")
    reason = data.get("reason") or ""
    if not isinstance(reason, str) or len(reason) > 2000:
        raise BadRequest("reason 必须是不超过 2000 字的字符串", code="invalid_reason")
    snap = {"closure_notice_text": text.strip(), "closure_notice_date": notice_date, "reason": reason.strip()}
    if account.status == "pending":
        prev = filing_svc.open_filing(session, account)
        if prev is not None:
            prev.status = FILING.check(prev.status, FilingStatus.SUPERSEDED)
            prev.reason, prev.decided_at = "账号撤回，未开通", utcnow()
            prev.progress += 1
        account.status, account.closed_at = ACCOUNT.check(account.status, AccountStatus.CLOSED), utcnow()
        account.closure_notice_text, account.closure_notice_date = snap["closure_notice_text"], \
            date.fromisoformat(notice_date)
        audit.record(session, "account.withdraw", object_type="account", object_id=account.id,
                     unit=account.unit, summary=f"撤回尚未开通的账号「{account.name}」",
                     details={"reason": reason.strip()})
    else:
        filing_svc.submit(session, account, "close", snap, user, note=reason.strip())
    session.flush()
    return account


# -- credentials --------------------------------------------------------------------------
@dataclass(frozen=True)
class PasswordRule:
    """What a platform's console accepts for a login password."""

    length: int = 20
    symbols: str = "!@#$%^*-_=+"
    classes: tuple[str, ...] = field(default=(string.ascii_uppercase, string.ascii_lowercase, string.digits))


PASSWORD_RULES = {
    # 微信公众平台: 8–32 characters; letters, digits and symbols all accepted.
    "wechat": PasswordRule(length=20, symbols="!@#$%^*-_=+"),
    # 微博 / 抖音 consoles: 8–16 characters with letters and digits (symbols limited).
    "weibo": PasswordRule(length=16, symbols="!@#$%_"),
    "douyin": PasswordRule(length=16, symbols="!@#$%_"),
    # 快手 creator console: 8–20 characters, letters and digits (a few symbols).
    "kuaishou": PasswordRule(length=16, symbols="!@#$%_"),
    # Manual platforms (视频号, 头条号, 人民号 …) differ: a 16-character password with the symbols all accept.
    "manual": PasswordRule(length=16, symbols="!@#$%_"),
}


def generate_password(platform: str) -> str:
    """A strong random password that satisfies the platform's console rules."""
    rule = PASSWORD_RULES.get(platform, PasswordRule())
    classes = [*rule.classes, rule.symbols] if rule.symbols else list(rule.classes)
    alphabet = "".join(classes)
    while True:
        pw = "".join(secrets.choice(alphabet) for _ in range(rule.length))
        if all(any(c in cls for c in pw) for cls in classes):
            return pw


def _fields(account: Account) -> dict[str, Any]:
    return {f.name: f for f in get_adapter(account.platform).credential_fields}


def _vault_ready(session: Session) -> Vault:
    from hub.accounts.vault_admin import ensure_current_key

    vault = get_vault()
    ensure_current_key(session, vault)
    return vault


def _store(session: Session, account: Account, field_name: str, value: str, user: User | None,
           vault: Vault) -> Credential:
    """Seal a new version of one field; the version it replaces is archived for the grace period."""
    cred = next((c for c in account.credentials if c.field == field_name), None)
    now = utcnow()
    if cred is not None:
        grace = grace_days()
        if grace:
            session.add(CredentialArchive(account_id=account.id, field=field_name, version=cred.version,
                                          key_version=cred.key_version, wrapped_key=cred.wrapped_key,
                                          ciphertext=cred.ciphertext, replaced_at=now,
                                          destroy_after=now + timedelta(days=grace)))
    version = (cred.version + 1) if cred else 1
    sealed = vault.seal(account.id, field_name, version, value)
    if cred is None:
        cred = Credential(account_id=account.id, field=field_name)
        session.add(cred)
        account.credentials.append(cred)
    cred.version, cred.key_version = version, sealed.key_version
    cred.wrapped_key, cred.ciphertext = sealed.wrapped_key, sealed.ciphertext
    cred.changed_at = now
    cred.changed_by_id = user.id if user else None
    for task in session.scalars(select(RotationTask).where(
            RotationTask.account_id == account.id, RotationTask.field == field_name,
            RotationTask.status == "open")):
        task.status, task.closed_at = "done", now
    return cred


def set_credentials(session: Session, user: User | None, account: Account, data: Any,
                    *, actor: Any = None) -> list[str]:
    """Replace the given fields (partial update). Returns the field names written."""
    if user is not None and not is_admin_of(session, user, account.unit_id):
        raise Forbidden("只有该账号所属单位的管理员可以管理凭据", code="not_admin")
    if account.status == "closed":
        raise Conflict("账号已关闭，不能设置凭据", code="account_closed")
    if not isinstance(data, dict) or not data:
        raise BadRequest("请求体必须是包含凭据字段的 JSON 对象", code="invalid_body")
    allowed = set(_fields(account))
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise BadRequest(f"未知凭据字段：{', '.join(unknown)}（可用：{', '.join(sorted(allowed))}）",
                         code="unknown_credential_field")
    for k, v in data.items():
        if not isinstance(v, str) or not v.strip() or len(v) > 4096:
            raise BadRequest(f"凭据字段 {k} 必须是非空字符串", code="invalid_credential_value", field=k)
    vault = _vault_ready(session)
    for k, v in sorted(data.items()):
        _store(session, account, k, v.strip(), user, vault)
    session.flush()
    labels = "、".join(credential_label(account.platform, k) for k in sorted(data))  # names, not field codes
    audit.record(session, "account.credentials_set", object_type="account", object_id=account.id,
                 unit=account.unit, summary=f"更新账号「{account.name}」的凭据：{labels}",
                 details={"credential_fields": sorted(data)}, actor=actor)
    return sorted(data)


def _credential_field(account: Account, field_name: str) -> Any:
    f = _fields(account).get(field_name)
    if f is None:
        raise NotFound(f"该平台没有凭据字段 {field_name}", code="unknown_credential_field")
    return f


def rotate_password(session: Session, user: User | None, account: Account, field_name: str) -> str:
    """Generate a strong console password, store it as a new version and return it (shown once)."""
    _require_admin(session, user, account, "轮换密码")
    _credential_field(account, field_name)
    if not revealable(field_name):
        raise Unprocessable(f"{credential_label(account.platform, field_name)}不是平台登录密码：平台颁发的凭据请在平台上重置后用“设置凭据”写入",
                            code="not_a_password")
    if account.status == "closed":
        raise Conflict("账号已关闭，不能轮换密码", code="account_closed")
    vault = _vault_ready(session)
    password = generate_password(account.platform)
    cred = _store(session, account, field_name, password, user, vault)
    session.flush()
    audit.record(session, "account.credential_rotate", object_type="account", object_id=account.id,
                 unit=account.unit, summary=f"为账号「{account.name}」生成新的{field_name}（版本 {cred.version}）",
                 details={"credential_field": field_name, "version": cred.version, "grace_days": grace_days()})
    return password


def rollback_credential(session: Session, user: User | None, account: Account, field_name: str) -> Credential:
    """Restore the previous version of a field (kept during the grace period) as a new version."""
    from hub.accounts.vault_admin import min_decryption_version

    _require_admin(session, user, account, "回滚凭据")
    _credential_field(account, field_name)
    if account.status == "closed":
        raise Conflict("账号已关闭", code="account_closed")
    old = session.scalars(select(CredentialArchive).where(
        CredentialArchive.account_id == account.id, CredentialArchive.field == field_name,
        CredentialArchive.destroy_after > utcnow()).order_by(CredentialArchive.version.desc()).limit(1)).first()
    if old is None:
        raise Conflict(f"{field_name} 没有可回滚的旧版本（宽限期已过或从未更换）", code="no_previous_version")
    vault = _vault_ready(session)
    try:
        value = vault.open(account.id, field_name, old.version,
                           Sealed(old.key_version, old.wrapped_key, old.ciphertext),
                           min_version=min_decryption_version(session))
    except VaultError:
        raise VaultLocked("旧版本凭据无法解密（密钥错误、已停用或数据被篡改）") from None
    restored = old.version
    session.delete(old)
    cred = _store(session, account, field_name, value, user, vault)
    del value
    session.flush()
    audit.record(session, "account.credential_rollback", object_type="account", object_id=account.id,
                 unit=account.unit, summary=f"账号「{account.name}」的 {field_name} 回滚到旧版本 {restored}",
                 details={"credential_field": field_name, "restored_version": restored, "version": cred.version})
    return cred


@dataclass
class RevealOutcome:
    """Result of a reveal attempt: the value, or the error to raise after the audit entry is committed."""

    value: str | None = None
    error: HubError | None = None


def reveal_credential(session: Session, user: User, account: Account, field_name: str, data: Any) -> RevealOutcome:
    """Show a console password once, to an admin of its unit who re-entered their password and
    gave a reason; rate-limited; every attempt is audited (a failed one too)."""
    from hub.accounts.vault_admin import min_decryption_version

    _require_admin(session, user, account, "查看密码")
    _credential_field(account, field_name)
    if not revealable(field_name):
        raise Forbidden(f"{field_name} 不能查看明文：只有平台登录密码可以在必要时查看", code="not_revealable")
    cred = next((c for c in account.credentials if c.field == field_name), None)
    if cred is None:
        raise Conflict(f"{field_name} 尚未设置", code="credential_not_set")
    if not isinstance(data, dict):
        raise BadRequest("请求体必须是 JSON 对象", code="invalid_body")
    password, reason = data.get("password"), data.get("reason")
    if not isinstance(password, str) or not password:
        raise BadRequest("请重新输入您的登录密码（password）", code="missing_password")
    if not isinstance(reason, str) or not reason.strip():
        raise BadRequest("查看密码必须填写理由（reason）", code="missing_reason")
    if len(reason) > 500:
        raise BadRequest("理由不能超过 500 字", code="invalid_reason")
    limit = max(0, get_settings(current_app.config).reveals_per_hour) or DEFAULT_REVEALS_PER_HOUR
    since = utcnow() - timedelta(hours=1)
    recent = session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.actor_id == user.id, AuditEntry.at >= since,
        AuditEntry.action.in_(REVEAL_ACTIONS)))
    if int(recent or 0) >= limit:
        raise TooManyRequests(f"查看密码过于频繁：每小时最多 {limit} 次，请稍后再试", code="reveal_rate_limited")
    details = {"credential_field": field_name, "reason": reason.strip()}
    if not verify_password(user.password_hash, password):
        audit.record(session, "account.credential_reveal_denied", object_type="account", object_id=account.id,
                     unit=account.unit, summary=f"查看账号「{account.name}」的 {field_name} 失败：密码错误",
                     details=details)
        return RevealOutcome(error=Forbidden("登录密码不正确，未显示", code="reauth_failed"))
    try:
        value = get_vault().open(account.id, field_name, cred.version,
                                 Sealed(cred.key_version, cred.wrapped_key, cred.ciphertext),
                                 min_version=min_decryption_version(session))
    except VaultError:
        raise VaultLocked("凭据无法解密（密钥错误、已停用或数据被篡改）") from None
    audit.record(session, "account.credential_reveal", object_type="account", object_id=account.id,
                 unit=account.unit, summary=f"查看账号「{account.name}」的 {field_name}：{reason.strip()[:200]}",
                 details=dict(details, version=cred.version))
    return RevealOutcome(value=value)


def decrypt_credentials(account: Account, vault: Vault) -> dict[str, str]:
    """Plaintext credentials of an account: only for the worker or an admin's explicit verify."""
    from hub.accounts.vault_admin import min_decryption_version

    session = object_session(account)
    floor = min_decryption_version(session) if session is not None else 0
    return {c.field: vault.open(account.id, c.field, c.version,
                                Sealed(c.key_version, c.wrapped_key, c.ciphertext), min_version=floor)
            for c in account.credentials}


def credential_label(platform: str, field: str) -> str:
    """A credential field's name as staff read it (its label in the adapter), never the field code."""
    for f in get_adapter(platform).credential_fields:
        if f.name == field:
            return str(f.label)
    return field


def overdue_credentials(session: Session, user: User) -> list[dict[str, Any]]:
    """Credentials due for rotation in the units the user administers or oversees (oldest first)."""
    units = overseen_unit_ids(session, user)
    if not units:
        return []
    now = utcnow()
    cutoff = now - timedelta(days=max_age_days())
    rows: list[dict[str, Any]] = []
    accounts = session.scalars(select(Account).where(Account.unit_id.in_(units), Account.status != "closed")
                               .order_by(Account.id)).unique().all()
    open_tasks: dict[tuple[int, str], RotationTask] = {
        (t.account_id, t.field): t for t in session.scalars(select(RotationTask).where(
            RotationTask.status == "open", RotationTask.account_id.in_([a.id for a in accounts] or [0])))}
    for acc in accounts:
        secret_fields = {f.name for f in get_adapter(acc.platform).credential_fields if f.secret}
        for c in acc.credentials:
            task = open_tasks.get((acc.id, c.field))
            aged = c.field in secret_fields and c.changed_at < cutoff
            if task is None and not aged:
                continue
            rows.append({"account": acc, "field": c.field, "label": credential_label(acc.platform, c.field),
                         "changed_at": c.changed_at,
                         "age_days": (now - c.changed_at).days,
                         "reason": task.reason if task else f"超过 {max_age_days()} 天未更换"})
    rows.sort(key=lambda r: r["changed_at"])
    return rows


def verify_account(session: Session, user: User | None, account: Account, *, actor: Any = None) -> tuple[bool, str]:
    """A real call to the platform with the stored credentials (admin only; audited; result recorded)."""
    if user is not None and not is_admin_of(session, user, account.unit_id):
        raise Forbidden("只有该账号所属单位的管理员可以验证凭据", code="not_admin")
    creds: dict[str, str] | None
    try:
        creds = decrypt_credentials(account, get_vault())
    except VaultError:
        ok, message = False, "凭据无法解密（可能被篡改、密钥不匹配或密钥版本已停用）"
        creds = None
    except VaultLocked as exc:
        ok, message = False, exc.message
        creds = None
    if creds is not None:
        # No token cache: verification must reach the platform with the stored secret, not
        # reuse a token fetched earlier (possibly with a previous secret).
        adapter = get_adapter(account.platform)(account.api_base, creds, None)
        ok, message = adapter.verify_credentials()
        del creds
    account.verified_at, account.verify_ok, account.verify_message = utcnow(), ok, message[:500]
    audit.record(session, "account.credentials_verify", object_type="account", object_id=account.id,
                 unit=account.unit, summary=f"验证账号「{account.name}」的凭据：{'成功' if ok else '失败'}",
                 details={"ok": ok, "message": message}, actor=actor)
    return ok, message


def approved_account(session: Session, user: User | None, data: Any) -> Account:
    """Create an account and run its opening filing through every supervisor on the path.

    For seeding (``hub demo``, test factories): the approvals are real, checked and audited.
    """
    acc = create_account(session, user, data)
    filing_svc.approve_through_chain(session, acc)
    return acc
