"""Master-key rotation, retiring versions, and a locked vault (missing or wrong key) on a real
instance: rotation while other threads keep decrypting, CLI status / rotate-key / retire."""

from __future__ import annotations

import base64
import json
import os
import re
import threading
from typing import Any

from click.testing import CliRunner
from support import PASSWORD

from hub.accounts.service import decrypt_credentials
from hub.cli import main
from hub.db import db
from hub.models import Account, AuditEntry, Credential, CredentialArchive
from hub.vault import parse_keys


def _status() -> dict[str, Any]:
    r = CliRunner().invoke(main, ["vault", "status"])
    return json.loads(r.output)


def _plain(app: Any, account_id: int) -> dict[str, str]:
    s = db.session()
    s.expire_all()
    return decrypt_credentials(s.get(Account, account_id), app.extensions["hub_vault"])


def test_rotate_rewraps_everything_without_touching_ciphertext(world: dict[str, Any], app: Any) -> None:
    a1, a2 = world["accounts"]
    world["api"]["admin"].put(f"/accounts/{a1}/credentials", {"app_secret": "secret-main"})  # archives v1
    with db.transaction() as s:
        before = {c.id: c.ciphertext for c in s.query(Credential)}
    st = _status()
    assert st["current_version"] == 1 and st["credentials_per_version"] == {"1": 5}
    assert st["archived_versions"] == 1 and st["min_decryption_version"] == 0
    r = CliRunner().invoke(main, ["vault", "rotate-key", "--batch", "2"])
    assert r.exit_code == 0, r.output
    assert "新增密钥版本 2" in r.output and "重新封装 5 个" in r.output
    with db.transaction() as s:
        after = {c.id: (c.ciphertext, c.key_version) for c in s.query(Credential)}
        assert {kv for _ct, kv in after.values()} == {2}
        assert {a.key_version for a in s.query(CredentialArchive)} == {2}
        assert s.query(AuditEntry).filter_by(action="vault.rotate_key").count() == 1
    assert {i: ct for i, (ct, _kv) in after.items()} == before
    assert _plain(app, a1) == {"app_id": "wx_main", "app_secret": "secret-main"}
    assert _plain(app, a2)["app_secret"] == "secret-second"
    assert _status()["credentials_per_version"] == {"2": 5}
    assert CliRunner().invoke(main, ["vault", "rotate-key", "--batch", "0"]).exit_code == 1


def test_rotate_during_concurrent_reads_and_writes(world: dict[str, Any], app: Any, factory: Any) -> None:
    ids = list(world["accounts"])
    for i in range(6):
        ids.append(factory.account("cbeh", f"陈巴尔虎旗附属{i}", appid=f"wx{i}", secret=f"secret-{i}",
                                   is_main=False, justification="测试").id)
    expected = {aid: _plain(app, aid) for aid in ids}
    stop = threading.Event()
    errors: list[str] = []
    reads = [0]

    def reader() -> None:
        with app.app_context():
            while not stop.is_set():
                for aid in ids:
                    try:
                        got = _plain(app, aid)
                    except Exception as exc:  # any failure is a bug
                        errors.append(repr(exc))
                        return
                    got.pop("callback_token", None)  # the writer's field changes meanwhile
                    if got != expected[aid]:
                        errors.append(f"account {aid}: {got} != {expected[aid]}")
                    reads[0] += 1
                db.session.remove()

    def writer() -> None:
        # An admin writes a credential while the rotation runs: the rewrap must not clobber it.
        api = world["api"]["admin"]
        for n in range(5):
            r = api.put(f"/accounts/{ids[0]}/credentials", {"callback_token": f"cb-{n}"})
            if r.status_code != 200:
                errors.append(f"write {r.status_code}")

    threads = [threading.Thread(target=reader) for _ in range(3)] + [threading.Thread(target=writer)]
    for t in threads:
        t.start()
    try:
        for _round in range(3):
            r = CliRunner().invoke(main, ["vault", "rotate-key", "--batch", "3"])
            assert r.exit_code == 0, r.output
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors[:5]
    assert reads[0] > 0
    with db.transaction() as s:
        assert {c.key_version for c in s.query(Credential)} == {4}
    assert _plain(app, ids[0])["callback_token"] == "cb-4"
    assert _plain(app, ids[3]) == expected[ids[3]]


def test_retire_only_when_unused(world: dict[str, Any], app: Any) -> None:
    a1 = world["accounts"][0]
    r = CliRunner().invoke(main, ["vault", "retire"])  # only version 1 exists: nothing to retire
    assert r.exit_code == 0 and r.output.startswith("没有需要停用的版本")
    r = CliRunner().invoke(main, ["vault", "retire", "--below", "2"])
    assert r.exit_code == 1 and "不能停用当前版本" in r.output
    vault = app.extensions["hub_vault"]
    vault.add_key_version()  # a version added but nothing rewrapped yet
    r = CliRunner().invoke(main, ["vault", "retire"])
    assert r.exit_code == 1 and "仍有凭据使用待停用的主密钥" in r.output
    with db.transaction() as s:
        old = s.query(Credential).filter_by(account_id=a1, field="app_secret").one()
        old_row = (old.key_version, old.wrapped_key)
    assert CliRunner().invoke(main, ["vault", "rotate-key"]).exit_code == 0
    r = CliRunner().invoke(main, ["vault", "retire"])
    assert r.exit_code == 0, r.output
    assert "已停用版本 1, 2" in r.output and "最低解密版本 3" in r.output
    keys = parse_keys(vault.key_file.read_text())
    assert sorted(keys) == [3]
    st = _status()
    assert st["min_decryption_version"] == 3 and st["retired_versions"] == [1, 2] and not st["locked"]
    assert _plain(app, a1)["app_secret"] == "secret-main"
    assert world["api"]["admin"].post(f"/accounts/{a1}/credentials/verify").get_json()["ok"] is True
    # A row put back under a retired version is refused, not decrypted.
    with db.transaction() as s:
        c = s.query(Credential).filter_by(account_id=a1, field="app_secret").one()
        c.key_version, c.wrapped_key = old_row
    r = world["api"]["admin"].post(f"/accounts/{a1}/credentials/verify").get_json()
    assert r["ok"] is False and "停用" in r["message"]
    assert CliRunner().invoke(main, ["vault", "retire"]).output.startswith("没有需要停用的版本")


def _locked_checks(world: dict[str, Any], client: Any, expect: str) -> None:
    api, a1 = world["api"]["admin"], world["accounts"][0]
    assert api.get(f"/accounts/{a1}").status_code == 200
    r = api.put(f"/accounts/{a1}/credentials", {"app_secret": "new"})
    assert r.status_code == 503 and r.get_json()["error"]["code"] == "vault_locked"
    assert expect in r.get_json()["error"]["message"]
    r = api.post(f"/accounts/{a1}/credentials/verify")
    assert r.status_code == 200 and r.get_json()["ok"] is False
    r = api.post(f"/accounts/{a1}/credentials/console_password/rotate")
    assert r.status_code == 503
    st = api.get("/vault/status").get_json()
    assert st["locked"] is True and expect in st["message"]
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token})
    page = client.get("/")
    assert page.status_code == 200 and 'id="vault-locked"' in page.get_data(as_text=True)
    detail = client.get(f"/accounts/{a1}")
    assert detail.status_code == 200 and "保险库已锁定" in detail.get_data(as_text=True)
    r = CliRunner().invoke(main, ["vault", "status"])
    assert r.exit_code == 1 and json.loads(r.output)["locked"] is True


def test_wrong_key_locks_the_vault_clearly(world: dict[str, Any], app: Any, client: Any) -> None:
    vault = app.extensions["hub_vault"]
    vault.key_file.write_text(f"1:{base64.b64encode(os.urandom(32)).decode()}\n")
    _locked_checks(world, client, "密钥不一致")
    assert CliRunner().invoke(main, ["vault", "rotate-key"]).exit_code == 1


def test_missing_key_file_locks_the_vault_clearly(world: dict[str, Any], app: Any, client: Any) -> None:
    app.extensions["hub_vault"].key_file.unlink()
    _locked_checks(world, client, "密钥文件不存在")


def test_env_keys(world: dict[str, Any], app: Any) -> None:
    """With HUB_VAULT_KEYS the operator adds the version; rotate-key rewraps to the highest,
    and once version 1 is retired it can be dropped from the variable."""
    from hub.vault import Vault

    k1 = app.extensions["hub_vault"].keys()[1]
    k2 = os.urandom(32)
    env = f"1:{base64.b64encode(k1).decode()},2:{base64.b64encode(k2).decode()}"
    app.extensions["hub_vault"] = Vault(app.config["HUB_INSTANCE_DIR"], env)
    r = CliRunner().invoke(main, ["vault", "rotate-key"])
    assert r.exit_code == 0 and "使用密钥版本 2" in r.output
    r = CliRunner().invoke(main, ["vault", "retire"])
    assert r.exit_code == 0 and "HUB_VAULT_KEYS" in r.output
    app.extensions["hub_vault"] = Vault(app.config["HUB_INSTANCE_DIR"], f"2:{base64.b64encode(k2).decode()}")
    assert _plain(app, world["accounts"][0])["app_secret"] == "secret-main"
    assert _status()["locked"] is False


def test_recovering_from_a_lost_key(world: dict[str, Any], app: Any) -> None:
    """Version 1 is lost with no backup: a new version is written, the undecryptable credentials
    are forgotten, admins set them again, and the vault is sound."""
    api, a1 = world["api"]["admin"], world["accounts"][0]
    vault = app.extensions["hub_vault"]
    vault.key_file.write_text(f"2:{base64.b64encode(os.urandom(32)).decode()}\n")
    st = _status()
    assert st["locked"] and st["missing_versions"] == [1]
    r = CliRunner().invoke(main, ["vault", "purge", "--lost-version", "2"])
    assert r.exit_code == 1 and "已加载" in r.output
    r = CliRunner().invoke(main, ["vault", "purge", "--lost-version", "1"])
    assert r.exit_code == 0, r.output
    assert "已删除 4 个无法解密的凭据" in r.output
    st = _status()
    assert not st["locked"] and st["retired_versions"] == [1] and st["min_decryption_version"] == 2
    assert api.get(f"/accounts/{a1}").get_json()["credentials"]["app_secret"]["set"] is False
    assert api.put(f"/accounts/{a1}/credentials", {"app_id": "wx_main", "app_secret": "secret-main"}
                   ).status_code == 200
    assert api.post(f"/accounts/{a1}/credentials/verify").get_json()["ok"] is True
    with db.transaction() as s:
        assert s.query(AuditEntry).filter_by(action="account.credential_lost").count() == 4
