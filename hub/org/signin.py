"""The TOTP second factor (RFC 6238, any authenticator app) and its recovery codes.

The secret is sealed by the vault like a platform credential (AES-256-GCM under a data key
wrapped by the current master key; hub/vault.py), bound to the user; ``hub vault rotate-key``
rewraps it with the credentials. Recovery codes are 80-bit random, shown once, stored as SHA-256
and work once each. A TOTP code is accepted once: the step it was accepted for is remembered.
"""

from __future__ import annotations

import io
import secrets
import time
from typing import Any

import pyotp
import segno
from flask import current_app
from markupsafe import Markup
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from hub import audit
from hub.accounts.vault_admin import ensure_current_key, get_vault
from hub.config import get_settings
from hub.errors import Conflict, Forbidden, Unprocessable
from hub.models import RecoveryCode, User, UserTotp, utcnow
from hub.org.people import require_admin_of
from hub.security import token_digest
from hub.vault import Sealed

ISSUER = "政务新媒体发布中心"
RECOVERY_CODES = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper without doubt


def _field(user_id: int) -> str:
    return f"user_totp:{user_id}"  # the vault's associated data: the secret is bound to this user


def required(user: User, config: Any = None) -> bool:
    """Whether ``user`` must use a second factor: admins and supervisors, unless HUB_REQUIRE_TOTP=0."""
    if not get_settings(config if config is not None else current_app.config).require_totp:
        return False
    return bool(user.role_names() & {"admin", "supervisor"})


def _row(session: Session, user: User) -> UserTotp | None:
    return session.scalars(select(UserTotp).where(UserTotp.user_id == user.id)).first()


def has_factor(session: Session, user: User) -> bool:
    """Whether ``user`` has a second factor, confirmed or being enrolled."""
    return _row(session, user) is not None


def enrolled(session: Session, user: User) -> bool:
    row = _row(session, user)
    return row is not None and row.confirmed_at is not None


def _secret(row: UserTotp) -> str:
    vault = get_vault(current_app._get_current_object())  # type: ignore[attr-defined]
    return vault.open(0, _field(row.user_id), row.version, Sealed(row.key_version, row.wrapped_key, row.ciphertext))


def pending_secret(session: Session, user: User) -> str:
    """The secret of an enrolment in progress (created the first time): shown with its QR code."""
    row = _row(session, user)
    if row is not None and row.confirmed_at is not None:
        raise Conflict("您已启用二次验证；如需更换，请联系本单位管理员重置", code="totp_enrolled")
    if row is not None:
        return _secret(row)
    vault = get_vault(current_app._get_current_object())  # type: ignore[attr-defined]
    ensure_current_key(session, vault)
    secret = pyotp.random_base32()
    sealed = vault.seal(0, _field(user.id), 1, secret)
    session.add(UserTotp(user_id=user.id, version=1, key_version=sealed.key_version,
                         wrapped_key=sealed.wrapped_key, ciphertext=sealed.ciphertext))
    session.flush()
    return secret


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)


def qr_svg(uri: str) -> Markup:
    """The otpauth:// URI as an inline SVG QR code, drawn here (no image service, no script)."""
    buf = io.BytesIO()
    segno.make(uri, error="m").save(buf, kind="svg", scale=5, border=2, xmldecl=False, svgns=True,
                                     title="二次验证二维码", nl=False)
    return Markup(buf.getvalue().decode("utf-8"))  # segno's own SVG: no user text but the URI, escaped


def _accept_code(row: UserTotp, code: str) -> bool:
    """Whether ``code`` is the TOTP code of now (±30 s) and newer than the last one accepted."""
    code = "".join(ch for ch in code if ch.isdigit())
    if len(code) != 6:
        return False
    totp = pyotp.TOTP(_secret(row))
    now = int(time.time())
    for drift in (0, -1, 1):
        step = now // 30 + drift
        if step > (row.last_step or 0) and secrets.compare_digest(totp.at(step * 30), code):
            row.last_step = step
            return True
    return False


def _new_codes(session: Session, user: User) -> list[str]:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _i in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_ALPHABET) for _j in range(16))
        code = "-".join(raw[k:k + 4] for k in range(0, 16, 4))
        session.add(RecoveryCode(user_id=user.id, code_hash=token_digest(code)))
        codes.append(code)
    session.flush()
    return codes


def confirm(session: Session, user: User, code: str) -> list[str]:
    """Finish enrolment with the first code from the app; returns the recovery codes (shown once)."""
    row = _row(session, user)
    if row is None or row.confirmed_at is not None:
        raise Conflict("没有进行中的二次验证设置，请刷新页面重新开始", code="no_enrolment")
    if not _accept_code(row, code):
        raise Unprocessable("验证码不正确，请核对手机上的 6 位数字（注意手机时间是否准确）后重试", code="bad_code")
    row.confirmed_at = utcnow()
    codes = _new_codes(session, user)
    audit.record(session, "user.totp_enrol", object_type="user", object_id=user.id, unit=user.unit,
                 summary=f"{user.display_name()} 启用了二次验证，生成 {len(codes)} 个恢复码",
                 details={"username": user.username, "recovery_codes": len(codes)}, actor=user)
    return codes


def check(session: Session, user: User, code: str) -> str | None:
    """Sign-in's second step: ``"totp"`` or ``"recovery"`` when ``code`` is accepted, else None.

    A recovery code is used up (audited, with how many remain)."""
    row = _row(session, user)
    if row is None or row.confirmed_at is None:
        return None
    text = code.strip().lower()
    if any(ch.isalpha() for ch in text):
        normal = "".join(ch for ch in text if ch.isalnum())
        normal = "-".join(normal[k:k + 4] for k in range(0, len(normal), 4))
        rc = session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id,
                                                        RecoveryCode.code_hash == token_digest(normal),
                                                        RecoveryCode.used_at.is_(None))).first()
        if rc is None:
            return None
        rc.used_at = utcnow()
        session.flush()
        left = remaining_codes(session, user)
        audit.record(session, "user.recovery_code_used", object_type="user", object_id=user.id, unit=user.unit,
                     summary=f"{user.display_name()} 使用恢复码登录，剩余 {left} 个",
                     details={"username": user.username, "remaining": left}, actor=user)
        return "recovery"
    return "totp" if _accept_code(row, text) else None


def remaining_codes(session: Session, user: User) -> int:
    return int(session.scalar(select(func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))) or 0)


def regenerate_codes(session: Session, user: User, code: str) -> list[str]:
    """New recovery codes (the old ones stop working), after a current TOTP code."""
    row = _row(session, user)
    if row is None or row.confirmed_at is None:
        raise Conflict("您尚未启用二次验证", code="totp_not_enrolled")
    if not _accept_code(row, code):
        raise Unprocessable("验证码不正确，请核对手机上的 6 位数字后重试", code="bad_code")
    codes = _new_codes(session, user)
    audit.record(session, "user.totp_enrol", object_type="user", object_id=user.id, unit=user.unit,
                 summary=f"{user.display_name()} 重新生成了 {len(codes)} 个恢复码（旧恢复码作废）",
                 details={"username": user.username, "recovery_codes": len(codes), "regenerated": True}, actor=user)
    return codes


def reset(session: Session, actor: User, user: User) -> None:
    """An admin removes ``user``'s second factor (a lost phone): they enrol again at next sign-in."""
    require_admin_of(session, actor, user.unit)
    row = _row(session, user)
    if row is None:
        raise Conflict(f"用户 {user.username} 尚未启用二次验证", code="totp_not_enrolled")
    if user.id == actor.id:
        raise Forbidden("不能重置自己的二次验证，请由其他管理员操作", code="own_totp")
    session.delete(row)
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    user.session_version = (user.session_version or 1) + 1
    audit.record(session, "user.totp_reset", object_type="user", object_id=user.id, unit=user.unit,
                 summary=f"重置用户 {user.username} 的二次验证（需重新设置）",
                 details={"username": user.username})
