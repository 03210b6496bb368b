#!/usr/bin/env python3
"""Verify an audit export of 政务新媒体发布中心 without the hub.

An external inspector runs this on a file produced by ``hub audit export``
(JSON lines or CSV) or on entries fetched from ``GET /api/v1/audit`` (one
JSON object a line). Only the Python standard library is needed; checking
signed checkpoints also needs the ``cryptography`` package.

    python3 verify_export.py EXPORT [--checkpoints audit-checkpoints.log --public-key KEY]
                                    [--witness audit-witness.log] [--allow-gaps]

What is checked:

* every entry's hash: SHA-256 over ``zhengwu-hub/audit-entry/v1\\n``, the
  previous hash, a newline and the canonical JSON of the entry's body
  (sorted keys, no spaces, UTF-8; fields seq, at, actor{id, username, name,
  unit}, ip, user_agent, action, object_type, object_id, unit, summary, details);
* the links: an entry's ``prev_hash`` is the hash of the entry before it
  (the first entry of the trail links to 64 zeros); a filtered listing may
  have gaps, whose links are reported as not checkable;
* with ``--checkpoints`` and ``--public-key`` (pin the key you received
  from the unit, not one you found next to the export): every checkpoint's
  Ed25519 signature, and that each checkpoint inside the exported range names
  the hash the export has at that sequence number;
* with ``--witness``: that every witnessed ``(seq, hash)`` inside the range
  matches.

Exit 0 when everything holds; 1 naming the first bad entry
(``first bad entry: seq N: reason``); 2 for bad usage or unreadable input.
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import json
import sys
from typing import Any

DOMAIN = b"zhengwu-hub/audit-entry/v1\n"
CHECKPOINT_DOMAIN = b"zhengwu-hub/audit-checkpoint/v1\n"
GENESIS = "0" * 64


def canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def entry_hash(prev_hash: str, e: dict[str, Any]) -> str:
    body = {
        "seq": int(e["seq"]), "at": e["at"], "actor": e["actor"], "ip": e.get("ip", ""),
        "user_agent": e.get("user_agent", ""), "action": e["action"], "object_type": e["object_type"],
        "object_id": e["object_id"], "unit": e["unit"], "summary": e["summary"], "details": e.get("details", {}),
    }
    h = hashlib.sha256()
    h.update(DOMAIN)
    h.update(prev_hash.encode("ascii"))
    h.update(b"\n")
    h.update(canonical(body))
    return h.hexdigest()


def read_export(path: str) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8", newline="") as fh:
        first = fh.readline()
        fh.seek(0)
        if first.startswith("seq,"):
            out = []
            for row in csv.DictReader(fh):
                out.append({
                    "seq": int(row["seq"]), "at": row["at"],
                    "actor": {"id": int(row["actor_id"]) if row["actor_id"] else None,
                              "username": row["actor_username"], "name": row["actor_name"],
                              "unit": row["actor_unit"]},
                    "ip": row["ip"], "user_agent": row["user_agent"], "action": row["action"],
                    "object_type": row["object_type"], "object_id": row["object_id"], "unit": row["unit"],
                    "summary": row["summary"], "details": json.loads(row["details"] or "{}"),
                    "prev_hash": row["prev_hash"], "hash": row["hash"],
                })
            return out
        return [json.loads(line) for line in fh if line.strip()]


def read_checkpoints(path: str, key_text: str) -> tuple[list[dict[str, Any]], list[tuple[int, str]]]:
    """Valid checkpoints, and (seq, problem) for the ones whose signature does not hold."""
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    except ImportError:
        raise SystemExit("checking checkpoints needs the 'cryptography' package (pip install cryptography)") from None
    key_text = key_text.strip()
    if key_text.startswith("-----BEGIN"):
        public = serialization.load_pem_public_key(key_text.encode("ascii"))
    else:
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(key_text))
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    kid = hashlib.sha256(raw).hexdigest()[:16]
    good, bad = [], []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            try:
                obj = json.loads(line)
                cp, sig = obj["checkpoint"], base64.b64decode(obj["sig"])
                seq = int(cp["seq"])
            except (ValueError, KeyError, TypeError):
                bad.append((0, f"checkpoint line {n} is malformed"))
                continue
            if cp.get("key") != kid:
                bad.append((seq, f"checkpoint line {n} is signed by another key ({cp.get('key')})"))
                continue
            try:
                public.verify(sig, CHECKPOINT_DOMAIN + canonical(cp))  # type: ignore[union-attr]
            except InvalidSignature:
                bad.append((seq, f"checkpoint line {n} has an invalid signature (forged or altered)"))
                continue
            good.append(cp)
    return good, bad


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Verify an audit export of the publishing hub without the hub.")
    ap.add_argument("export", help="file from `hub audit export` (jsonl or csv) or API listing (jsonl)")
    ap.add_argument("--checkpoints", help="audit-checkpoints.log from the instance dir")
    ap.add_argument("--public-key", help="the unit's checkpoint public key (base64 or PEM file)")
    ap.add_argument("--witness", help="audit-witness.log from the instance dir")
    ap.add_argument("--allow-gaps", action="store_true",
                    help="the file is a filtered listing (GET /api/v1/audit of one unit): gaps are expected")
    args = ap.parse_args(argv)
    if bool(args.checkpoints) != bool(args.public_key):
        print("--checkpoints and --public-key go together", file=sys.stderr)
        return 2
    try:
        entries = read_export(args.export)
        key_text = open(args.public_key, encoding="ascii").read() if args.public_key else ""
        checkpoints, forged = read_checkpoints(args.checkpoints, key_text) if args.checkpoints else ([], [])
        witness: dict[int, str] = {}
        if args.witness:
            with open(args.witness, encoding="ascii") as fh:
                for line in fh:
                    seq, h = line.split()
                    witness[int(seq)] = h
    except (OSError, ValueError, KeyError) as exc:
        print(f"cannot read input: {exc}", file=sys.stderr)
        return 2

    problems: list[tuple[int, str]] = list(forged)
    gaps = 0
    by_seq: dict[int, str] = {}
    prev: dict[str, Any] | None = None
    for e in entries:
        seq = int(e["seq"])
        if prev is not None and seq <= int(prev["seq"]):
            problems.append((seq, "entries out of order or repeated"))
            break
        if seq == 1 and e["prev_hash"] != GENESIS:
            problems.append((seq, "the first entry does not start from the genesis hash"))
            break
        if prev is not None and seq == int(prev["seq"]) + 1 and e["prev_hash"] != prev["hash"]:
            problems.append((seq, "link to the previous entry is broken (entry deleted, inserted or reordered)"))
            break
        if prev is not None and seq != int(prev["seq"]) + 1:
            if not args.allow_gaps:
                problems.append((int(prev["seq"]) + 1, "entry missing from the sequence (deleted?)"))
                break
            gaps += 1
        if entry_hash(e["prev_hash"], e) != e["hash"]:
            problems.append((seq, "entry content does not match its hash (entry altered)"))
            break
        if seq in witness and witness[seq] != e["hash"]:
            problems.append((seq, "hash differs from the witness (chain rebuilt)"))
            break
        by_seq[seq] = e["hash"]
        prev = e
    first = int(entries[0]["seq"]) if entries else 0
    last = int(entries[-1]["seq"]) if entries else 0
    anchored = 0
    for cp in checkpoints:
        seq = int(cp["seq"])
        if first <= seq <= last and seq in by_seq:
            if by_seq[seq] != cp["hash"]:
                problems.append((seq, "differs from the signed checkpoint at this sequence number"))
            else:
                anchored = max(anchored, seq)
    if problems:
        seq, reason = min(problems, key=lambda p: p[0])
        print(f"first bad entry: seq {seq}: {reason}")
        return 1
    print(f"OK: {len(entries)} entries, seq {first}..{last}, hashes and links hold")
    if gaps:
        print(f"note: {gaps} gap(s) in the sequence (a filtered listing): links across gaps were not checked")
    if args.checkpoints:
        if anchored:
            print(f"signed checkpoints: {len(checkpoints)} valid; entries up to seq {anchored} are anchored")
        else:
            print("note: no valid signed checkpoint falls inside this range")
        if anchored and anchored < last:
            print(f"note: entries after seq {anchored} are not yet covered by a signed checkpoint")
    return 0


if __name__ == "__main__":
    sys.exit(main())
