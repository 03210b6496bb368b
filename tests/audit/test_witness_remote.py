"""Witnessed off the host (issue 20): hub A sends its signed checkpoints to hub B, a second hub with
its own instance dir and database in its own process, served over real HTTP. Rewriting A's trail and
A's local witness files together is then still caught by ``hub audit verify --witness``."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from audit_helpers import Attacker, make_trail  # type: ignore[import-not-found]
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text

from hub.audit.witness import checkpoint_message, key_id, public_key_text
from hub.db import db

HERE = Path(__file__).parent
PATH = "/api/v1/witness/checkpoints"


@pytest.fixture
def hub_b(tmp_path: Path, instance: dict[str, str]) -> Iterator[dict[str, str]]:
    """The witness hub: its own instance dir and SQLite database, its own process."""
    inst = tmp_path / "hub-b"
    inst.mkdir()
    env = dict(os.environ, HUB_INSTANCE_DIR=str(inst), HUB_DATABASE_URL=f"sqlite:///{inst / 'hub.db'}",
               HUB_QUEUE=f"test-b-{uuid.uuid4().hex[:8]}", HUB_SECRET_KEY="b-secret-" + uuid.uuid4().hex,
               PYTHONPATH=os.pathsep.join([str(HERE.parent.parent), os.environ.get("PYTHONPATH", "")]))
    log = open(inst / "server.log", "wb")
    p = subprocess.Popen([sys.executable, str(HERE / "witness_hub.py")], env=env, stdout=subprocess.PIPE,
                         stderr=log)
    try:
        assert p.stdout is not None
        line = p.stdout.readline()
        assert line, (inst / "server.log").read_text()
        yield json.loads(line)
    finally:
        p.terminate()
        p.wait(timeout=10)
        log.close()


def cli(*args: str) -> Any:
    from hub.cli import main

    db.session.remove()
    return CliRunner().invoke(main, list(args))


def checkpoint_now() -> None:
    res = cli("audit", "checkpoint")
    assert res.exit_code == 0, res.output


def test_rewritten_trail_and_witness_caught_by_remote_witness(app: Any, hub_b: dict[str, str],
                                                               attacker: Attacker) -> None:
    url, tok = hub_b["url"], hub_b["witness_token"]
    w = app.extensions["hub_witness"]
    res = cli("audit", "witness", "add", url, "--token", tok)
    assert res.exit_code == 0, res.output
    remote_file = w.dir / "audit-witness-remote.json"
    assert stat.S_IMODE(remote_file.stat().st_mode) == 0o600
    assert tok not in res.output

    make_trail(5)
    checkpoint_now()  # at 5 (or so)
    make_trail(5)
    checkpoint_now()  # at 10
    res = cli("audit", "witness", "push")
    assert res.exit_code == 0, res.output
    assert "已确认" in cli("audit", "witness", "list").output

    # B holds them, readable by the witness user and by B's supervisor.
    fp = key_id(w.public_key())
    held = requests.get(url + PATH, params={"key": fp}, headers={"Authorization": f"Bearer {tok}"}, timeout=10)
    assert held.status_code == 200 and len(held.json()["checkpoints"]) >= 2
    sup = requests.get(url + PATH, params={"key": fp},
                       headers={"Authorization": f"Bearer {hub_b['supervisor_token']}"}, timeout=10)
    assert sup.status_code == 200 and sup.json() == held.json()
    seqs = [c["checkpoint"]["seq"] for c in held.json()["checkpoints"]]

    # Untampered: verifies against the witness.
    res = cli("audit", "verify", "--witness", url, "--token", tok)
    assert res.exit_code == 0, res.output
    assert "一致" in res.output

    # The attacker owns A's host: rewrites an entry, rebuilds the chain, rewrites the local witness
    # and re-signs every local checkpoint with A's own key (it sits in the same instance dir).
    target = seqs[0] - 1 if seqs[0] > 1 else 1
    with attacker.conn() as c:
        c.execute(text("UPDATE audit_entries SET summary = '审核人：另一个人' WHERE seq = :s"), {"s": target})
        attacker.rechain(c, target)
    rows = attacker.rows()
    w.witness_path.write_text("".join(f"{r['seq']} {r['hash']}\n" for r in rows))
    by_seq = {int(r["seq"]): r["hash"] for r in rows}
    old = [json.loads(x) for x in w.checkpoint_path.read_text().splitlines()]
    w.checkpoint_path.unlink()
    for o in old:
        w.write_checkpoint(o["checkpoint"]["seq"], by_seq[o["checkpoint"]["seq"]], o["checkpoint"]["kind"])
    assert cli("audit", "verify").exit_code == 0  # locally everything is consistent again

    res = cli("audit", "verify", "--witness", url, "--token", tok)
    assert res.exit_code == 1, res.output
    first = seqs[0]  # the first remote checkpoint at or after the rewritten entry
    assert f"seq {first}:" in res.output and f"第 {first} 条" in res.output, res.output

    # The re-signed checkpoint contradicts what B holds: refused with 409, B keeps the first one.
    w2 = json.loads(w.checkpoint_path.read_text().splitlines()[0])
    w2["public_key"] = public_key_text(w.public_key())
    r = requests.post(url + PATH, json=w2, headers={"Authorization": f"Bearer {tok}"}, timeout=10)
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "checkpoint_conflict"
    again = requests.get(url + PATH, params={"key": fp}, headers={"Authorization": f"Bearer {tok}"}, timeout=10)
    assert again.json() == held.json()


def test_witness_refuses_bad_tokens_and_bad_signatures(app: Any, hub_b: dict[str, str]) -> None:
    url, tok = hub_b["url"], hub_b["witness_token"]
    key = Ed25519PrivateKey.generate()
    cp = {"v": 1, "kind": "manual", "seq": 3, "hash": "ab" * 32, "at": "2026-01-02T03:04:05Z",
          "key": key_id(key.public_key())}
    good = {"checkpoint": cp, "sig": base64.b64encode(key.sign(checkpoint_message(cp))).decode(),
            "public_key": public_key_text(key.public_key())}

    def post(body: Any, token: str | None = tok) -> requests.Response:
        h = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.post(url + PATH, json=body, headers=h, timeout=10)

    assert post(good, None).status_code == 401
    assert post(good, "not-a-token").status_code == 401
    assert post(good, hub_b["editor_token"]).status_code == 403  # not a witness user
    assert post(good, hub_b["supervisor_token"]).status_code == 403
    # A witness user may do nothing else.
    other = requests.get(url + "/api/v1/audit", headers={"Authorization": f"Bearer {tok}"}, timeout=10)
    assert other.status_code == 403

    forged = dict(good, checkpoint=dict(cp, hash="cd" * 32))  # signature over another hash
    r = post(forged)
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_signature"
    other_key = Ed25519PrivateKey.generate()
    r = post(dict(good, public_key=public_key_text(other_key.public_key())))
    assert r.status_code == 400 and r.json()["error"]["code"] == "key_mismatch"
    for bad in ({}, {"checkpoint": "x", "sig": 1}, dict(good, checkpoint=dict(cp, seq="3")),
                dict(good, public_key="###")):
        r = post(bad)
        assert r.status_code == 400, (bad, r.text)
    listed = requests.get(url + PATH, params={"key": cp["key"]}, headers={"Authorization": f"Bearer {tok}"},
                          timeout=10).json()
    assert listed == {"checkpoints": []}  # nothing refused was stored

    r = post(good)
    assert r.status_code == 201 and r.json()["stored"] is True
    r = post(good)  # the same checkpoint again (a retried push): accepted, not stored twice
    assert r.status_code == 201 and r.json()["stored"] is False
    assert requests.get(url + PATH, params={"key": "zz"}, headers={"Authorization": f"Bearer {tok}"},
                        timeout=10).status_code == 400

    # verify --witness with a wrong token: the witness cannot be used, exit 2 with a clear message.
    make_trail(2)
    res = cli("audit", "verify", "--witness", url, "--token", "wrong")
    assert res.exit_code == 2 and "401" in res.output, res.output
    res = cli("audit", "verify", "--witness", "http://127.0.0.1:9", "--token", tok)
    assert res.exit_code == 2 and "无法连接" in res.output, res.output


def test_push_failure_stays_pending_and_never_blocks(app: Any) -> None:
    w = app.extensions["hub_witness"]
    res = cli("audit", "witness", "add", "http://127.0.0.1:9", "--token", "secret-token-xyz")
    assert res.exit_code == 0
    make_trail(3)
    checkpoint_now()  # the action itself succeeds with the witness down
    res = cli("audit", "witness", "push")
    assert res.exit_code == 1 and "无法连接" in res.output
    assert "secret-token-xyz" not in res.output
    assert '"sent": 0' in (w.dir / "audit-witness-remote.json").read_text()


def test_witness_user_has_no_web_face_and_no_other_api(app: Any, factory: Any, client: Any) -> None:
    import re

    from support import PASSWORD  # type: ignore[import-not-found]

    factory.unit("nmg", "内蒙古自治区", kind="region")
    factory.user("hub-a", "nmg", "witness")
    factory.user("boss", "nmg", "supervisor")
    html = client.get("/login").get_data(as_text=True)
    m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html)
    assert m
    r = client.post("/login", data={"username": "hub-a", "password": PASSWORD, "csrf_token": m.group(1)})
    assert r.status_code == 401  # refused like a wrong password
    tok = factory.token("hub-a")
    for path in ("/api/v1/posts", "/api/v1/accounts", "/api/v1/audit/verify"):
        r = client.get(path, headers={"Authorization": f"Bearer {tok}"})
        assert r.status_code == 403 and r.get_json()["error"]["code"] == "witness_only", path


def test_worker_sweeper_sends_new_checkpoints(app: Any, hub_b: dict[str, str], request: Any,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    url, tok = hub_b["url"], hub_b["witness_token"]
    w = app.extensions["hub_witness"]
    assert cli("audit", "witness", "add", url, "--token", tok).exit_code == 0
    make_trail(3)
    checkpoint_now()
    want = len(w.checkpoint_path.read_text().splitlines())
    monkeypatch.setenv("HUB_SWEEP_SECONDS", "1")
    request.getfixturevalue("worker_process")
    fp = key_id(w.public_key())
    deadline, got = time.monotonic() + 30, []
    while time.monotonic() < deadline:
        got = requests.get(url + PATH, params={"key": fp}, headers={"Authorization": f"Bearer {tok}"},
                           timeout=10).json()["checkpoints"]
        if len(got) >= want:
            break
        time.sleep(0.5)
    assert len(got) == want, (w.dir / "worker.log").read_text()[-2000:]
    assert tok not in (w.dir / "worker.log").read_text()
