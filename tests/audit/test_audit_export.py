"""`hub audit export` and the inspector's script docs/verify_export.py; the real `hub audit verify` process."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from audit_helpers import Attacker, make_trail  # type: ignore[import-not-found]
from click.testing import CliRunner
from sqlalchemy import select, text

from hub.cli import main
from hub.db import db
from hub.models import AuditEntry

SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "verify_export.py"


def inspect(*args: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True,
                          timeout=60)


def export(tmp_path: Path, fmt: str, *extra: str) -> Path:
    out = tmp_path / f"trail.{fmt}"
    db.session.remove()
    res = CliRunner().invoke(main, ["audit", "export", "--format", fmt, "--output", str(out), *extra])
    assert res.exit_code == 0, res.output
    return out


def test_jsonl_export_verifies_with_checkpoints(app: Any, tmp_path: Path) -> None:
    w = app.extensions["hub_witness"]
    w.every = 5
    make_trail(12)
    out = export(tmp_path, "jsonl")
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 12 + 1  # and the entry of `hub init` creating the signing key
    first = json.loads(lines[0])
    assert first["seq"] == 1 and set(first) >= {"prev_hash", "hash", "details", "actor", "ip", "user_agent"}
    ok = inspect(out, "--checkpoints", w.checkpoint_path, "--public-key", w.public_key_path,
                 "--witness", w.witness_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "anchored" in ok.stdout
    # The export itself is audited.
    s = db.session()
    assert s.scalars(select(AuditEntry.action).order_by(AuditEntry.seq.desc())).first() == "audit.export"


def test_tampered_export_names_the_first_bad_entry(app: Any, tmp_path: Path) -> None:
    make_trail(8)
    out = export(tmp_path, "jsonl")
    entries = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    entries[4]["summary"] = "改过"
    out.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries), encoding="utf-8")
    bad = inspect(out)
    assert bad.returncode == 1 and "first bad entry: seq 5:" in bad.stdout
    del entries[4]
    out.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries), encoding="utf-8")
    bad = inspect(out)
    assert bad.returncode == 1 and "seq 5:" in bad.stdout
    gaps = inspect(out, "--allow-gaps")  # as for one unit's listing: the gap is expected there
    assert gaps.returncode == 0 and "gap" in gaps.stdout
    assert inspect(tmp_path / "missing.jsonl").returncode == 2


def test_export_of_a_rebuilt_chain_fails_against_witness_and_checkpoints(app: Any, tmp_path: Path) -> None:
    w = app.extensions["hub_witness"]
    w.every = 4
    make_trail(9)
    with Attacker().conn() as c:
        c.execute(text("UPDATE audit_entries SET summary = '改过' WHERE seq = 3"))
        Attacker().rechain(c, 3)
    out = export(tmp_path, "jsonl")
    assert inspect(out).returncode == 0  # the chain alone was rebuilt consistently
    bad = inspect(out, "--checkpoints", w.checkpoint_path, "--public-key", w.public_key_path)
    assert bad.returncode == 1 and "seq 4:" in bad.stdout  # the first checkpoint after the edit
    bad = inspect(out, "--witness", w.witness_path)
    assert bad.returncode == 1 and "seq 3:" in bad.stdout


def test_csv_export_and_range_export(app: Any, tmp_path: Path) -> None:
    make_trail(6)
    out = export(tmp_path, "csv")
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len(rows) == 6 + 1 and rows[0]["seq"] == "1" and rows[0]["action"] == "audit.key_create"
    assert inspect(out).returncode == 0
    part = export(tmp_path, "jsonl", "--after", "3")
    seqs = [json.loads(x)["seq"] for x in part.read_text(encoding="utf-8").splitlines()]
    assert seqs[0] == 4 and seqs == sorted(seqs)
    assert inspect(part).returncode == 0


def test_real_cli_process(app: Any, instance: dict[str, str], tmp_path: Path) -> None:
    make_trail(5)
    db.session.remove()
    env = dict(os.environ, **instance)
    run = subprocess.run([sys.executable, "-m", "hub", "audit", "verify"], env=env, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    out = tmp_path / "cli.jsonl"
    run = subprocess.run([sys.executable, "-m", "hub", "audit", "export", "--format", "jsonl", "--output", str(out)],
                         env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    exported = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert exported and all(e["hash"] for e in exported)
    with Attacker().conn() as c:
        c.execute(text("UPDATE audit_entries SET summary = '改过' WHERE seq = 2"))
    run = subprocess.run([sys.executable, "-m", "hub", "audit", "verify"], env=env, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 1 and "seq 2:" in run.stdout and "第 2 条" in run.stderr
