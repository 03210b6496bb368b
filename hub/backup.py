"""``hub backup`` and ``hub restore``: one directory that brings an instance back.

A backup directory holds:

* the database: ``hub.db`` (SQLite, made with the sqlite3 online-backup API, so
  writers may go on) or ``hub.pgdump`` (PostgreSQL: ``pg_dump -Fc`` run on a
  snapshot exported from a REPEATABLE READ transaction, in which the audit head
  is read too, so the manifest names exactly the head the dump holds);
* the vault key file, the Flask secret key file (the audit queue's HMAC key is
  derived from it) and the audit checkpoint signing key with its public key —
  each only if the instance keeps it in a file (keys given by environment
  variables must be kept by whoever keeps the environment);
* the audit witness and the signed checkpoints, cut at the dump's audit head:
  the backup waits (up to the witness grace) until the witness has every entry
  of the dump, so that a restored instance verifies;
* the video files of the dump's ``media`` rows (``media/videos/<sha256>.mp4``, hub/posts/video.py):
  the database keeps only their hash and path; each is copied and its SHA-256 checked against its row;
* ``manifest.json``: the SHA-256 and size of every file.

Credentials stay encrypted in the dump: nothing is decrypted or re-encrypted.
``restore`` checks every checksum first (and that each video file's SHA-256 is the one its media row
records) and refuses a target that is not fresh (any of these files in its instance dir, or any
table in its database); once the database is loaded it checks the restored media rows against the
restored files again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect, text

from hub.audit import witness as witness_mod
from hub.config import get_settings
from hub.vault import KEY_FILE as VAULT_KEY_FILE

FORMAT = "zhengwu-hub-backup/v1"
MANIFEST = "manifest.json"
SQLITE_DUMP = "hub.db"
PG_DUMP = "hub.pgdump"
SECRET_KEY_FILE = "secret_key"
#: Files copied as they are (when the instance has them).
# The remote witnesses (URL + token, hub.audit.remote) are a secret kept 0600 like the keys.
KEY_FILES = (VAULT_KEY_FILE, SECRET_KEY_FILE, witness_mod.KEY_FILE, witness_mod.PUBLIC_KEY_FILE,
             "audit-witness-remote.json")
#: Append-only audit files, cut at the dump's audit head.
WITNESS_FILES = (witness_mod.WITNESS_FILE, witness_mod.CHECKPOINT_FILE)
WITNESS_WAIT_SECONDS = 30.0
#: Where video files live, under the instance dir and under the backup directory (hub.posts.video.VIDEO_DIR).
VIDEO_DIR = "media/videos"
VIDEO_ROWS = "SELECT id, sha256, path FROM media WHERE kind = 'video' AND path IS NOT NULL AND path <> '' ORDER BY id"


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why (in Chinese, for the operator)."""


@dataclass
class Target:
    instance_dir: Path
    database_url: str

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def sqlite_path(self) -> Path:
        return Path(self.database_url.split(":///", 1)[1])

    @property
    def libpq_url(self) -> str:
        """The URL as pg_dump / pg_restore take it (no SQLAlchemy driver suffix)."""
        scheme, rest = self.database_url.split("://", 1)
        return "postgresql://" + rest if scheme.startswith("postgresql") else self.database_url

    @property
    def sqlalchemy_url(self) -> str:
        return "postgresql+psycopg://" + self.libpq_url.split("://", 1)[1]


@dataclass
class Report:
    directory: Path
    audit_head: int = 0
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def current_target() -> Target:
    """The instance the environment names (``HUB_INSTANCE_DIR`` / ``HUB_DATABASE_URL``), as load_config does."""
    s = get_settings()
    inst = s.instance_dir.resolve()
    return Target(inst, s.database_url or f"sqlite:///{inst / 'hub.db'}")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _private_copy(src: Path, dst: Path) -> None:
    shutil.copyfile(src, dst)
    os.chmod(dst, 0o600)


# -- backup ------------------------------------------------------------------------------------
VideoRow = tuple[int, str, str]


def _dump_sqlite(t: Target, out: Path) -> tuple[int, str, list[VideoRow]]:
    if not t.sqlite_path.exists():
        raise BackupError(f"数据库文件不存在：{t.sqlite_path}")
    src = sqlite3.connect(str(t.sqlite_path), timeout=30)
    dst = sqlite3.connect(str(out / SQLITE_DUMP))
    try:
        src.backup(dst)  # one consistent copy while other processes keep writing
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        row = dst.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
        videos = [(int(r[0]), str(r[1]), str(r[2])) for r in dst.execute(VIDEO_ROWS)]
    finally:
        dst.close()
        src.close()
    os.chmod(out / SQLITE_DUMP, 0o600)
    return (int(row[0]), str(row[1]), videos) if row else (0, "", videos)


def _dump_postgres(t: Target, out: Path) -> tuple[int, str, list[VideoRow]]:
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise BackupError("PostgreSQL 备份需要 pg_dump（请安装与服务器同一主版本的 PostgreSQL 客户端）")
    engine = create_engine(t.sqlalchemy_url)
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
                row = conn.execute(text("SELECT seq, hash FROM audit_head WHERE id = 1")).first()
                videos = [(int(r[0]), str(r[1]), str(r[2])) for r in conn.execute(text(VIDEO_ROWS))]
                # pg_dump reads the very snapshot the head above was read in, while this transaction stays open.
                proc = subprocess.run(
                    [pg_dump, "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}",
                     "--file", str(out / PG_DUMP), t.libpq_url],
                    capture_output=True, text=True, check=False)
    finally:
        engine.dispose()
    if proc.returncode != 0:
        raise BackupError(f"pg_dump 失败：{proc.stderr.strip()[:500]}")
    os.chmod(out / PG_DUMP, 0o600)
    return (int(row[0]), str(row[1]), videos) if row else (0, "", videos)


def _line_seq(name: str, line: str) -> int | None:
    """The audit seq a witness or checkpoint line speaks of (None: unreadable, kept as it is)."""
    try:
        if name == witness_mod.WITNESS_FILE:
            return int(line.split()[0])
        return int(json.loads(line)["checkpoint"]["seq"])
    except (ValueError, IndexError, KeyError, TypeError):
        return None


def _witness_max(path: Path) -> int:
    if not path.exists():
        return 0
    best = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        seq = _line_seq(witness_mod.WITNESS_FILE, line)
        best = max(best, seq or 0)
    return best


def _copy_cut(src: Path, dst: Path, head: int) -> None:
    """Copy an append-only audit file, leaving out what speaks of entries after the dump's head."""
    lines = src.read_bytes().decode("utf-8", errors="surrogateescape").splitlines(keepends=True)
    kept = []
    for line in lines:
        if not line.endswith("\n"):
            break  # a record still being appended
        seq = _line_seq(src.name, line)
        if seq is None or seq <= head:
            kept.append(line)
    dst.write_bytes("".join(kept).encode("utf-8", errors="surrogateescape"))
    os.chmod(dst, 0o600)


def _video_name(path: str) -> str | None:
    """The backup name of a media row's video path (``media/videos/<file>``); None for a path outside it."""
    folder, _, name = path.replace("\\", "/").rpartition("/")
    if folder != VIDEO_DIR or not name or name.startswith(".") or not all(c.isalnum() or c in "._-" for c in name):
        return None
    return f"{VIDEO_DIR}/{name}"


def _backup_files(directory: Path) -> list[Path]:
    """Every file of a backup directory but the manifest (the videos are one level down)."""
    return [p for p in directory.rglob("*") if p.is_file() and p.relative_to(directory).as_posix() != MANIFEST]


def _copy_videos(t: Target, out: Path, videos: list[VideoRow], rep: Report) -> list[int]:
    """Copy each video of the dump, checked against its row's SHA-256; the ids whose file could not be."""
    missing: list[int] = []
    for vid, sha, path in videos:
        name = _video_name(path)
        src = t.instance_dir / path if name else None
        if name is None or src is None or not src.is_file():
            rep.notes.append(f"视频 {vid} 的文件 {path} 不存在，未能备份（该视频需由编辑重新上传）")
            missing.append(vid)
            continue
        dst = out / name
        if dst.exists():
            continue  # the same bytes of another unit: one file
        dst.parent.mkdir(parents=True, exist_ok=True)
        _private_copy(src, dst)
        if sha256_file(dst) != sha:
            dst.unlink()
            rep.notes.append(f"视频 {vid} 的文件 {path} 与数据库记录的 SHA-256 不符（文件已被改动），未备份")
            missing.append(vid)
    return missing


def backup(output: str | Path, target: Target | None = None,
           wait_seconds: float = WITNESS_WAIT_SECONDS) -> Report:
    t = target or current_target()
    out = Path(output).resolve()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BackupError(f"备份目录 {out} 已存在且不为空，请指定一个新目录")
    if not t.instance_dir.is_dir():
        raise BackupError(f"实例目录不存在：{t.instance_dir}")
    out.mkdir(parents=True, exist_ok=True)
    os.chmod(out, 0o700)
    rep = Report(out)
    head, head_hash, videos = _dump_sqlite(t, out) if t.is_sqlite else _dump_postgres(t, out)
    rep.audit_head = head
    missing_videos = _copy_videos(t, out, videos, rep)
    wpath = t.instance_dir / witness_mod.WITNESS_FILE
    if wpath.exists():
        # The witness is appended just after each commit: wait until it holds the dump's head.
        deadline = time.monotonic() + wait_seconds
        while _witness_max(wpath) < head and time.monotonic() < deadline:
            time.sleep(0.2)
        if _witness_max(wpath) < head:
            rep.notes.append(f"见证文件尚未记录到第 {head} 条（写入仍在进行？）；恢复后请尽快运行 hub audit verify")
    for name in WITNESS_FILES:
        if (t.instance_dir / name).exists():
            _copy_cut(t.instance_dir / name, out / name, head)
    for name in KEY_FILES:
        if (t.instance_dir / name).exists():
            _private_copy(t.instance_dir / name, out / name)
    if not (out / VAULT_KEY_FILE).exists():
        rep.notes.append("保险库密钥来自 HUB_VAULT_KEYS，不在备份中：请另行保管该变量的值")
    if not (out / SECRET_KEY_FILE).exists():
        rep.notes.append("会话密钥来自 HUB_SECRET_KEY，不在备份中：恢复的实例须使用同一值")
    for p in sorted(_backup_files(out)):
        rep.files[p.relative_to(out).as_posix()] = {"sha256": sha256_file(p), "size": p.stat().st_size}
    manifest = {
        "format": FORMAT,
        "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "database": "sqlite" if t.is_sqlite else "postgresql",
        "audit_head": {"seq": head, "hash": head_hash},
        "files": rep.files,
        # Each video row of the dump: the file it names is in "files" (unless listed in missing_videos).
        "videos": [{"id": vid, "sha256": sha, "path": path} for vid, sha, path in videos],
        "missing_videos": missing_videos,
    }
    mpath = out / MANIFEST
    mpath.write_text(json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.chmod(mpath, 0o600)
    return rep


# -- restore -----------------------------------------------------------------------------------
def read_manifest(directory: Path) -> dict[str, Any]:
    """The manifest, once every file it lists matches its checksum (and nothing else is there)."""
    mpath = directory / MANIFEST
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{directory} 不是备份目录（没有 {MANIFEST}）") from None
    except (OSError, ValueError) as exc:
        raise BackupError(f"无法读取 {mpath}：{exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or not isinstance(manifest.get("files"), dict):
        raise BackupError(f"{mpath} 不是本系统的备份清单")
    files: dict[str, Any] = manifest["files"]
    present = {p.relative_to(directory).as_posix() for p in _backup_files(directory)}
    if present - set(files):
        raise BackupError(f"备份目录中有清单未列出的文件：{'、'.join(sorted(present - set(files)))}")
    for name, meta in sorted(files.items()):
        flat = "/" not in name and not name.startswith(".")
        if not (flat or _video_name(name) == name) or name not in present:
            raise BackupError(f"备份文件缺失：{name}")
        if sha256_file(directory / name) != meta.get("sha256"):
            raise BackupError(f"备份文件 {name} 的校验和与清单不符（文件已损坏或被改动），拒绝恢复")
    dump = SQLITE_DUMP if manifest.get("database") == "sqlite" else PG_DUMP
    if dump not in files:
        raise BackupError(f"备份中没有数据库文件 {dump}")
    rows = manifest.get("videos") or []
    if dump == SQLITE_DUMP:
        rows = _sqlite_video_rows(directory / SQLITE_DUMP)  # the rows themselves, not what the manifest says
    _check_videos(directory, rows, _missing_videos(manifest, rows))
    return manifest


def _missing_videos(manifest: dict[str, Any], rows: list[dict[str, Any]]) -> list[Any]:
    """The video ids a backup holds no file for, by its own account (a backup older than the videos: all)."""
    if "videos" not in manifest:
        return [r.get("id") for r in rows if isinstance(r, dict)]
    return list(manifest.get("missing_videos") or [])


def _sqlite_video_rows(path: Path) -> list[dict[str, Any]]:
    lite = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        has_media = lite.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='media'").fetchone()
        rows = list(lite.execute(VIDEO_ROWS)) if has_media else []
    except sqlite3.Error as exc:
        raise BackupError(f"无法读取备份中的数据库：{exc}") from None
    finally:
        lite.close()
    return [{"id": int(r[0]), "sha256": str(r[1]), "path": str(r[2])} for r in rows]


def _check_videos(directory: Path, rows: list[dict[str, Any]], missing: list[Any]) -> None:
    """Every video row's file is there (unless the backup said it was missing) with the row's SHA-256."""
    for row in rows:
        if not isinstance(row, dict):
            raise BackupError("备份清单中的视频记录无法读取")
        name = _video_name(str(row.get("path", "")))
        if name is None or not (directory / name).is_file():
            if row.get("id") in missing:
                continue  # already missing when the backup was taken (noted then)
            raise BackupError(f"备份中缺少视频 {row.get('id')} 的文件 {row.get('path')}，拒绝恢复")
        if sha256_file(directory / name) != row.get("sha256"):
            raise BackupError(f"视频 {row.get('id')} 的文件 {name} 与其媒体记录的 SHA-256 不符"
                              "（文件已损坏或被替换），拒绝恢复")


def _restored_video_rows(t: Target) -> list[dict[str, Any]]:
    engine = create_engine(t.sqlalchemy_url if not t.is_sqlite else t.database_url)
    try:
        with engine.connect() as conn:
            if "media" not in inspect(conn).get_table_names():
                return []
            return [{"id": int(r[0]), "sha256": str(r[1]), "path": str(r[2])} for r in conn.execute(text(VIDEO_ROWS))]
    finally:
        engine.dispose()


def _database_tables(t: Target) -> list[str]:
    if t.is_sqlite:
        if not t.sqlite_path.exists() or t.sqlite_path.stat().st_size == 0:
            return []
        lite = sqlite3.connect(str(t.sqlite_path))
        try:
            return [r[0] for r in lite.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        finally:
            lite.close()
    engine = create_engine(t.sqlalchemy_url)
    try:
        with engine.connect() as conn:
            return list(inspect(conn).get_table_names())
    finally:
        engine.dispose()


def check_fresh(t: Target) -> None:
    found = [n for n in (*KEY_FILES, *WITNESS_FILES) if (t.instance_dir / n).exists()]
    if (t.instance_dir / VIDEO_DIR).is_dir() and any((t.instance_dir / VIDEO_DIR).iterdir()):
        found.append(VIDEO_DIR)
    if found:
        raise BackupError(f"目标实例目录 {t.instance_dir} 不是新实例（已有 {'、'.join(found)}），拒绝恢复；"
                          "请恢复到一个新的实例目录和空数据库")
    try:
        tables = _database_tables(t)
    except Exception as exc:  # noqa: BLE001  (unreachable database, bad URL: one clear line)
        raise BackupError(f"无法连接目标数据库：{type(exc).__name__}") from None
    if tables:
        raise BackupError(f"目标数据库不为空（已有 {len(tables)} 张表），拒绝恢复；请恢复到一个空数据库")


def restore(directory: str | Path, target: Target | None = None) -> dict[str, Any]:
    t = target or current_target()
    src = Path(directory).resolve()
    if not src.is_dir():
        raise BackupError(f"备份目录不存在：{src}")
    manifest = read_manifest(src)
    if (manifest["database"] == "sqlite") != t.is_sqlite:
        raise BackupError(f"备份来自 {manifest['database']} 数据库，目标数据库类型不同；请使用同类数据库恢复")
    check_fresh(t)
    t.instance_dir.mkdir(parents=True, exist_ok=True)
    if t.is_sqlite:
        t.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = t.sqlite_path.with_name(t.sqlite_path.name + ".restoring")
        _private_copy(src / SQLITE_DUMP, tmp)
        os.replace(tmp, t.sqlite_path)
    else:
        pg_restore = shutil.which("pg_restore")
        if pg_restore is None:
            raise BackupError("PostgreSQL 恢复需要 pg_restore（请安装 PostgreSQL 客户端）")
        proc = subprocess.run(
            [pg_restore, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
             "--dbname", t.libpq_url, str(src / PG_DUMP)],
            capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise BackupError(f"pg_restore 失败（目标数据库未改动）：{proc.stderr.strip()[:500]}")
    for name in (*KEY_FILES, *WITNESS_FILES):
        if name in manifest["files"]:
            _private_copy(src / name, t.instance_dir / name)
    for name in manifest["files"]:
        if name.startswith(VIDEO_DIR + "/"):
            (t.instance_dir / name).parent.mkdir(parents=True, exist_ok=True)
            _private_copy(src / name, t.instance_dir / name)
    # The loaded database's own rows, against the files now in the instance dir.
    restored = _restored_video_rows(t)
    _check_videos(t.instance_dir, restored, _missing_videos(manifest, restored))
    return manifest
