"""The vault's envelope encryption on its own: AAD binding, tampering, wrong and missing keys,
rewrap, key checks, retiring versions, and key-file handling shared by several processes."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from hub.errors import VaultLocked
from hub.vault import Sealed, Vault, VaultError, parse_keys


def _key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
def vault(tmp_path: Path) -> Vault:
    v = Vault(tmp_path)
    assert v.create_key_file()
    return v


def test_key_file_is_private_and_created_once(vault: Vault) -> None:
    assert stat.S_IMODE(vault.key_file.stat().st_mode) == 0o600
    assert vault.create_key_file() is False
    assert vault.current_version == 1


def test_roundtrip_and_fresh_nonce_and_data_key(vault: Vault) -> None:
    a = vault.seal(7, "app_secret", 1, "s3cret")
    b = vault.seal(7, "app_secret", 1, "s3cret")
    assert a.ciphertext != b.ciphertext and a.wrapped_key != b.wrapped_key
    assert a.ciphertext[:12] != b.ciphertext[:12]
    assert b"s3cret" not in a.ciphertext
    assert vault.open(7, "app_secret", 1, a) == "s3cret"


@pytest.mark.parametrize("account_id,field,version", [(8, "app_secret", 1), (7, "app_id", 1),
                                                      (7, "app_secret", 2)])
def test_aad_swap_fails(vault: Vault, account_id: int, field: str, version: int) -> None:
    sealed = vault.seal(7, "app_secret", 1, "s3cret")
    with pytest.raises(VaultError):
        vault.open(account_id, field, version, sealed)


def test_ciphertext_copied_from_another_row_fails(vault: Vault) -> None:
    a = vault.seal(1, "app_secret", 1, "first")
    b = vault.seal(2, "app_secret", 1, "second")
    # Row 2 keeps its wrapped key but gets row 1's ciphertext, and the reverse.
    with pytest.raises(VaultError):
        vault.open(2, "app_secret", 1, Sealed(b.key_version, b.wrapped_key, a.ciphertext))
    with pytest.raises(VaultError):
        vault.open(2, "app_secret", 1, Sealed(a.key_version, a.wrapped_key, a.ciphertext))


@pytest.mark.parametrize("part", ["ciphertext", "wrapped_key", "nonce"])
def test_tampered_ciphertext_fails(vault: Vault, part: str) -> None:
    s = vault.seal(3, "app_secret", 1, "value")
    ct, wk = bytearray(s.ciphertext), bytearray(s.wrapped_key)
    if part == "ciphertext":
        ct[-1] ^= 1
    elif part == "wrapped_key":
        wk[20] ^= 1
    else:
        ct[0] ^= 1
    with pytest.raises(VaultError):
        vault.open(3, "app_secret", 1, Sealed(s.key_version, bytes(wk), bytes(ct)))


def test_wrong_key_fails_and_key_check_detects_it(vault: Vault, tmp_path: Path) -> None:
    s = vault.seal(3, "app_secret", 1, "value")
    check = vault.key_check(1)
    vault.key_file.write_text(f"1:{_key()}\n")
    other = Vault(tmp_path)
    assert not other.check_matches(1, check)
    with pytest.raises(VaultError):
        other.open(3, "app_secret", 1, s)


def test_missing_key_is_locked_not_crash(tmp_path: Path) -> None:
    v = Vault(tmp_path / "nowhere")
    assert "hub init" in (v.locked_reason or "")
    with pytest.raises(VaultLocked):
        v.seal(1, "f", 1, "x")
    broken = Vault(tmp_path / "broken")
    broken.instance_dir.mkdir()
    broken.key_file.write_text("1:not-base64!!\n")
    assert "无法读取" in (broken.locked_reason or "")


def test_missing_version_is_locked(vault: Vault, tmp_path: Path) -> None:
    s = vault.seal(1, "f", 1, "x")
    vault.key_file.write_text(f"2:{_key()}\n")
    with pytest.raises(VaultLocked) as exc:
        Vault(tmp_path).open(1, "f", 1, s)
    assert "版本 1" in exc.value.message


def test_rewrap_keeps_ciphertext_and_plaintext(vault: Vault) -> None:
    s = vault.seal(5, "app_secret", 4, "keep me")
    assert vault.add_key_version() == 2
    r = vault.rewrap(5, "app_secret", 4, s)
    assert r.key_version == 2 and r.ciphertext == s.ciphertext and r.wrapped_key != s.wrapped_key
    assert vault.open(5, "app_secret", 4, r) == "keep me"
    # A rewrapped key cannot be passed off as wrapped by the other version.
    with pytest.raises(VaultError):
        vault.open(5, "app_secret", 4, Sealed(1, r.wrapped_key, r.ciphertext))


def test_min_version_refuses_retired(vault: Vault) -> None:
    s = vault.seal(5, "f", 1, "x")
    vault.add_key_version()
    with pytest.raises(VaultError):
        vault.open(5, "f", 1, s, min_version=2)


def test_new_version_is_seen_by_another_process_without_restart(vault: Vault, tmp_path: Path) -> None:
    other = Vault(tmp_path)  # same instance dir, as another process would be
    assert other.current_version == 1
    vault.add_key_version()
    assert other.current_version == 2
    assert stat.S_IMODE(vault.key_file.stat().st_mode) == 0o600


def test_remove_versions_below_destroys_key_and_never_reuses_number(vault: Vault, tmp_path: Path) -> None:
    vault.add_key_version()
    k2 = parse_keys(vault.key_file.read_text())[2]
    assert vault.remove_versions_below(2, "2026-01-01T00:00:00Z") == [1]
    text = vault.key_file.read_text()
    assert parse_keys(text) == {2: k2}
    assert "# retired version 1" in text
    assert stat.S_IMODE(vault.key_file.stat().st_mode) == 0o600
    assert Vault(tmp_path).keys() == {2: k2}
    assert vault.add_key_version() == 3


def test_parse_keys_rejects_bad_entries() -> None:
    k = _key()
    with pytest.raises(ValueError, match="twice"):
        parse_keys(f"1:{k},1:{k}")
    with pytest.raises(ValueError, match="32 bytes"):
        parse_keys("1:" + base64.b64encode(b"short").decode())
    with pytest.raises(ValueError):
        parse_keys("x:" + k)
    assert parse_keys(f"# comment\n1:{k}\n\n2:{k}") .keys() == {1, 2}


def test_env_keys_cannot_be_added_here(tmp_path: Path) -> None:
    v = Vault(tmp_path, env_keys=f"3:{_key()}")
    assert v.current_version == 3 and v.create_key_file() is False
    with pytest.raises(RuntimeError):
        v.add_key_version()
