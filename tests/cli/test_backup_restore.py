"""`hub backup` taken while a real worker publishes, `hub restore` onto a fresh instance: the trail
verifies, every post and credential is there (one credential decrypts), and a non-empty target or a
tampered backup is refused. On SQLite, and on PostgreSQL when HUB_TEST_DATABASE_URL is set (the
restore target is then a database created for the test and dropped after it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from support import wait_for

from hub.db import db

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "dispatch"))
from dispatch_helpers import approve_post, settled  # noqa: E402  (the dispatch tests' real-review helpers)

# As tests/conftest.py reads them (importing it by name would find another area's conftest first).
TEST_DB = os.environ.get("HUB_TEST_DATABASE_URL", "")


def _pg_admin_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url


DECRYPT = """
import json, sys
from sqlalchemy import select
from hub import create_app
from hub.accounts.service import decrypt_credentials
from hub.db import db
from hub.models import Account
app = create_app()
with app.app_context():
    acc = db.session().scalars(select(Account).where(Account.id == int(sys.argv[1]))).one()
    print(json.dumps(decrypt_credentials(acc, app.extensions["hub_vault"])))
"""


def hub(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hub", *args], env=env, capture_output=True, text=True,
                          timeout=180, check=False)


@pytest.fixture
def fresh_target(tmp_path: Path, instance: dict[str, str]) -> Iterator[dict[str, str]]:
    """The environment of a fresh instance: an empty instance dir and an empty database."""
    inst = tmp_path / "restored"
    inst.mkdir()
    env = {**os.environ, **instance, "HUB_INSTANCE_DIR": str(inst)}
    if not TEST_DB:
        env["HUB_DATABASE_URL"] = f"sqlite:///{inst / 'hub.db'}"
        yield env
        return
    name = f"hub_restore_{uuid.uuid4().hex[:10]}"
    admin = create_engine(_pg_admin_url(TEST_DB), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    env["HUB_DATABASE_URL"] = f"{TEST_DB.rsplit('/', 1)[0]}/{name}"
    try:
        yield env
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    eng = create_engine(_pg_admin_url(url))
    try:
        with eng.connect() as c:
            return [tuple(r) for r in c.execute(text(sql))]
    finally:
        eng.dispose()


POSTS = "SELECT id FROM posts ORDER BY id"
REVISIONS = "SELECT id, post_id, title, content, hash FROM revisions ORDER BY id"
CREDENTIALS = "SELECT account_id, field, version, key_version, wrapped_key, ciphertext FROM credentials ORDER BY id"


def test_backup_while_publishing_restores_onto_a_fresh_instance(app, world, worker_process, instance,
                                                                 fresh_target, tmp_path):
    api, accounts = world["api"], world["accounts"]
    first = [approve_post(api, accounts, title=f"冬季供暖通知 第{i}号") for i in range(3)]
    more: list[int] = []
    publishing = threading.Thread(
        target=lambda: more.extend(approve_post(api, accounts[:1], title=f"防火通告 第{i}号") for i in range(3)))
    publishing.start()  # posts go on being approved and published while the backup runs
    env = dict(os.environ, **instance)
    out = tmp_path / "backup"
    r = hub(env, "backup", "--output", str(out))
    publishing.join(timeout=120)
    assert r.returncode == 0, r.stderr
    assert "已备份到" in r.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    names = set(manifest["files"])
    assert {"vault.keys", "audit-witness.log", "audit-checkpoints.log", "audit-signing-key.pem"} <= names
    assert ("hub.db" if not TEST_DB else "hub.pgdump") in names
    src_url = instance["HUB_DATABASE_URL"]
    # Secrets stay encrypted: no credential's plaintext anywhere in the backup.
    for p in out.iterdir():
        assert b"secret-main" not in p.read_bytes(), p.name
    wait_for(lambda: settled(app, first + more), timeout=120)

    r = hub(fresh_target, "restore", str(out))
    assert r.returncode == 0, r.stderr
    r = hub(fresh_target, "init")
    assert r.returncode == 0, r.stderr
    r = hub(fresh_target, "audit", "verify")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "审计日志完整" in r.stdout

    # Every post of the snapshot is there, unchanged in content; the ones approved before are all there.
    assert {p[0] for p in _rows(fresh_target["HUB_DATABASE_URL"], POSTS)} >= set(first)
    source = {row[0]: row for row in _rows(src_url, REVISIONS)}
    restored = _rows(fresh_target["HUB_DATABASE_URL"], REVISIONS)
    assert restored and all(source[row[0]] == row for row in restored)
    # Credentials come back byte for byte, still sealed, and open with the restored vault key.
    assert _rows(fresh_target["HUB_DATABASE_URL"], CREDENTIALS) == _rows(src_url, CREDENTIALS)
    r = subprocess.run([sys.executable, "-c", DECRYPT, str(accounts[0])], env=fresh_target,
                       capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1]) == {"app_id": "wx_main", "app_secret": "secret-main"}

    # The restored instance is no longer fresh: a second restore onto it is refused.
    r = hub(fresh_target, "restore", str(out))
    assert r.returncode != 0
    assert "拒绝恢复" in r.stderr and "不是新实例" in r.stderr


def test_restore_refuses_a_non_empty_instance_and_a_tampered_backup(app, world, instance, fresh_target, tmp_path):
    env = dict(os.environ, **instance)
    out = tmp_path / "backup"
    assert hub(env, "backup", "--output", str(out)).returncode == 0
    # The running source instance itself is not a restore target.
    r = hub(env, "restore", str(out))
    assert r.returncode == 1 and "拒绝恢复" in r.stderr
    # A backup directory is never overwritten.
    r = hub(env, "backup", "--output", str(out))
    assert r.returncode == 1 and "不为空" in r.stderr
    # One byte changed in the witness: refused before anything is written to the fresh target.
    w = out / "audit-witness.log"
    w.write_bytes(w.read_bytes().replace(b"1 ", b"2 ", 1))
    r = hub(fresh_target, "restore", str(out))
    assert r.returncode == 1 and "audit-witness.log" in r.stderr and "校验和" in r.stderr
    assert not (Path(fresh_target["HUB_INSTANCE_DIR"]) / "vault.keys").exists()
    if not TEST_DB:
        assert not (Path(fresh_target["HUB_INSTANCE_DIR"]) / "hub.db").exists()
    db.session.remove()


VIDEOS = Path(__file__).resolve().parent.parent / "data" / "video"


def _upload_video(api: Any, name: str) -> dict[str, Any]:
    import io

    data = (VIDEOS / name).read_bytes()
    r = api.client.post("/api/v1/media", data={"file": (io.BytesIO(data), name)},
                        headers={"Authorization": f"Bearer {api.token}"}, content_type="multipart/form-data")
    assert r.status_code == 201, r.get_json()
    return dict(r.get_json())


def test_backup_carries_the_video_files_and_restore_checks_them_against_their_media_rows(
        app, world, instance, fresh_target, tmp_path):
    import hashlib

    blue = _upload_video(world["api"]["editor"], "blue-2s.mp4")
    red = _upload_video(world["api"]["editor"], "red-3s.mp4")
    env = dict(os.environ, **instance)
    out = tmp_path / "backup"
    r = hub(env, "backup", "--output", str(out))
    assert r.returncode == 0, r.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    for v in (blue, red):
        name = f"media/videos/{v['sha256']}.mp4"
        assert manifest["files"][name]["sha256"] == v["sha256"]
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == v["sha256"]

    # A video file swapped for other bytes, the manifest "fixed" to match: refused, it is not its row's file.
    blue_name = f"media/videos/{blue['sha256']}.mp4"
    tampered = tmp_path / "tampered"
    subprocess.run(["cp", "-a", str(out), str(tampered)], check=True)
    (tampered / blue_name).write_bytes((VIDEOS / "red-3s.mp4").read_bytes())
    m = json.loads((tampered / "manifest.json").read_text())
    m["files"][blue_name] = {"sha256": red["sha256"], "size": (tampered / blue_name).stat().st_size}
    (tampered / "manifest.json").write_text(json.dumps(m))
    r = hub(fresh_target, "restore", str(tampered))
    assert r.returncode == 1 and "SHA-256 不符" in r.stderr and "拒绝恢复" in r.stderr, r.stderr
    # A video file left out of the backup: refused too.
    (tampered / blue_name).unlink()
    del m["files"][blue_name]
    (tampered / "manifest.json").write_text(json.dumps(m))
    r = hub(fresh_target, "restore", str(tampered))
    assert r.returncode == 1 and "缺少视频" in r.stderr, r.stderr
    assert not (Path(fresh_target["HUB_INSTANCE_DIR"]) / "vault.keys").exists()

    # The untouched backup restores, and the restored instance has each video's exact bytes.
    r = hub(fresh_target, "restore", str(out))
    assert r.returncode == 0, r.stderr
    restored = Path(fresh_target["HUB_INSTANCE_DIR"])
    for v in (blue, red):
        f = restored / "media" / "videos" / f"{v['sha256']}.mp4"
        assert hashlib.sha256(f.read_bytes()).hexdigest() == v["sha256"]
    rows = _rows(fresh_target["HUB_DATABASE_URL"], "SELECT id, sha256 FROM media WHERE kind = 'video' ORDER BY id")
    assert rows == [(blue["id"], blue["sha256"]), (red["id"], red["sha256"])]
    db.session.remove()
