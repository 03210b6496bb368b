"""Vault status and master-key rotation (rewrap data keys, plaintext untouched)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import func, select

from .. import audit
from ..db import db
from ..models import Credential
from ..vault import Sealed, Vault


def status(app: Flask) -> dict[str, Any]:
    vault: Vault = app.extensions["hub_vault"]
    s = db.session()
    counts = {int(kv): int(n) for kv, n in s.execute(
        select(Credential.key_version, func.count()).group_by(Credential.key_version)).all()}
    keys = vault.keys()
    locked = vault.locked_reason
    return {
        "locked": bool(locked),
        "message": locked or "保险库已解锁",
        "source": "HUB_VAULT_KEYS" if vault.env_keys else str(vault.key_file),
        "versions": sorted(keys),
        "current_version": max(keys) if keys else None,
        "credentials_per_version": counts,
        "min_decryption_version": min(counts) if counts else (max(keys) if keys else None),
        "missing_versions": sorted(set(counts) - set(keys)),
    }


def rotate_key(app: Flask, batch: int = 500) -> tuple[int, int]:
    """Add a master key version, then rewrap every credential in batches of short transactions."""
    vault: Vault = app.extensions["hub_vault"]
    new = vault.add_key_version()
    done = 0
    last_id = 0
    while True:
        with db.transaction() as s:
            rows = s.scalars(select(Credential).where(Credential.id > last_id, Credential.key_version != new)
                             .order_by(Credential.id).limit(batch)).all()
            if not rows:
                break
            for c in rows:
                sealed = vault.rewrap(c.account_id, c.field, c.version,
                                      Sealed(c.key_version, c.wrapped_key, c.ciphertext))
                c.key_version, c.wrapped_key = sealed.key_version, sealed.wrapped_key
                done += 1
            last_id = rows[-1].id
    with db.transaction() as s:
        audit.record(s, "vault.rotate_key", object_type="vault", object_id=str(new),
                     summary=f"保险库主密钥轮换到版本 {new}，重新封装 {done} 个凭据",
                     details={"new_version": new, "rewrapped": done})
    return new, done
