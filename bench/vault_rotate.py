"""Benchmark of master-key rotation (issue 4): time to rewrap N credentials.

Usage:  .venv/bin/python bench/vault_rotate.py [--credentials 10000] [--batch 500]

Builds a fresh instance in a temporary directory (SQLite, or the database named
by HUB_DATABASE_URL), stores N sealed credentials (N/5 accounts with five fields
each, inserted in bulk: the bench measures the rewrap, not account creation), then
runs the real ``rotate`` (new key version, batched rewrap with conditional
updates, audit entry) and prints:

* seconds for the whole rotation and credentials per second;
* seconds of pure crypto (unwrap + wrap of every data key, no database);
* that every credential is under the new version and still decrypts.

Single process, single thread: the figure is for one core. Figures only.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--credentials", type=int, default=10_000)
    ap.add_argument("--batch", type=int, default=500)
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="hub-bench-vault-")
    os.environ["HUB_INSTANCE_DIR"] = tmp
    os.environ.setdefault("HUB_SECRET_KEY", "bench")
    from sqlalchemy import func, insert, select

    from hub import audit, create_app
    from hub.accounts.service import decrypt_credentials
    from hub.accounts.vault_admin import ensure_current_key, rotate
    from hub.bootstrap import initialise
    from hub.db import db
    from hub.models import Account, Credential, Unit, utcnow
    from hub.vault import Sealed

    app = create_app({"RATELIMIT_STORAGE_URI": "memory://"})
    fields = ("app_id", "app_secret", "callback_token", "encoding_aes_key", "console_password")
    n_accounts = max(1, args.credentials // len(fields))
    with app.app_context():
        for line in initialise(app):
            print(line, file=sys.stderr)
        vault = app.extensions["hub_vault"]
        t0 = time.perf_counter()
        with db.transaction() as s:
            ensure_current_key(s, vault)
            unit = Unit(code="bench", name="基准测试单位", kind="region")
            s.add(unit)
            s.flush()
            s.execute(insert(Account), [
                {"unit_id": unit.id, "platform": "wechat", "name": f"基准账号{i}", "api_base": "http://127.0.0.1:9",
                 "status": "active", "is_main": i == 0, "created_at": utcnow()} for i in range(n_accounts)])
            ids = list(s.scalars(select(Account.id).order_by(Account.id)))
            rows = []
            for aid in ids:
                for f in fields:
                    sealed = vault.seal(aid, f, 1, f"{f}-value-{aid}")
                    rows.append({"account_id": aid, "field": f, "version": 1, "key_version": sealed.key_version,
                                 "wrapped_key": sealed.wrapped_key, "ciphertext": sealed.ciphertext,
                                 "changed_at": utcnow()})
            s.execute(insert(Credential), rows)
        total = len(rows)
        print(f"stored {total} credentials on {n_accounts} accounts in {time.perf_counter() - t0:.2f} s",
              file=sys.stderr)

        # Pure crypto: unwrap and wrap every data key, no database.
        sample = [(r["account_id"], r["field"], Sealed(r["key_version"], r["wrapped_key"], r["ciphertext"]))
                  for r in rows]
        t0 = time.perf_counter()
        for aid, f, sealed in sample:
            vault.rewrap(aid, f, 1, sealed)
        crypto = time.perf_counter() - t0

        token = audit.current_actor.set(audit.Actor.system("bench"))
        try:
            t0 = time.perf_counter()
            report = rotate(app, args.batch)
            elapsed = time.perf_counter() - t0
        finally:
            audit.current_actor.reset(token)
        s = db.session()
        versions = dict(s.execute(select(Credential.key_version, func.count()).group_by(Credential.key_version)).all())
        acc = s.get(Account, ids[-1])
        ok = decrypt_credentials(acc, vault)["app_secret"] == f"app_secret-value-{ids[-1]}"

    print(f"database:            {app.config['HUB_DATABASE_URL'].split(':', 1)[0]}")
    print(f"credentials:         {total}")
    print(f"batch size:          {args.batch}")
    print(f"rotate (rewrap all): {elapsed:.2f} s  ({total / elapsed:,.0f} credentials/s)")
    print(f"  of which crypto:   {crypto:.2f} s  (unwrap + wrap of every data key)")
    print(f"rewrapped:           {report.rewrapped} to key version {report.new_version}; per version now {versions}")
    print(f"still decrypts:      {ok}")


if __name__ == "__main__":
    main()
