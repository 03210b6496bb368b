"""The witness off the host: checkpoints sent to another hub, kept there append-only.

Receiving side (this hub is a witness for others): :func:`receive` checks a checkpoint's
Ed25519 signature against the public key the sender presents and stores it in
``witnessed_checkpoints``, one per (key fingerprint, seq); a checkpoint contradicting an earlier
one of the same key (same seq, another hash) is refused (409) and the attempt is audited.

Sending side (this hub names a witness): ``hub audit witness add URL --token T`` writes
``audit-witness-remote.json`` (mode 0600: the token is a secret) in the instance dir;
:func:`push` sends every checkpoint of ``audit-checkpoints.log`` the witness has not acknowledged
yet (the worker's sweeper calls it; a failure leaves them pending, it never blocks an action).
:func:`fetch` and :func:`compare` serve ``hub audit verify --witness URL``.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from cryptography.exceptions import InvalidSignature
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.audit import recording
from hub.audit.witness import Witness, checkpoint_message, key_id, load_public_key, public_key_text
from hub.errors import BadRequest, Conflict
from hub.models import AuditEntry, User, WitnessedCheckpoint

log = logging.getLogger(__name__)

REMOTE_FILE = "audit-witness-remote.json"  # also named in hub.backup.KEY_FILES
API_PATH = "/api/v1/witness/checkpoints"
TIMEOUT = 10.0
_HASH = re.compile(r"[0-9a-f]{64}")
_KEY_ID = re.compile(r"[0-9a-f]{16}")
_STAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")


class WitnessUnreachable(Exception):
    """The remote witness could not be reached or did not answer as a witness."""


# -- receiving ----------------------------------------------------------------------------
def _field(cp: dict[str, Any], name: str, kind: type) -> Any:
    value = cp.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise BadRequest(f"检查点缺少字段 {name} 或类型不对", code="invalid_checkpoint")
    return value


def receive(session: Session, data: dict[str, Any], by: User) -> tuple[WitnessedCheckpoint, bool]:
    """Verify and store one checkpoint; returns (row, created). 400 bad shape/signature, 409 contradiction."""
    cp, sig, pub_text = data.get("checkpoint"), data.get("sig"), data.get("public_key")
    if not isinstance(cp, dict) or not isinstance(sig, str) or not isinstance(pub_text, str):
        raise BadRequest("需要 {checkpoint, sig, public_key}", code="invalid_checkpoint")
    try:
        public = load_public_key(pub_text)
    except ValueError as exc:
        raise BadRequest(f"公钥无效：{exc}", code="invalid_public_key") from None
    seq = _field(cp, "seq", int)
    hash_, at, kind, key = (_field(cp, n, str) for n in ("hash", "at", "kind", "key"))
    if seq < 1 or seq >= 2 ** 63 or not _HASH.fullmatch(hash_) or not _STAMP.fullmatch(at) \
            or len(kind) > 16 or cp.get("v") != 1 or set(cp) != {"v", "kind", "seq", "hash", "at", "key"}:
        raise BadRequest("检查点字段格式错误", code="invalid_checkpoint")
    fp = key_id(public)
    if key != fp:
        raise BadRequest("检查点的密钥指纹与所给公钥不符", code="key_mismatch")
    try:
        public.verify(base64.b64decode(sig, validate=True), checkpoint_message(cp))
    except (InvalidSignature, binascii.Error, ValueError):
        raise BadRequest("检查点签名无效", code="bad_signature") from None
    old = session.scalars(select(WitnessedCheckpoint).where(WitnessedCheckpoint.key_id == fp,
                                                            WitnessedCheckpoint.seq == seq)).first()
    if old is not None:
        if old.hash == hash_:
            return old, False
        recording.record(session, "witness.checkpoint_conflict", object_type="witness", object_id=fp,
                         summary=f"密钥 {fp} 第 {seq} 条的检查点与先前收到的不一致",
                         details={"key": fp, "seq": seq, "hash": hash_, "earlier_hash": old.hash})
        session.commit()
        raise Conflict(f"第 {seq} 条已有哈希不同的检查点：与先前收到的矛盾", code="checkpoint_conflict")
    row = WitnessedCheckpoint(key_id=fp, public_key=public_key_text(public), seq=seq, hash=hash_, at=at,
                              kind=kind, sig=sig, received_by=by.id)
    session.add(row)
    session.commit()
    return row, True


def listing(session: Session, fp: str, reader: User) -> list[dict[str, Any]]:
    """The checkpoints received from key ``fp``, oldest first, as they were signed.

    A supervisor sees all of them; a witness user only those it sent itself.
    """
    if not _KEY_ID.fullmatch(fp):
        raise BadRequest("key 必须是 16 位十六进制的公钥指纹", code="invalid_key")
    q = select(WitnessedCheckpoint).where(WitnessedCheckpoint.key_id == fp)
    if "supervisor" not in reader.role_names():
        q = q.where(WitnessedCheckpoint.received_by == reader.id)
    rows = session.scalars(q.order_by(WitnessedCheckpoint.seq)).all()
    return [to_dict(r) for r in rows]


def to_dict(r: WitnessedCheckpoint) -> dict[str, Any]:
    return {"checkpoint": {"v": 1, "kind": r.kind, "seq": int(r.seq), "hash": r.hash, "at": r.at, "key": r.key_id},
            "sig": r.sig, "public_key": r.public_key}


# -- sending ------------------------------------------------------------------------------
@dataclass
class Remote:
    url: str
    token: str
    sent: int = 0  # checkpoint lines of audit-checkpoints.log the witness has acknowledged


def _path(witness: Witness) -> Path:
    return witness.dir / REMOTE_FILE


def load_remotes(witness: Witness) -> list[Remote]:
    try:
        data = json.loads(_path(witness).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    return [Remote(str(r["url"]), str(r["token"]), int(r.get("sent", 0))) for r in data.get("remotes", [])]


def save_remotes(witness: Witness, remotes: list[Remote]) -> None:
    """Write the file 0600 (atomically: a temp file then rename)."""
    path = _path(witness)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"remotes": [r.__dict__ for r in remotes]}, fh)
    os.replace(tmp, path)


def normalize_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if not re.match(r"https?://[^\s/]+", url):
        raise ValueError("见证方地址必须以 http:// 或 https:// 开头")
    return url


def add_remote(witness: Witness, url: str, token: str) -> Remote:
    url = normalize_url(url)
    remotes = [r for r in load_remotes(witness) if r.url != url]
    r = Remote(url, token.strip(), 0)
    remotes.append(r)
    save_remotes(witness, remotes)
    return r


def _lines(witness: Witness) -> list[str]:
    try:
        return witness.checkpoint_path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def push(witness: Witness) -> list[tuple[str, int, str]]:
    """Send pending checkpoints to every remote witness: [(url, sent now, problem or "")]. Never raises."""
    out: list[tuple[str, int, str]] = []
    remotes = load_remotes(witness)
    if not remotes:
        return out
    pub = witness.public_key()
    lines = _lines(witness)
    for r in remotes:
        n, problem = 0, ""
        while r.sent < len(lines) and pub is not None:
            try:
                obj = json.loads(lines[r.sent])
                obj["public_key"] = public_key_text(pub)
                resp = requests.post(r.url + API_PATH, data=json.dumps(obj), headers=_headers(r.token),
                                     timeout=TIMEOUT)
            except ValueError:
                r.sent += 1  # a malformed local line: hub audit verify reports it; nothing to send
                continue
            except requests.RequestException as exc:
                problem = f"无法连接见证方：{type(exc).__name__}"
                break
            if resp.status_code in (200, 201):
                r.sent += 1
                n += 1
                continue
            problem = f"见证方拒绝（HTTP {resp.status_code}）：{_message(resp)}"
            break
        if problem:
            log.warning("witness push to %s: %s", r.url, problem)  # the URL only, never the token
        out.append((r.url, n, problem))
    save_remotes(witness, remotes)
    return out


def _message(resp: requests.Response) -> str:
    try:
        return str(resp.json()["error"]["message"])[:200]
    except (ValueError, KeyError, TypeError):
        return ""


# -- verifying against a witness ----------------------------------------------------------
def fetch(url: str, token: str, fp: str) -> list[dict[str, Any]]:
    """The checkpoints a remote witness holds for key ``fp`` (raises WitnessUnreachable)."""
    try:
        resp = requests.get(normalize_url(url) + API_PATH, params={"key": fp}, headers=_headers(token),
                            timeout=TIMEOUT)
    except (requests.RequestException, ValueError) as exc:
        raise WitnessUnreachable(f"无法连接见证方 {url}：{type(exc).__name__}") from None
    if resp.status_code != 200:
        raise WitnessUnreachable(f"见证方 {url} 答复 HTTP {resp.status_code}：{_message(resp)}")
    try:
        items = resp.json()["checkpoints"]
        assert isinstance(items, list)
    except (ValueError, KeyError, TypeError, AssertionError):
        raise WitnessUnreachable(f"见证方 {url} 的答复不是检查点列表") from None
    return items


def compare(session: Session, witness: Witness, items: list[dict[str, Any]]) -> tuple[int, int | None, str]:
    """Hold the local trail against the remote checkpoints: (checked, first bad seq or None, what differs).

    Only checkpoints whose signature holds under this hub's key count: the witness cannot forge one.
    """
    pub = witness.public_key()
    if pub is None:
        return 0, None, "没有签名公钥"
    fp = key_id(pub)
    good: list[tuple[int, str]] = []
    for it in items:
        try:
            cp = it["checkpoint"]
            if cp["key"] != fp:
                continue
            pub.verify(base64.b64decode(it["sig"], validate=True), checkpoint_message(cp))
            good.append((int(cp["seq"]), str(cp["hash"])))
        except (KeyError, TypeError, ValueError, InvalidSignature, binascii.Error):
            continue
    good.sort()
    proven = 0  # the last seq whose hash the witness confirmed
    for seq, h in good:
        local = session.get(AuditEntry, seq)
        since = f"（第 {proven} 条及之前与见证方一致）" if proven else ""
        if local is None:
            return len(good), seq, f"见证方有第 {seq} 条的签名检查点，本地审计日志没有这一条（被删除或截断）{since}"
        if local.hash != h:
            return len(good), seq, (f"本地哈希 {local.hash} 与见证方签名检查点的 {h} 不符：第 {proven + 1}–{seq} 条"
                                    f"之间的记录被改写{since}")
        proven = seq
    return len(good), None, ""
