"""Tampering with the trail is detected by `hub audit verify` and named by its first bad sequence number.

The attacker has write access to the database (drops or disables the
append-only trigger, then edits rows with raw SQL); in the last cases also
write access to the witness file, but not the signing key.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest
from audit_helpers import Attacker, make_trail  # type: ignore[import-not-found]
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from hub import audit
from hub.audit.witness import checkpoint_message, key_id
from hub.db import db
from hub.models import utcnow


def witness(app: Any) -> Any:
    return app.extensions["hub_witness"]


def test_untouched_trail_verifies(app: Any, run_verify: Any) -> None:
    make_trail(12)
    res = run_verify()
    assert res.code == 0, res.output
    assert "审计日志完整" in res.output
    r = audit.verify(db.session())
    assert r.ok and r.entries >= 12 and r.witnessed == r.entries and r.checkpoints >= 1
    # One witness line per entry; a signed checkpoint of the first commit (none existed yet).
    lines = witness(app).witness_path.read_text().splitlines()
    assert len(lines) == r.entries


def test_application_cannot_update_or_delete_entries(app: Any) -> None:
    make_trail(2)
    for sql in ("UPDATE audit_entries SET summary = 'x' WHERE seq = 1", "DELETE FROM audit_entries WHERE seq = 1"):
        with pytest.raises(DBAPIError):
            with db.transaction() as s:
                s.execute(text(sql))
    assert audit.verify(db.session()).ok


def test_edited_entry(app: Any, attacker: Attacker, run_verify: Any) -> None:
    make_trail(10)
    with attacker.conn() as c:
        c.execute(text("UPDATE audit_entries SET summary = '改过的摘要' WHERE seq = 6"))
    res = run_verify()
    assert res.code == 1 and res.names(6), res.output


def test_edited_details_of_first_entry(app: Any, attacker: Attacker, run_verify: Any) -> None:
    make_trail(4)
    with attacker.conn() as c:
        c.execute(text("UPDATE audit_entries SET details = :d WHERE seq = 1"), {"d": '{"i":99}'})
    res = run_verify()
    assert res.code == 1 and res.names(1), res.output


def test_deleted_entry(app: Any, attacker: Attacker, run_verify: Any) -> None:
    make_trail(10)
    with attacker.conn() as c:
        c.execute(text("DELETE FROM audit_entries WHERE seq = 4"))
    res = run_verify()
    assert res.code == 1 and res.names(4), res.output


def test_deleted_entry_renumbered_and_rechained(app: Any, attacker: Attacker, run_verify: Any) -> None:
    make_trail(10)
    with attacker.conn() as c:
        c.execute(text("DELETE FROM audit_entries WHERE seq = 4"))
        attacker.renumber(c, 5, -1)
        attacker.rechain(c, 4)
    assert audit.verify(db.session(), use_witness=False).ok  # the chain alone looks perfect
    res = run_verify()
    assert res.code == 1 and res.names(4), res.output


def _forged_entry(c: Any, seq: int, prev: str, at: Any) -> str:
    body = audit.body_of(seq, at, None, "cli:mallory", "", "", "", "", "post.approve", "post", "1", "",
                         "伪造的审核记录", "{}")
    h = audit.compute_hash(prev, body)
    c.execute(text(
        "INSERT INTO audit_entries (seq, at, actor_id, actor_username, actor_name, actor_unit, ip, user_agent, "
        "action, object_type, object_id, unit_code, summary, details, prev_hash, hash) VALUES "
        "(:seq, :at, NULL, 'cli:mallory', '', '', '', '', 'post.approve', 'post', '1', '', '伪造的审核记录', "
        "'{}', :prev, :h)"), {"seq": seq, "at": at, "prev": prev, "h": h})
    return h


def test_inserted_entry(app: Any, attacker: Attacker, run_verify: Any) -> None:
    make_trail(10)
    rows = attacker.rows()
    with attacker.conn() as c:
        attacker.renumber(c, 5, 1)
        _forged_entry(c, 5, rows[3]["hash"], rows[4]["at"])
    res = run_verify()
    assert res.code == 1 and res.names(5), res.output


def test_inserted_entry_with_rebuilt_chain(app: Any, attacker: Attacker, run_verify: Any) -> None:
    make_trail(10)
    rows = attacker.rows()
    with attacker.conn() as c:
        attacker.renumber(c, 5, 1)
        _forged_entry(c, 5, rows[3]["hash"], rows[4]["at"])
        attacker.rechain(c, 6)
    assert audit.verify(db.session(), use_witness=False).ok
    res = run_verify()
    assert res.code == 1 and res.names(5), res.output


def test_entry_appended_outside_the_application(app: Any, attacker: Attacker, run_verify: Any) -> None:
    make_trail(6)
    rows = attacker.rows()
    last = rows[-1]
    with attacker.conn() as c:
        h = _forged_entry(c, int(last["seq"]) + 1, last["hash"], utcnow() - timedelta(hours=2))
        c.execute(text("UPDATE audit_head SET seq = seq + 1, hash = :h WHERE id = 1"), {"h": h})
    assert audit.verify(db.session(), use_witness=False).ok
    res = run_verify()
    assert res.code == 1 and res.names(int(last["seq"]) + 1), res.output
    # The hub keeps appending after it: the forged entry stays unwitnessed and is still named.
    make_trail(2)
    res = run_verify()
    assert res.code == 1 and res.names(int(last["seq"]) + 1), res.output


def test_entry_not_yet_witnessed_is_a_warning_within_the_grace_period(app: Any, attacker: Attacker) -> None:
    # What a commit whose witness line is still being written looks like: the entry is fresh.
    # (Its time falls on a whole second: the verifier's formatting of a zero fraction is checked too.)
    make_trail(4)
    last = attacker.rows()[-1]
    with attacker.conn() as c:
        h = _forged_entry(c, int(last["seq"]) + 1, last["hash"], utcnow().replace(microsecond=0))
        c.execute(text("UPDATE audit_head SET seq = seq + 1, hash = :h WHERE id = 1"), {"h": h})
    r = audit.verify(db.session())
    assert r.ok, r.reason
    assert r.entries == int(last["seq"]) + 1
    assert any("1 条最新记录尚未写入见证文件" in w for w in r.warnings), r.warnings


def test_reordered_entries(app: Any, attacker: Attacker, run_verify: Any) -> None:
    make_trail(10)
    with attacker.conn() as c:
        c.execute(text("UPDATE audit_entries SET seq = -1 WHERE seq = 7"))
        c.execute(text("UPDATE audit_entries SET seq = 7 WHERE seq = 8"))
        c.execute(text("UPDATE audit_entries SET seq = 8 WHERE seq = -1"))
    res = run_verify()
    assert res.code == 1 and res.names(7), res.output


def test_reordered_entries_rechained(app: Any, attacker: Attacker, run_verify: Any) -> None:
    make_trail(10)
    with attacker.conn() as c:
        c.execute(text("UPDATE audit_entries SET seq = -1 WHERE seq = 3"))
        c.execute(text("UPDATE audit_entries SET seq = 3 WHERE seq = 4"))
        c.execute(text("UPDATE audit_entries SET seq = 4 WHERE seq = -1"))
        attacker.rechain(c, 3)
    assert audit.verify(db.session(), use_witness=False).ok
    res = run_verify()
    assert res.code == 1 and res.names(3), res.output


def test_truncated_tail_with_head_reset(app: Any, attacker: Attacker, run_verify: Any) -> None:
    make_trail(10)
    rows = attacker.rows()
    keep = len(rows) - 3
    with attacker.conn() as c:
        c.execute(text("DELETE FROM audit_entries WHERE seq > :k"), {"k": keep})
        c.execute(text("UPDATE audit_head SET seq = :k, hash = :h WHERE id = 1"),
                  {"k": keep, "h": rows[keep - 1]["hash"]})
    assert audit.verify(db.session(), use_witness=False).ok
    res = run_verify()
    assert res.code == 1 and res.names(keep + 1), res.output


def test_truncated_tail_head_untouched(app: Any, attacker: Attacker, run_verify: Any) -> None:
    make_trail(5)
    n = len(attacker.rows())
    with attacker.conn() as c:
        c.execute(text("DELETE FROM audit_entries WHERE seq = :n"), {"n": n})
    res = run_verify()
    assert res.code == 1 and res.names(n), res.output


def test_truncated_and_regrown_tail(app: Any, attacker: Attacker, run_verify: Any) -> None:
    """The tail is cut and the hub appends again over the same numbers: the witness disagrees."""
    make_trail(8)
    rows = attacker.rows()
    keep = len(rows) - 2
    with attacker.conn() as c:
        c.execute(text("DELETE FROM audit_entries WHERE seq > :k"), {"k": keep})
        c.execute(text("UPDATE audit_head SET seq = :k, hash = :h WHERE id = 1"),
                  {"k": keep, "h": rows[keep - 1]["hash"]})
    make_trail(3)
    res = run_verify()
    assert res.code == 1 and res.names(keep + 1), res.output


def test_rebuilt_chain(app: Any, attacker: Attacker, run_verify: Any) -> None:
    make_trail(10)
    with attacker.conn() as c:
        c.execute(text("UPDATE audit_entries SET summary = '审核人：另一个人' WHERE seq = 5"))
        attacker.rechain(c, 5)
    assert audit.verify(db.session(), use_witness=False).ok
    res = run_verify()
    assert res.code == 1 and res.names(5), res.output


def test_rebuilt_chain_and_rewritten_witness_caught_by_checkpoint(app: Any, attacker: Attacker,
                                                                  run_verify: Any) -> None:
    w = witness(app)
    w.every = 4
    make_trail(12)
    with attacker.conn() as c:
        c.execute(text("UPDATE audit_entries SET summary = '审核人：另一个人' WHERE seq = 6"))
        attacker.rechain(c, 6)
    # The attacker also rewrites the witness file to match the rebuilt chain (but cannot sign).
    w.witness_path.write_text("".join(f"{r['seq']} {r['hash']}\n" for r in attacker.rows()))
    res = run_verify()
    assert res.code == 1, res.output
    r = audit.verify(db.session())
    # Checkpoints at 4 and 8: everything up to 4 is proven, the first unprovable entry is 5.
    assert r.first_bad_seq == 5 and "检查点" in r.reason


def test_forged_checkpoint_other_key(app: Any, attacker: Attacker, run_verify: Any) -> None:
    make_trail(6)
    mallory = Ed25519PrivateKey.generate()
    rows = attacker.rows()
    cp = {"v": 1, "kind": "manual", "seq": 3, "hash": rows[2]["hash"], "at": "2030-01-01T00:00:00Z",
          "key": key_id(mallory.public_key())}
    line = {"checkpoint": cp, "sig": base64.b64encode(mallory.sign(checkpoint_message(cp))).decode()}
    with open(witness(app).checkpoint_path, "a") as fh:
        fh.write(json.dumps(line) + "\n")
    res = run_verify()
    assert res.code == 1 and res.names(3), res.output


def test_forged_checkpoint_edited_hash(app: Any, attacker: Attacker, run_verify: Any) -> None:
    w = witness(app)
    w.every = 3
    make_trail(7)
    lines = w.checkpoint_path.read_text().splitlines()
    forged = []
    target = None
    for raw in lines:
        obj = json.loads(raw)
        if obj["checkpoint"]["seq"] == 6:
            obj["checkpoint"]["hash"] = "f" * 64  # claims another head, keeps the old signature
            target = 6
        forged.append(json.dumps(obj))
    assert target == 6
    w.checkpoint_path.write_text("\n".join(forged) + "\n")
    res = run_verify()
    assert res.code == 1 and res.names(6), res.output


def test_pinned_public_key_rejects_instance_key_swap(app: Any, run_verify: Any, tmp_path: Any) -> None:
    """An attacker who replaces the instance's key and re-signs is caught by a pinned public key."""
    from hub.audit.witness import public_key_text

    w = witness(app)
    pinned = tmp_path / "pinned.pub"
    pinned.write_text(public_key_text(w.private_key().public_key()))
    make_trail(3)
    assert run_verify("--public-key", str(pinned)).code == 0
    other = tmp_path / "other.pub"
    other.write_text(public_key_text(Ed25519PrivateKey.generate().public_key()))
    res = run_verify("--public-key", str(other))
    assert res.code == 1 and "未知密钥" in res.output


def test_deleted_witness_file(app: Any, run_verify: Any) -> None:
    w = witness(app)
    make_trail(5)
    w.witness_path.unlink()
    # Fresh entries may still be on their way to the witness; once the grace period is over they are not.
    w.grace_seconds = 0
    res = run_verify()
    assert res.code == 1 and res.names(1), res.output


def test_garbage_in_witness_file(app: Any, run_verify: Any) -> None:
    w = witness(app)
    make_trail(3)
    with open(w.witness_path, "a") as fh:
        fh.write("garbage line\n")
    res = run_verify()
    assert res.code == 1 and "格式错误" in res.output


def test_verify_json_output(app: Any, attacker: Attacker, run_verify: Any) -> None:
    make_trail(4)
    res = run_verify("--json")
    data = json.loads(res.output.splitlines()[0])
    assert res.code == 0 and data["ok"] is True and data["witness"]["checkpoints"] >= 1
    with attacker.conn() as c:
        c.execute(text("UPDATE audit_entries SET actor_username = 'someone' WHERE seq = 2"))
    res = run_verify("--json")
    data = json.loads(res.output.splitlines()[0])
    assert res.code == 1 and data["ok"] is False and data["first_bad_seq"] == 2
