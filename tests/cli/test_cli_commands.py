"""The `hub` command line as an operator uses it: separate processes, one instance."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

HUB = [sys.executable, "-m", "hub"]


def run(env, *args, stdin: str | None = None, check: bool = True):
    p = subprocess.run([*HUB, *args], env=env, input=stdin, capture_output=True, text=True, timeout=120)
    if check and p.returncode != 0:
        raise AssertionError(f"hub {' '.join(args)} -> {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


@pytest.fixture
def env(tmp_path, instance):
    """Environment of a fresh instance (real services when the test env names them)."""
    e = dict(os.environ, **instance)
    e["HUB_INSTANCE_DIR"] = str(tmp_path / "inst")
    if "HUB_DATABASE_URL" in e and e["HUB_DATABASE_URL"].startswith("sqlite"):
        del e["HUB_DATABASE_URL"]  # the embedded default: SQLite in the instance dir
    return e


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed(env):
    run(env, "init")
    run(env, "unit", "create", "nmg", "内蒙古自治区", "--kind", "region")
    run(env, "unit", "create", "cbeh", "陈巴尔虎旗", "--parent", "nmg", "--kind", "banner")
    run(env, "user", "create", "ed", "--unit", "cbeh", "--role", "editor", "--password-stdin",
        stdin="password-12345\n")
    run(env, "user", "create", "boss", "--unit", "cbeh", "--role", "admin", "--role", "reviewer",
        "--password-stdin", stdin="password-12345\n")


def test_init_is_idempotent_and_key_file_is_private(env):
    run(env, "init")
    run(env, "init")
    key = Path(env["HUB_INSTANCE_DIR"]) / "vault.keys"
    if "HUB_VAULT_KEYS" not in env:
        assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_token_create_prints_token_alone(env):
    seed(env)
    p = run(env, "token", "create", "ed")
    lines = p.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("hub_") and len(lines[0]) > 30


def test_bad_cli_input_is_refused_and_changes_nothing(env):
    seed(env)
    assert run(env, "unit", "create", "nmg", "重复", check=False).returncode != 0
    assert run(env, "unit", "create", "x1", "无上级", "--parent", "nope", check=False).returncode != 0
    p = run(env, "user", "create", "weak", "--unit", "cbeh", "--role", "editor", "--password-stdin",
            stdin="short\n", check=False)
    assert p.returncode != 0 and "密码" in p.stderr
    assert run(env, "user", "create", "ed", "--unit", "cbeh", "--role", "editor", "--password-stdin",
               stdin="password-12345\n", check=False).returncode != 0
    assert run(env, "token", "create", "ghost", check=False).returncode != 0
    p = run(env, "user", "create", "u2", "--unit", "cbeh", "--role", "king", "--password-stdin",
            stdin="password-12345\n", check=False)
    assert p.returncode == 2
    assert "Traceback" not in p.stderr


def test_audit_verify_export_and_tamper(env, tmp_path):
    seed(env)
    assert run(env, "audit", "verify").returncode == 0
    out = tmp_path / "audit.jsonl"
    run(env, "audit", "export", "--format", "jsonl", "--output", str(out))
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))
    assert {"unit.create", "user.create"} <= {r["action"] for r in rows}
    assert all(r["hash"] and r["prev_hash"] for r in rows)
    csv_out = run(env, "audit", "export", "--format", "csv").stdout
    assert csv_out.splitlines()[0].startswith("seq,at,")
    actions = [r["actor"]["username"] for r in rows if r["action"] == "unit.create"]
    assert all(a.startswith("cli:") for a in actions)


def test_check_exit_codes(env, tmp_path):
    clean = tmp_path / "clean.txt"
    clean.write_text("各苏木镇人民政府：请做好冬季防火工作。", encoding="utf-8")
    p = run(env, "check", str(clean), "--format", "json", check=False)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {"findings": []}
    bad = "本文件为机密★1年，请勿外传。"
    p = run(env, "check", "-", "--format", "json", stdin=bad, check=False)
    assert p.returncode == 1
    findings = json.loads(p.stdout)["findings"]
    secret = [f for f in findings if f["category"] == "secret"]
    assert secret and bad[secret[0]["start"]:secret[0]["end"]] == secret[0]["text"]
    assert run(env, "check", str(tmp_path / "missing.txt"), check=False).returncode == 2
    (tmp_path / "bin.txt").write_bytes(b"\xff\xfe\x00bad")
    assert run(env, "check", str(tmp_path / "bin.txt"), check=False).returncode == 2
    assert run(env, "check", check=False).returncode == 2


def _serve(env, host: str, port: int):
    log = open(Path(env["HUB_INSTANCE_DIR"]) / f"serve-{port}.log", "wb")
    p = subprocess.Popen([*HUB, "serve", "--host", host, "--port", str(port), "--workers", "1"], env=env,
                         stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=1)
            return p
        except requests.RequestException:
            if p.poll() is not None:
                raise AssertionError((Path(env["HUB_INSTANCE_DIR"]) / f"serve-{port}.log").read_text()) from None
            time.sleep(0.3)
    p.kill()
    raise AssertionError("hub serve did not start")


def _has_ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def test_one_instance_across_processes_and_dual_stack(env):
    """CLI, web and worker started with the same HUB_INSTANCE_DIR are one instance."""
    seed(env)
    token = run(env, "token", "create", "ed").stdout.strip()
    port = free_port()
    web = _serve(env, "::" if _has_ipv6() else "127.0.0.1", port)
    try:
        h = {"Authorization": f"Bearer {token}"}
        r = requests.get(f"http://127.0.0.1:{port}/api/v1/accounts", headers=h, timeout=10)
        assert r.status_code == 200 and r.json() == {"accounts": []}
        if _has_ipv6():
            r6 = requests.get(f"http://[::1]:{port}/api/v1/accounts", headers=h, timeout=10)
            assert r6.status_code == 200
        # A token created by another CLI process after the server started works at once.
        token2 = run(env, "token", "create", "boss").stdout.strip()
        r = requests.get(f"http://127.0.0.1:{port}/api/v1/audit?limit=5",
                         headers={"Authorization": f"Bearer {token2}"}, timeout=10)
        assert r.status_code == 200 and len(r.json()["entries"]) == 5
        # The web server wrote audit entries the CLI sees and verifies.
        assert run(env, "audit", "verify").returncode == 0
        # A burst worker of the same instance runs against the same queue.
        assert run(env, "worker", "--burst").returncode == 0
    finally:
        web.terminate()
        web.wait(timeout=20)
