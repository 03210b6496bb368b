"""The credential vault: envelope encryption with versioned master keys.

Each secret is encrypted with AES-256-GCM under its own fresh data key and a
12-byte random nonce; the data key is wrapped by a versioned master key. The
associated data binds every ciphertext to its account, field and secret
version (and the wrapped key also to the master-key version), so a ciphertext
copied to another row fails to decrypt.

Master keys: ``HUB_VAULT_KEYS`` (``version:base64key,...``) or the key file
``vault.keys`` in the instance dir (mode 0600, created by ``hub init``). The
highest version encrypts; every listed version decrypts. The key file is
re-read when it changes, so a new key version is picked up without restart.

Retiring: once no ciphertext uses a version, ``hub vault retire`` raises the
minimum decryption version (kept in the database, so every process agrees)
and removes the retired key material from the key file. Every version has a
check value in the database (``vault_keys``) so a wrong key for a version is
detected before it is used (see ``hub.accounts.vault_admin``).
"""

from __future__ import annotations

import base64
import fcntl
import os
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hub.errors import VaultLocked

KEY_FILE = "vault.keys"
NONCE = 12
_CHECK_LABEL = b"zhengwu-hub/vault/key-check/v1"


class VaultError(Exception):
    """A ciphertext could not be decrypted (tampered, moved, or wrong key)."""


def _aad(account_id: int, field: str, version: int) -> bytes:
    return f"zhengwu-hub/vault/v1|account={account_id}|field={field}|version={version}".encode()


def _wrap_aad(account_id: int, field: str, version: int, key_version: int) -> bytes:
    return _aad(account_id, field, version) + f"|kek={key_version}".encode()


def parse_keys(text: str) -> dict[int, bytes]:
    """Parse ``version:base64key`` items separated by commas or newlines."""
    keys: dict[int, bytes] = {}
    for item in text.replace("\n", ",").split(","):
        item = item.strip()
        if not item or item.startswith("#"):
            continue
        ver_s, _, b64 = item.partition(":")
        try:
            ver = int(ver_s)
            key = base64.b64decode(b64.strip(), validate=True)
        except ValueError as exc:
            raise ValueError(f"bad vault key entry for version {ver_s!r}") from exc
        if len(key) != 32:
            raise ValueError(f"vault key version {ver} is not 32 bytes")
        if ver < 1:
            raise ValueError(f"vault key version {ver} must be a positive integer")
        if ver in keys:
            raise ValueError(f"vault key version {ver} is listed twice")
        keys[ver] = key
    return keys


@dataclass
class Sealed:
    key_version: int
    wrapped_key: bytes
    ciphertext: bytes


class Vault:
    """Loads master keys for one instance and seals / opens secrets."""

    def __init__(self, instance_dir: str | Path, env_keys: str = "") -> None:
        self.instance_dir = Path(instance_dir)
        self.env_keys = env_keys
        self._lock = threading.Lock()
        self._mtime: tuple[int, int, int] | None = None
        self._keys: dict[int, bytes] = {}
        self._error: str | None = None

    @property
    def key_file(self) -> Path:
        return self.instance_dir / KEY_FILE

    def _load(self) -> None:
        with self._lock:
            if self.env_keys:
                if not self._keys and self._error is None:
                    try:
                        self._keys = parse_keys(self.env_keys)
                    except ValueError as exc:
                        self._error = str(exc)
                return
            try:
                st = self.key_file.stat()
                mtime = (st.st_mtime_ns, st.st_size, st.st_ino)
            except FileNotFoundError:
                self._keys, self._error, self._mtime = {}, "保险库密钥文件不存在（请运行 hub init）", None
                return
            if mtime == self._mtime:
                return
            try:
                self._keys = parse_keys(self.key_file.read_text())
                self._error = None if self._keys else "保险库密钥文件为空"
            except (OSError, ValueError) as exc:
                self._keys, self._error = {}, f"保险库密钥无法读取：{exc}"
            self._mtime = mtime

    def keys(self) -> dict[int, bytes]:
        self._load()
        return dict(self._keys)

    @property
    def locked_reason(self) -> str | None:
        self._load()
        if self._error:
            return self._error
        return None if self._keys else "保险库未解锁：没有主密钥"

    @property
    def current_version(self) -> int:
        keys = self.keys()
        if not keys:
            raise VaultLocked(self.locked_reason or "保险库未解锁")
        return max(keys)

    def _key(self, version: int) -> bytes:
        keys = self.keys()
        if not keys:
            raise VaultLocked(self.locked_reason or "保险库未解锁")
        if version not in keys:
            raise VaultLocked(f"缺少主密钥版本 {version}，无法解密", key_version=version)
        return keys[version]

    def seal(self, account_id: int, field: str, version: int, plaintext: str) -> Sealed:
        kv = self.current_version
        data_key = AESGCM.generate_key(bit_length=256)
        n1 = secrets.token_bytes(NONCE)
        ct = n1 + AESGCM(data_key).encrypt(n1, plaintext.encode("utf-8"), _aad(account_id, field, version))
        n2 = secrets.token_bytes(NONCE)
        wrapped = n2 + AESGCM(self._key(kv)).encrypt(n2, data_key, _wrap_aad(account_id, field, version, kv))
        return Sealed(kv, wrapped, ct)

    def _unwrap(self, account_id: int, field: str, version: int, key_version: int, wrapped: bytes) -> bytes:
        try:
            return AESGCM(self._key(key_version)).decrypt(
                wrapped[:NONCE], wrapped[NONCE:], _wrap_aad(account_id, field, version, key_version)
            )
        except InvalidTag as exc:
            raise VaultError("data key cannot be unwrapped (wrong key, tampered or moved)") from exc

    def open(self, account_id: int, field: str, version: int, sealed: Sealed, *, min_version: int = 0) -> str:
        """Decrypt a sealed secret; ``min_version`` refuses data keys wrapped by retired master keys."""
        if sealed.key_version < min_version:
            raise VaultError(f"master key version {sealed.key_version} is retired (minimum {min_version})")
        data_key = self._unwrap(account_id, field, version, sealed.key_version, sealed.wrapped_key)
        ct = sealed.ciphertext
        try:
            return AESGCM(data_key).decrypt(ct[:NONCE], ct[NONCE:], _aad(account_id, field, version)).decode()
        except InvalidTag as exc:
            raise VaultError("secret cannot be decrypted (tampered or moved)") from exc

    def rewrap(self, account_id: int, field: str, version: int, sealed: Sealed) -> Sealed:
        """Re-wrap the data key under the current master key; the ciphertext is untouched."""
        kv = self.current_version
        data_key = self._unwrap(account_id, field, version, sealed.key_version, sealed.wrapped_key)
        n2 = secrets.token_bytes(NONCE)
        wrapped = n2 + AESGCM(self._key(kv)).encrypt(n2, data_key, _wrap_aad(account_id, field, version, kv))
        return Sealed(kv, wrapped, sealed.ciphertext)

    @staticmethod
    def _check_nonce(version: int) -> bytes:
        # Deterministic per version: the check value of a key never changes, so it can be compared.
        return version.to_bytes(NONCE, "big")

    def key_check(self, version: int) -> bytes:
        """A check value proving which key is loaded for ``version`` (reveals nothing about it)."""
        return AESGCM(self._key(version)).encrypt(self._check_nonce(version), _CHECK_LABEL,
                                                  f"kek={version}".encode())

    def check_matches(self, version: int, check_value: bytes) -> bool:
        """Whether the loaded key for ``version`` is the one that produced ``check_value``."""
        try:
            AESGCM(self._key(version)).decrypt(self._check_nonce(version), check_value, f"kek={version}".encode())
        except InvalidTag:
            return False
        return True

    @contextmanager
    def _file_lock(self) -> Iterator[None]:
        """An exclusive lock on the key file's companion lock file (serialises writers across processes)."""
        self.instance_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.instance_dir / (KEY_FILE + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def create_key_file(self) -> bool:
        """Create the key file with version 1 if it does not exist. True if created."""
        if self.env_keys:
            return False
        self.instance_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w") as fh:
            fh.write(f"1:{base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()}\n")
        return True

    def add_key_version(self) -> int:
        """Append a new master key version to the key file; return it."""
        if self.env_keys:
            raise RuntimeError("keys come from HUB_VAULT_KEYS: add the new version there")
        with self._file_lock():
            text = self.key_file.read_text() if self.key_file.exists() else ""
            keys = parse_keys(text)
            # Versions once used and since retired never come back: count them too.
            new = max([*keys, *self._retired_versions(text), 0]) + 1
            with open(self.key_file, "a") as fh:
                if text and not text.endswith("\n"):
                    fh.write("\n")
                fh.write(f"{new}:{base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()}\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(self.key_file, 0o600)
            self._mtime = None
        return new

    @staticmethod
    def _retired_versions(text: str) -> list[int]:
        out = []
        for line in text.splitlines():
            if line.startswith("# retired version "):
                try:
                    out.append(int(line.split()[3]))
                except (IndexError, ValueError):
                    continue
        return out

    def remove_versions_below(self, min_version: int, when: str) -> list[int]:
        """Destroy the key material of every version below ``min_version`` in the key file.

        The file is rewritten atomically (0600); a comment line records each retired
        version so its number is never reused. Returns the versions removed.
        """
        if self.env_keys:
            return []
        with self._file_lock():
            text = self.key_file.read_text()
            keys = parse_keys(text)
            gone = sorted(v for v in keys if v < min_version)
            if not gone:
                return []
            kept_lines = []
            for line in text.splitlines():
                item = line.strip()
                if item and not item.startswith("#"):
                    ver_s, _, _b64 = item.partition(":")
                    if int(ver_s) in gone:
                        continue
                kept_lines.append(line)
            kept_lines += [f"# retired version {v} at {when}" for v in gone]
            tmp = self.key_file.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write("\n".join(kept_lines) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.key_file)
            self._mtime = None
        return gone
