"""The audit witness: a record of the chain head kept outside the database.

After every commit that appended audit entries, each new ``(seq, hash)`` is
appended to ``audit-witness.log`` in the instance dir. Every N entries, and at
least once a day while the trail grows, an Ed25519-signed checkpoint of the head
is appended to ``audit-checkpoints.log``. The signing key
(``audit-signing-key.pem``, 0600) is created by ``hub init`` and is not the
vault's key. ``hub audit verify`` holds the chain in the database against both
files: someone who can rewrite the database cannot rewrite the witness, and
someone who can rewrite the witness cannot sign checkpoints.

File formats (UTF-8, one record a line, append-only):

* witness:      ``<seq> <hash>``
* checkpoints:  ``{"checkpoint": {"at", "hash", "key", "kind", "seq", "v"}, "sig": "<base64>"}``
  where ``sig`` is Ed25519 over ``CHECKPOINT_DOMAIN + canonical(checkpoint)``.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import hashlib
import json
import logging
import os
import re
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hub.config import default, get_settings

log = logging.getLogger(__name__)

WITNESS_FILE = "audit-witness.log"
CHECKPOINT_FILE = "audit-checkpoints.log"
KEY_FILE = "audit-signing-key.pem"
PUBLIC_KEY_FILE = "audit-signing-key.pub"
CHECKPOINT_DOMAIN = b"zhengwu-hub/audit-checkpoint/v1\n"
CHECKPOINT_KINDS = ("interval", "daily", "adopt", "manual")

DEFAULT_EVERY: int = default("HUB_AUDIT_CHECKPOINT_EVERY")
DEFAULT_DAILY_SECONDS: int = default("HUB_AUDIT_CHECKPOINT_SECONDS")
DEFAULT_GRACE_SECONDS: int = default("HUB_AUDIT_WITNESS_GRACE")


def canonical(obj: Any) -> bytes:
    """Canonical JSON (sorted keys, no whitespace, UTF-8) — the same encoding as the chain's."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def key_id(public: Ed25519PublicKey) -> str:
    """A short fingerprint of a public key: the first 16 hex digits of SHA-256 over its raw bytes."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_key_text(public: Ed25519PublicKey) -> str:
    """The public key as base64 of its 32 raw bytes (what an inspector pins)."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def load_public_key(text: str) -> Ed25519PublicKey:
    """Read a public key given as base64 raw bytes or as PEM."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(text.encode("ascii"))
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("不是 Ed25519 公钥")
        return key
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("公钥既不是 PEM 也不是 base64") from None
    if len(raw) != 32:
        raise ValueError("Ed25519 公钥应为 32 字节")
    return Ed25519PublicKey.from_public_bytes(raw)


def checkpoint_message(cp: dict[str, Any]) -> bytes:
    """The bytes a checkpoint's signature covers."""
    return CHECKPOINT_DOMAIN + canonical(cp)


@dataclass
class Checkpoint:
    """One line of the checkpoints file, parsed (``valid`` tells whether its signature holds)."""

    line: int
    seq: int
    hash: str
    at: str
    kind: str
    key: str
    valid: bool
    problem: str = ""


@dataclass
class WitnessState:
    """What the witness files say, read for verification."""

    heads: dict[int, str] = field(default_factory=dict)
    conflicts: dict[int, tuple[str, str]] = field(default_factory=dict)
    malformed: list[int] = field(default_factory=list)  # witness line numbers
    lines: int = 0
    checkpoints: list[Checkpoint] = field(default_factory=list)
    key_id: str = ""
    key_missing: bool = False

    @property
    def max_seq(self) -> int:
        return max(self.heads) if self.heads else 0


def _utc_stamp(ts: float | None = None) -> str:
    dt = datetime.fromtimestamp(ts if ts is not None else time.time(), UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _append(path: Path, data: bytes, *, sync: bool = False) -> None:
    """Append ``data`` with one write under an exclusive lock (several processes share the file)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
            if sync:
                os.fsync(fd)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


class Witness:
    """The witness files of one instance and the checkpoint signing key."""

    def __init__(self, instance_dir: str | Path, *, every: int = DEFAULT_EVERY,
                 daily_seconds: int = DEFAULT_DAILY_SECONDS, grace_seconds: int = DEFAULT_GRACE_SECONDS,
                 mac_key: bytes = b"") -> None:
        self.dir = Path(instance_dir)
        # Key of the HMAC on queued audit entries (hub.audit): derived from the instance's secret key.
        self.mac_key = mac_key
        self.every = max(1, int(every))
        self.daily_seconds = max(1, int(daily_seconds))
        self.grace_seconds = max(0, int(grace_seconds))
        self._private: Ed25519PrivateKey | None = None

    # -- paths ---------------------------------------------------------------------------
    @property
    def witness_path(self) -> Path:
        return self.dir / WITNESS_FILE

    @property
    def checkpoint_path(self) -> Path:
        return self.dir / CHECKPOINT_FILE

    @property
    def key_path(self) -> Path:
        return self.dir / KEY_FILE

    @property
    def public_key_path(self) -> Path:
        return self.dir / PUBLIC_KEY_FILE

    # -- the signing key -----------------------------------------------------------------
    def create_key(self) -> bool:
        """Create the signing key pair if missing (``hub init``). Returns True if created."""
        self.dir.mkdir(parents=True, exist_ok=True)
        if self.key_path.exists():
            self._write_public(self.private_key().public_key())
            return False
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        try:
            fd = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first
            self._write_public(self.private_key().public_key())
            return False
        try:
            os.write(fd, pem)
            os.fsync(fd)
        finally:
            os.close(fd)
        self._private = key
        self._write_public(key.public_key())
        return True

    def _write_public(self, public: Ed25519PublicKey) -> None:
        text = public_key_text(public) + "\n"
        if not self.public_key_path.exists() or self.public_key_path.read_text().strip() != text.strip():
            self.public_key_path.write_text(text)

    def private_key(self) -> Ed25519PrivateKey:
        """The checkpoint signing key (raises FileNotFoundError when ``hub init`` never ran)."""
        if self._private is None:
            key = serialization.load_pem_private_key(self.key_path.read_bytes(), password=None)
            if not isinstance(key, Ed25519PrivateKey):
                raise ValueError(f"{self.key_path} 不是 Ed25519 私钥")
            self._private = key
        return self._private

    def public_key(self) -> Ed25519PublicKey | None:
        """The public key of the signing key, or None if there is no key."""
        try:
            return self.private_key().public_key()
        except FileNotFoundError:
            if self.public_key_path.exists():
                return load_public_key(self.public_key_path.read_text())
            return None

    # -- writing -------------------------------------------------------------------------
    def append_heads(self, heads: Iterable[tuple[int, str]]) -> None:
        """Append committed ``(seq, hash)`` pairs, then write a checkpoint if one is due."""
        heads = sorted(heads)
        if not heads:
            return
        _append(self.witness_path, "".join(f"{s} {h}\n" for s, h in heads).encode("ascii"))
        last_seq, last_hash = heads[-1]
        kind = None
        if any(s % self.every == 0 for s, _h in heads):
            kind = "interval"
        elif self._checkpoint_age() >= self.daily_seconds:
            kind = "daily"
        if kind:
            self.write_checkpoint(last_seq, last_hash, kind)

    def _checkpoint_age(self) -> float:
        try:
            return time.time() - self.checkpoint_path.stat().st_mtime
        except FileNotFoundError:
            return float("inf")

    def write_checkpoint(self, seq: int, hash_: str, kind: str) -> dict[str, Any]:
        """Sign and append a checkpoint of ``(seq, hash)``; returns the line's object."""
        if kind not in CHECKPOINT_KINDS:
            raise ValueError(f"unknown checkpoint kind {kind!r}")
        key = self.private_key()
        cp = {"v": 1, "kind": kind, "seq": int(seq), "hash": hash_, "at": _utc_stamp(),
              "key": key_id(key.public_key())}
        sig = base64.b64encode(key.sign(checkpoint_message(cp))).decode("ascii")
        line = {"checkpoint": cp, "sig": sig}
        _append(self.checkpoint_path, canonical(line) + b"\n", sync=True)
        return line

    # -- reading -------------------------------------------------------------------------
    def read(self, public: Ed25519PublicKey | None = None) -> WitnessState:
        """Parse both files; check every checkpoint's signature against ``public`` (default: ours)."""
        st = WitnessState()
        if public is None:
            public = self.public_key()
        if public is None:
            st.key_missing = True
        else:
            st.key_id = key_id(public)
        if self.witness_path.exists():
            text = self.witness_path.read_bytes().decode("ascii", errors="replace")
            if _FILE_RE.fullmatch(text) is not None:
                # Every line as append_heads writes it (the usual case): parse the whole file at once.
                tokens = text.split()
                st.heads = dict(zip(map(int, tokens[0::2]), tokens[1::2], strict=True))
                st.lines = len(tokens) // 2
                if len(st.heads) == st.lines:
                    return self._read_checkpoints(st, public)
                st.heads = {}  # a sequence number twice: the line by line reading below tells conflicts
            n = 0
            for n, raw in enumerate(text.splitlines(keepends=True), 1):
                m = _LINE_RE.fullmatch(raw)  # the line as append_heads writes it: one check
                if m is not None:
                    seq, h = int(m[1]), m[2]
                else:
                    parts = raw.split()
                    if len(parts) != 2 or not parts[0].isdigit() or not _is_hash(parts[1]) \
                            or not raw.endswith("\n"):
                        st.malformed.append(n)
                        continue
                    seq, h = int(parts[0]), parts[1]
                old = st.heads.get(seq)
                if old is None:
                    st.heads[seq] = h
                elif old != h:
                    st.conflicts.setdefault(seq, (old, h))
            st.lines = n
        return self._read_checkpoints(st, public)

    def _read_checkpoints(self, st: WitnessState, public: Ed25519PublicKey | None) -> WitnessState:
        """Parse the checkpoints file into ``st`` (the second half of :meth:`read`)."""
        if self.checkpoint_path.exists():
            with open(self.checkpoint_path, encoding="utf-8", errors="replace") as fh:
                for n, raw in enumerate(fh, 1):
                    st.checkpoints.append(parse_checkpoint(n, raw, public))
        return st


_HASH_RE = re.compile(r"[0-9a-f]{64}")
_LINE_RE = re.compile(r"([0-9]+) ([0-9a-f]{64})\n")
_FILE_RE = re.compile(r"(?:[0-9]+ [0-9a-f]{64}\n)*")


def _is_hash(value: str) -> bool:
    return _HASH_RE.fullmatch(value) is not None


def parse_checkpoint(line_no: int, raw: str, public: Ed25519PublicKey | None) -> Checkpoint:
    """Parse one checkpoint line and check its signature."""
    try:
        obj = json.loads(raw)
        cp = obj["checkpoint"]
        sig = base64.b64decode(obj["sig"], validate=True)
        seq, h = int(cp["seq"]), str(cp["hash"])
        at, kind, key = str(cp["at"]), str(cp["kind"]), str(cp["key"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        return Checkpoint(line_no, 0, "", "", "", "", False, "检查点格式错误")
    c = Checkpoint(line_no, seq, h, at, kind, key, False)
    if public is None:
        c.problem = "没有签名公钥，无法校验检查点签名"
        return c
    if key != key_id(public):
        c.problem = f"检查点由未知密钥 {key} 签名"
        return c
    try:
        public.verify(sig, checkpoint_message(cp))
    except InvalidSignature:
        c.problem = "检查点签名无效（伪造或被改动）"
        return c
    c.valid = True
    return c


# -- binding to the application -------------------------------------------------------------
_by_engine: weakref.WeakKeyDictionary[Any, Witness] = weakref.WeakKeyDictionary()


def for_bind(bind: Any) -> Witness | None:
    """The witness of the instance whose database engine is ``bind``."""
    engine = getattr(bind, "engine", bind)
    try:
        return _by_engine.get(engine)
    except TypeError:
        return None


def from_config(config: Any) -> Witness:
    """A Witness for the instance described by a Flask config (``HUB_AUDIT_*`` from it or the environment)."""
    settings = get_settings(config)
    return Witness(
        config["HUB_INSTANCE_DIR"],
        every=settings.audit_checkpoint_every,
        daily_seconds=settings.audit_checkpoint_seconds,
        grace_seconds=settings.audit_witness_grace,
        mac_key=queue_key(str(config.get("SECRET_KEY") or "")),
    )


def queue_key(secret_key: str) -> bytes:
    """The HMAC key of the audit queue, derived from the instance's secret key (empty: no queue)."""
    if not secret_key:
        return b""
    return hashlib.sha256(b"zhengwu-hub/audit-queue-key/v1\n" + secret_key.encode("utf-8")).digest()


def init_app(app: Any) -> Witness:
    """Attach the instance's witness to the app and to its database engine (for the commit hook)."""
    from hub.db import db

    w = from_config(app.config)
    app.extensions["hub_witness"] = w
    if db.engine is not None:
        _by_engine[db.engine] = w
    return w


def register(engine: Any, witness: Witness) -> None:
    """Bind a witness to an engine explicitly (tools that build their own engine)."""
    _by_engine[engine] = witness
