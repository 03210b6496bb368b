"""Vault administration: status, master-key rotation (rewrap data keys, plaintext untouched),
retiring old key versions, key checks, and destroying archived credential versions.

Rotation is safe while the app runs: the new key version is appended to the key
file first (every process picks it up on its next vault call), then every data key
is rewrapped in short batches, each row with a conditional update, so a credential
written concurrently by an admin is never overwritten with a stale wrap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import bindparam, delete, func, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub import audit
from hub.db import db
from hub.errors import BadRequest, Conflict, VaultLocked
from hub.models import (
    ContactSecret,
    Credential,
    CredentialArchive,
    NotifySecret,
    RecoveryCode,
    UserTotp,
    VaultKey,
    utcnow,
)
from hub.vault import Sealed, Vault, VaultError

#: Every table holding vault ciphertexts: rewrapped on rotation, counted per key version.
SEALED_TABLES = (Credential, CredentialArchive, NotifySecret, UserTotp, ContactSecret)
#: Those rewrapped row by row as (owner account, field, version); TOTP secrets have their own context.
REWRAP_TABLES = (Credential, CredentialArchive, NotifySecret, ContactSecret)


def get_vault(app: Flask) -> Vault:
    return app.extensions["hub_vault"]


def min_decryption_version(session: Session) -> int:
    """Data keys wrapped by a version below this are refused (0: nothing retired)."""
    top = session.scalar(select(func.max(VaultKey.version)).where(VaultKey.retired_at.is_not(None)))
    return int(top) + 1 if top is not None else 0


def wrong_key_versions(session: Session, vault: Vault) -> list[int]:
    """Loaded key versions whose key differs from the one recorded when the version was first used."""
    keys = vault.keys()
    bad = []
    for row in session.scalars(select(VaultKey).where(VaultKey.version.in_(list(keys)))):
        if not vault.check_matches(row.version, row.check_value):
            bad.append(row.version)
    return sorted(bad)


def _versions_in_use(session: Session) -> dict[int, int]:
    counts: dict[int, int] = {}
    for model in SEALED_TABLES:
        for kv, n in session.execute(select(model.key_version, func.count()).group_by(model.key_version)).all():
            counts[int(kv)] = counts.get(int(kv), 0) + int(n)
    return counts


def problem(session: Session, vault: Vault) -> str | None:
    """Why the vault cannot be used right now (zh-CN), or None when it is unlocked and sound."""
    locked = vault.locked_reason
    if locked:
        return locked
    bad = wrong_key_versions(session, vault)
    if bad:
        return (f"主密钥版本 {', '.join(map(str, bad))} 与此前使用的密钥不一致（密钥错误或被替换），"
                "保险库已锁定；请恢复正确的密钥文件或 HUB_VAULT_KEYS")
    missing = sorted(set(_versions_in_use(session)) - set(vault.keys()))
    if missing:
        return f"缺少主密钥版本 {', '.join(map(str, missing))}，部分凭据无法解密；请从备份恢复这些密钥"
    return None


def ensure_current_key(session: Session, vault: Vault) -> int:
    """Check (or, the first time, record) the current key version before anything is sealed with it.

    Raises VaultLocked when the vault is locked or the loaded key for that version is wrong.
    """
    locked = vault.locked_reason
    if locked:
        raise VaultLocked(locked)
    kv = vault.current_version
    row = session.get(VaultKey, kv)
    if row is None:
        if kv < min_decryption_version(session):
            raise VaultLocked(f"主密钥版本 {kv} 已停用，请运行 hub vault rotate-key 生成新版本")
        try:
            # Another process may record the same version at the same moment: keep whichever won.
            with session.begin_nested():
                session.add(VaultKey(version=kv, check_value=vault.key_check(kv)))
        except IntegrityError:
            row = session.get(VaultKey, kv, populate_existing=True)
            if row is None or not vault.check_matches(kv, row.check_value):
                raise VaultLocked(f"主密钥版本 {kv} 与此前使用的密钥不一致（密钥错误或被替换），保险库已锁定") from None
    elif row.retired_at is not None:
        raise VaultLocked(f"主密钥版本 {kv} 已停用，请运行 hub vault rotate-key 生成新版本")
    elif not vault.check_matches(kv, row.check_value):
        raise VaultLocked(f"主密钥版本 {kv} 与此前使用的密钥不一致（密钥错误或被替换），保险库已锁定")
    return kv


def status(app: Flask) -> dict[str, Any]:
    """Key versions, credentials per version (current and archived), minimum decryption version."""
    vault = get_vault(app)
    s = db.session()
    counts = _versions_in_use(s)
    keys = vault.keys()
    known = {r.version: r for r in s.scalars(select(VaultKey))}
    msg = problem(s, vault)
    archived = int(s.scalar(select(func.count()).select_from(CredentialArchive)) or 0)
    return {
        "locked": bool(msg),
        "message": msg or "保险库已解锁",
        "source": "HUB_VAULT_KEYS" if vault.env_keys else str(vault.key_file),
        "versions": sorted(keys),
        "current_version": max(keys) if keys else None,
        "credentials_per_version": {k: counts[k] for k in sorted(counts)},
        "archived_versions": archived,
        "min_decryption_version": min_decryption_version(s),
        "oldest_version_in_use": min(counts) if counts else None,
        "retired_versions": sorted(v for v, r in known.items() if r.retired_at is not None),
        "missing_versions": sorted(set(counts) - set(keys)),
        "wrong_key_versions": wrong_key_versions(s, vault) if keys else [],
    }


@dataclass
class RotateReport:
    new_version: int
    rewrapped: int
    added: bool


def _rewrap_table(vault: Vault, model: Any, target: int, batch: int, min_version: int) -> int:
    """Rewrap every row of ``model`` not yet under ``target`` in batches; returns rows rewrapped.

    Each row is updated only if it is still exactly what was read (same secret version, same
    wrapped key): a credential an admin replaced meanwhile is left alone (it was sealed under
    the current key already); anything else left behind is picked up by the next pass.
    """
    table = model.__table__
    # Notification channel secrets are sealed as account 0 (their field names the channel).
    owner = table.c.account_id if "account_id" in table.c else literal(0).label("account_id")
    stmt = (update(table)
            .where(table.c.id == bindparam("b_id"), table.c.version == bindparam("b_version"),
                   table.c.key_version == bindparam("b_kv"), table.c.wrapped_key == bindparam("b_wk"))
            .values(key_version=bindparam("n_kv"), wrapped_key=bindparam("n_wk")))
    done = 0
    for _pass in range(50):
        last_id, found = 0, 0
        while True:
            with db.transaction() as s:
                rows = s.execute(select(table.c.id, owner, table.c.field, table.c.version,
                                        table.c.key_version, table.c.wrapped_key, table.c.ciphertext)
                                 .where(table.c.id > last_id, table.c.key_version != target)
                                 .order_by(table.c.id).limit(batch)).all()
                if not rows:
                    break
                params = []
                for r in rows:
                    if r.key_version < min_version:
                        raise VaultLocked(f"凭据 {r.id} 使用已停用的主密钥版本 {r.key_version}")
                    sealed = vault.rewrap(r.account_id, r.field, r.version,
                                          Sealed(r.key_version, r.wrapped_key, r.ciphertext))
                    params.append({"b_id": r.id, "b_version": r.version, "b_kv": r.key_version,
                                   "b_wk": r.wrapped_key, "n_kv": sealed.key_version, "n_wk": sealed.wrapped_key})
                res = s.connection().execute(stmt, params)
                changed = res.rowcount if res.rowcount is not None and res.rowcount >= 0 else len(params)
                done += min(changed, len(params))
                found += len(rows)
                last_id = rows[-1].id
        if not found:
            break
    return done


def _rewrap_totp(vault: Vault, target: int, min_version: int) -> int:
    """Rewrap the users' TOTP secrets (hub/org/signin.py: sealed for account 0, field ``user_totp:<id>``)."""
    done = 0
    with db.transaction() as s:
        for row in s.scalars(select(UserTotp).where(UserTotp.key_version != target).order_by(UserTotp.id)):
            if row.key_version < min_version:
                raise VaultLocked(f"二次验证密钥 {row.id} 使用已停用的主密钥版本 {row.key_version}")
            sealed = vault.rewrap(0, f"user_totp:{row.user_id}", row.version,
                                  Sealed(row.key_version, row.wrapped_key, row.ciphertext))
            row.key_version, row.wrapped_key = sealed.key_version, sealed.wrapped_key
            done += 1
    return done


def rotate_key(app: Flask, batch: int = 500) -> tuple[int, int]:
    """Add a master key version, then rewrap every credential in batches of short transactions.

    With keys from ``HUB_VAULT_KEYS`` no version can be added here: the operator adds it to
    the variable of every process first, and this rewraps everything to the highest version.
    """
    report = rotate(app, batch)
    return report.new_version, report.rewrapped


def rotate(app: Flask, batch: int = 500) -> RotateReport:
    """See ``rotate_key``; returns a report."""
    if batch < 1 or batch > 10000:
        raise BadRequest("批大小必须在 1 到 10000 之间", code="invalid_batch")
    vault = get_vault(app)
    with db.transaction() as s:
        msg = problem(s, vault)
        if msg:
            raise VaultLocked(msg)
    added = False
    if not vault.env_keys:
        vault.add_key_version()
        added = True
    with db.transaction() as s:
        new = ensure_current_key(s, vault)
        min_version = min_decryption_version(s)
    done = 0
    try:
        for model in REWRAP_TABLES:
            done += _rewrap_table(vault, model, new, batch, min_version)
        done += _rewrap_totp(vault, new, min_version)
    except VaultError as exc:
        raise VaultLocked(f"重新封装失败：{exc}（密钥错误或数据被篡改）") from None
    with db.transaction() as s:
        audit.record(s, "vault.rotate_key", object_type="vault", object_id=str(new),
                     summary=f"保险库主密钥轮换到版本 {new}，重新封装 {done} 个数据密钥",
                     details={"new_version": new, "rewrapped": done, "added_version": added})
    return RotateReport(new, done, added)


def retire(app: Flask, below: int | None = None) -> dict[str, Any]:
    """Retire every key version below ``below`` (default: the current version).

    Refused (409) while any credential, current or archived, still uses such a version.
    The minimum decryption version rises for every process; key material of retired
    versions is removed from the key file.
    """
    vault = get_vault(app)
    keys = vault.keys()
    if not keys:
        raise VaultLocked(vault.locked_reason or "保险库未解锁")
    current = max(keys)
    target = current if below is None else below
    if target > current:
        raise BadRequest(f"不能停用当前版本 {current} 及以上的主密钥", code="retire_current")
    with db.transaction() as s:
        floor = min_decryption_version(s)
        if target <= floor:
            return {"min_decryption_version": floor, "retired": [], "removed_from_file": []}
        in_use = {v: n for v, n in _versions_in_use(s).items() if v < target}
        if in_use:
            detail = "，".join(f"版本 {v}：{n} 个" for v, n in sorted(in_use.items()))
            raise Conflict(f"仍有凭据使用待停用的主密钥（{detail}），请先运行 hub vault rotate-key",
                           code="key_version_in_use", versions=sorted(in_use))
        now = utcnow()
        versions = sorted(set(range(max(floor, 1), target)))
        if not versions:
            return {"min_decryption_version": floor, "retired": [], "removed_from_file": []}
        for v in versions:
            row = s.get(VaultKey, v)
            if row is None:
                check = vault.key_check(v) if v in keys else b""
                s.add(VaultKey(version=v, check_value=check, retired_at=now))
            elif row.retired_at is None:
                row.retired_at = now
        s.flush()
        audit.record(s, "vault.retire_key", object_type="vault", object_id=str(target),
                     summary=f"停用主密钥版本 {versions[0]}–{versions[-1]}，最低解密版本升为 {target}",
                     details={"retired_versions": versions, "min_decryption_version": target})
    removed = vault.remove_versions_below(target, now.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return {"min_decryption_version": target, "retired": versions, "removed_from_file": removed}


def purge_expired_archive(session: Session) -> int:
    """Destroy archived credential versions whose grace period has ended; returns how many."""
    now = utcnow()
    rows = session.execute(select(CredentialArchive.id, CredentialArchive.account_id, CredentialArchive.field,
                                  CredentialArchive.version)
                           .where(CredentialArchive.destroy_after <= now)).all()
    if not rows:
        return 0
    session.execute(delete(CredentialArchive).where(CredentialArchive.id.in_([r.id for r in rows])))
    for r in rows:
        audit.record(session, "account.credential_destroy", object_type="account", object_id=r.account_id,
                     unit=_unit_code(session, r.account_id),
                     summary=f"宽限期结束，销毁凭据 {r.field} 的旧版本 {r.version}",
                     details={"credential_field": r.field, "version": r.version})
    return len(rows)


def _unit_code(session: Session, account_id: int) -> str:
    from hub.models import Account

    acc = session.get(Account, account_id)
    return acc.unit.code if acc is not None else ""


def forget_lost_version(app: Flask, version: int) -> dict[str, int]:
    """After a master key is irrecoverably lost: delete the credentials (and archived versions)
    wrapped by it, which can never be decrypted again, so the accounts show them as missing and
    admins set them afresh. Refused while the key of that version is loaded."""
    from hub.models import Account

    vault = get_vault(app)
    if version in vault.keys():
        raise Conflict(f"主密钥版本 {version} 已加载，数据仍可解密，不能作为丢失处理", code="key_version_loaded")
    with db.transaction() as s:
        creds = s.execute(select(Credential.account_id, Credential.field)
                          .where(Credential.key_version == version)).all()
        archived = s.scalar(select(func.count()).select_from(CredentialArchive)
                            .where(CredentialArchive.key_version == version)) or 0
        totp_users = list(s.scalars(select(UserTotp.user_id).where(UserTotp.key_version == version)))
        if not creds and not archived and not totp_users:
            raise Conflict(f"没有凭据使用主密钥版本 {version}", code="key_version_unused")
        if totp_users:  # those users enrol their second factor again at their next sign-in
            s.execute(delete(RecoveryCode).where(RecoveryCode.user_id.in_(totp_users)))
            s.execute(delete(UserTotp).where(UserTotp.key_version == version))
        s.execute(delete(Credential).where(Credential.key_version == version))
        s.execute(delete(CredentialArchive).where(CredentialArchive.key_version == version))
        s.expire_all()  # loaded accounts must not keep the deleted rows in their collections
        row = s.get(VaultKey, version)
        if row is None:
            s.add(VaultKey(version=version, check_value=b"", retired_at=utcnow()))
        elif row.retired_at is None:
            row.retired_at = utcnow()
        audit.record(s, "vault.forget_version", object_type="vault", object_id=str(version),
                     summary=f"主密钥版本 {version} 丢失：删除 {len(creds)} 个无法解密的凭据和 {archived} 个旧版本，"
                             "需由管理员重新设置",
                     details={"version": version, "credentials": len(creds), "archived": int(archived),
                              "second_factors": len(totp_users)})
        for account_id, field in creds:
            acc = s.get(Account, account_id)
            audit.record(s, "account.credential_lost", object_type="account", object_id=account_id,
                         unit=acc.unit if acc else None,
                         summary=f"凭据 {field} 因主密钥版本 {version} 丢失而删除，请重新设置",
                         details={"credential_field": field, "key_version": version})
    return {"credentials": len(creds), "archived": int(archived)}


def purge_expired(app: Flask) -> int:
    """Destroy expired archived credential versions in their own transaction (worker sweeper)."""
    with app.app_context():
        token = audit.current_actor.set(audit.Actor.system("vault"))
        try:
            with db.transaction() as s:
                return purge_expired_archive(s)
        finally:
            audit.current_actor.reset(token)
            db.session.remove()
