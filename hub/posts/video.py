"""Videos: an MP4 an editor uploads, streamed to a file under the instance dir, and the limits of
the platforms that take a video from the hub.

Bytes are never held in one database blob: the upload (which werkzeug already spools to a temporary
file) is copied in chunks to ``<instance>/media/videos/<sha256>.mp4`` while it is hashed; the
``media`` row keeps the hash, size, duration (read with mutagen) and the file's path, and an empty
``data``. The same bytes uploaded again are the same media (per unit). The worker reads the file
again before it hands the video to an adapter and refuses it when its hash is no longer the one
approved (hub/dispatch/jobs/publish.py). docs/video-and-manual.md.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.config import get_settings
from hub.errors import Forbidden, TooLarge, Unprocessable
from hub.inputs import parse_id
from hub.models import Media, User
from hub.posts.access import editor_unit, get_post


class Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


VIDEO_DIR = Path("media") / "videos"
CHUNK = 1024 * 1024
GB = 1024 ** 3

#: What each platform that takes a video from the hub accepts (PLATFORMS.md §4; the platforms' docs).
#: A platform not listed here takes no video from the hub: a video post to it is refused at save.
VIDEO_LIMITS: dict[str, dict[str, Any]] = {
    # 抖音 open platform: /video/upload/ ≤ 128 MB in one part, ≤ 4 GB chunked; ≤ 15 minutes; mp4.
    "douyin": {"max_bytes": 4 * GB, "max_seconds": 15 * 60, "formats": ("video/mp4",)},
    # 快手 open platform (发起上传 → 上传 → 发布): mp4, ≤ 4 GB chunked [unverified], ≤ 15 minutes [unverified].
    "kuaishou": {"max_bytes": 4 * GB, "max_seconds": 15 * 60, "formats": ("video/mp4",)},
    # Manual publication: the editor uploads it on the platform by hand (视频号 takes long videos).
    "manual": {"max_bytes": 0, "max_seconds": 0, "formats": ("video/mp4",)},
}


def instance_dir() -> Path:
    try:
        from flask import current_app

        return Path(current_app.config.get("HUB_INSTANCE_DIR") or get_settings(current_app.config).instance_dir)
    except RuntimeError:
        return get_settings().instance_dir.resolve()


def max_video_bytes() -> int:
    try:
        from flask import current_app

        return get_settings(current_app.config).max_video_mb * 1024 * 1024
    except RuntimeError:
        return get_settings().max_video_mb * 1024 * 1024


def video_file(media: Media) -> Path:
    """Where a video's bytes are (absolute)."""
    return instance_dir() / (media.path or "")


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def looks_like_mp4(head: bytes) -> bool:
    """An ISO base media file starts with a box whose type is ``ftyp``."""
    return len(head) >= 12 and head[4:8] == b"ftyp"


def mp4_duration(path: Path) -> float:
    """The duration in seconds (mutagen); ValueError when the file is no readable MP4."""
    from mutagen import MutagenError
    from mutagen.mp4 import MP4

    try:
        info: Any = MP4(str(path)).info
    except (MutagenError, OSError, ValueError, KeyError, IndexError) as exc:
        raise ValueError("不是可读取的 MP4 视频") from exc
    return float(getattr(info, "length", 0.0) or 0.0)


def store_video(session: Session, unit_id: int | None, stream: Readable, max_bytes: int | None = None) -> Media:
    """Copy ``stream`` to the instance dir while hashing it; the unit's video media (one per content)."""
    limit = max_bytes if max_bytes is not None else max_video_bytes()
    folder = instance_dir() / VIDEO_DIR
    folder.mkdir(parents=True, exist_ok=True)
    h = hashlib.sha256()
    size = 0
    fd, tmp_name = tempfile.mkstemp(dir=folder, suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise TooLarge(f"视频不得超过 {limit // (1024 * 1024)} MB，请压缩或剪辑后再上传",
                                   code="video_too_large", max_bytes=limit)
                h.update(chunk)
                out.write(chunk)
        if size == 0:
            raise Unprocessable("视频文件为空", code="invalid_video")
        with tmp.open("rb") as f:
            head = f.read(12)
        if not looks_like_mp4(head):
            raise Unprocessable("不是 MP4 视频（仅支持 MP4 格式）", code="invalid_video")
        try:
            duration = mp4_duration(tmp)
        except ValueError:
            raise Unprocessable("无法读取视频时长：文件不是完整的 MP4 视频", code="invalid_video") from None
        sha = h.hexdigest()
        existing = session.scalars(select(Media).where(Media.sha256 == sha, Media.unit_id == unit_id,
                                                       Media.kind == "video")).first()
        rel = VIDEO_DIR / f"{sha}.mp4"
        final = instance_dir() / rel
        if not final.exists() or file_sha256(final) != sha:
            os.replace(tmp, final)
        if existing is not None:
            return existing
        media = Media(unit_id=unit_id, sha256=sha, mime="video/mp4", data=b"", kind="video", size=size,
                      duration=duration, path=str(rel))
        session.add(media)
        session.flush()
        return media
    finally:
        tmp.unlink(missing_ok=True)


def upload_video(session: Session, user: User, stream: Readable, post_id: int | None = None) -> Media:
    """A video an editor uploads for a post of their unit (or for a new post)."""
    if post_id is not None:
        unit_id = get_post(session, user, post_id).unit_id
        if not (user.has_role("editor", unit_id) or user.has_role("reviewer", unit_id)):
            raise Forbidden("您不能为本单位以外的稿件上传视频", code="not_editor")
    elif user.has_role("editor"):
        unit_id = editor_unit(user)
    else:
        raise Forbidden("只有编辑可以上传视频", code="not_editor")
    return store_video(session, unit_id, stream)


def video_url(media: Media) -> str:
    """Where the reviewer's player loads the exact file: ``/media/<id>/<first 32 hex>.mp4``."""
    return f"/media/{media.id}/{media.sha256[:32]}.mp4"


def video_json(media: Media) -> dict[str, Any]:
    return {"id": media.id, "kind": "video", "url": video_url(media), "sha256": media.sha256, "mime": media.mime,
            "bytes": media.size or 0, "size": media.size or 0, "duration": media.duration or 0.0,
            "width": None, "height": None}


def post_video(session: Session, unit_id: int, value: Any) -> tuple[int | None, str]:
    """A post's ``video`` field (a video media id of the unit, or null) as (media id, sha256)."""
    if value in (None, "", 0):
        return None, ""
    media_id = parse_id(value) if isinstance(value, int | str) and not isinstance(value, bool) else None
    media = session.get(Media, media_id) if media_id is not None else None
    if media is None or media.kind != "video" or media.unit_id not in (None, unit_id):
        raise Unprocessable(f"视频 {value} 不存在或不是本单位上传的视频", code="unknown_video", field="video")
    return media.id, media.sha256


def fingerprint(sha256: str) -> str:
    """The short 校验码 staff compare: the first 12 hex digits in groups of four."""
    short = (sha256 or "")[:12].upper()
    return "-".join(short[i:i + 4] for i in range(0, len(short), 4))


def video_problems(session: Session, platform: str, label: str, video_id: int | None) -> list[str]:
    """Why ``platform`` cannot take the post's video (zh-CN), before review."""
    if not video_id:
        return []
    media = session.get(Media, video_id)
    if media is None:
        return [f"{label}：视频不存在"]
    limits = VIDEO_LIMITS.get(platform)
    if limits is None:
        return [f"{label}不能通过本系统发布视频：请去掉该账号，或为视频另建稿件发往抖音、快手或人工发布账号"]
    out = []
    if media.mime not in limits["formats"]:
        out.append(f"{label}只接受 MP4 视频")
    if limits["max_bytes"] and (media.size or 0) > limits["max_bytes"]:
        out.append(f"{label}的视频不得超过 {limits['max_bytes'] // GB} GB")
    if limits["max_seconds"] and (media.duration or 0) > limits["max_seconds"]:
        out.append(f"{label}的视频不得超过 {limits['max_seconds'] // 60} 分钟（现为 {(media.duration or 0) / 60:.1f} 分钟）")
    return out
