"""Media: stored images (covers, account avatars, body images), de-duplicated per unit by their SHA-256.

Body images never stay in the body as ``data:`` URLs: the editor uploads each one
(``POST /posts/media``, ``POST /api/v1/media``) and inserts its URL, and a ``data:`` image an
API client sends in ``content`` is stored here and replaced by its URL when the post is saved.
The URL is ``/media/<id>/<first 32 hex of its SHA-256>.<ext>`` (``hub.content.media_src``),
served to signed-in users who may see the unit; the worker reads the bytes from the database
(``body_image_bytes``) and hands them to the adapters, which never fetch the hub over HTTP.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.content import (
    BODY_IMAGE_TYPES,
    IMG_SRC,
    MAX_BODY_IMAGE_BYTES,
    MEDIA_SRC,
    CoverError,
    decode_data_url,
    image_info,
    media_src,
    parse_data_url,
)
from hub.errors import BadRequest, Forbidden, TooLarge, Unprocessable
from hub.inputs import parse_id
from hub.models import Media, User
from hub.posts.access import editor_unit, get_post


def cover_media(session: Session, unit_id: int, value: Any) -> tuple[int | None, str]:
    """A post's ``cover`` field (a media id of the unit, or a ``data:`` URL to store) as (media id, sha256)."""
    if value in (None, ""):
        return None, ""
    if isinstance(value, int) and not isinstance(value, bool) or (isinstance(value, str) and value.isdigit()):
        media_id = parse_id(value)
        media = session.get(Media, media_id) if media_id is not None else None
        if media is None or (media.unit_id not in (None, unit_id)):
            raise Unprocessable(f"封面媒体 {value} 不存在", code="unknown_media")
        return media.id, media.sha256
    if isinstance(value, str):
        try:
            mime, data = parse_data_url(value)
        except CoverError as exc:
            raise Unprocessable(str(exc), code="invalid_cover") from None
        media = store_media(session, unit_id, mime, data)
        return media.id, media.sha256
    raise BadRequest("cover 必须是 data: URL 或媒体编号", code="invalid_cover")


def store_media(session: Session, unit_id: int | None, mime: str, data: bytes) -> Media:
    """The unit's stored copy of ``data`` (one row per unit and content: the same image is stored once)."""
    sha = hashlib.sha256(data).hexdigest()
    existing = session.scalars(select(Media).where(Media.sha256 == sha, Media.unit_id == unit_id)).first()
    if existing:
        return existing
    media = Media(unit_id=unit_id, sha256=sha, mime=mime, data=data)
    session.add(media)
    session.flush()
    return media


SUPPORTED = "JPG、PNG、GIF、WebP"


def store_body_image(session: Session, unit_id: int | None, data: bytes, where: str = "") -> Media:
    """Validate a body image (a real JPG/PNG/GIF/WebP of at most 10 MB) and store it for the unit."""
    if len(data) > MAX_BODY_IMAGE_BYTES:
        raise TooLarge(f"{where}图片不得超过 {MAX_BODY_IMAGE_BYTES // (1024 * 1024)} MB"
                       f"（现为 {len(data) / (1024 * 1024):.1f} MB），请压缩后再插入", code="image_too_large",
                       max_bytes=MAX_BODY_IMAGE_BYTES)
    if not data:
        raise Unprocessable(f"{where}图片为空", code="invalid_image")
    try:
        mime = image_info(data)[0]
    except ValueError:
        raise Unprocessable(f"{where}不是可识别的图片（支持 {SUPPORTED}）", code="invalid_image") from None
    if mime not in BODY_IMAGE_TYPES:
        raise Unprocessable(f"{where}图片格式不受支持（仅支持 {SUPPORTED}）", code="invalid_image")
    return store_media(session, unit_id, mime, data)


def upload_body_image(session: Session, user: User, data: bytes, post_id: int | None = None) -> Media:
    """An image the editor inserts into a body: stored for the post's unit (or, for a new post, the
    unit the editor writes for). Editors, and reviewers correcting a post of their unit, may upload."""
    if post_id is not None:
        unit_id = get_post(session, user, post_id).unit_id
        if not (user.has_role("editor", unit_id) or user.has_role("reviewer", unit_id)):
            raise Forbidden("您不能为本单位以外的稿件上传图片", code="not_editor")
    elif user.has_role("editor"):
        unit_id = editor_unit(user)
    else:
        raise Forbidden("只有编辑可以上传正文图片", code="not_editor")
    return store_body_image(session, unit_id, data)


def upload_any(session: Session, user: User, stream: Any, post_id: int | None = None) -> dict[str, Any]:
    """``POST /media``: an MP4 (recognised by its ``ftyp`` box) is stored as a video (streamed to disk,
    hub/posts/video.py); anything else must be a body image (≤ 10 MB, read into memory). The JSON answer."""
    from hub.posts import video

    head = stream.read(12)
    if video.looks_like_mp4(head):
        return video.video_json(video.upload_video(session, user, _Prefixed(head, stream), post_id))
    rest = stream.read(MAX_BODY_IMAGE_BYTES + 1 - len(head))
    return media_json(upload_body_image(session, user, head + rest, post_id))


class _Prefixed:
    """A stream whose first bytes were already read."""

    def __init__(self, head: bytes, stream: Any) -> None:
        self.head, self.stream = head, stream

    def read(self, n: int = -1, /) -> bytes:
        if self.head:
            out, self.head = self.head, b""
            return out
        return self.stream.read(n)


def media_json(media: Media) -> dict[str, Any]:
    """What an upload answers: {id, kind, url, sha256, bytes, mime, width, height, size}."""
    if media.kind == "video":
        from hub.posts.video import video_json

        return video_json(media)
    _mime, width, height = image_info(media.data)
    return {"id": media.id, "kind": "image", "url": media_src(media.id, media.sha256, media.mime),
            "sha256": media.sha256, "bytes": len(media.data), "mime": media.mime, "width": width, "height": height,
            "size": len(media.data)}


def inline_images(session: Session, unit_id: int, html: str, where: str, field: str) -> str:
    """``html`` with every ``data:`` image stored as the unit's media and its ``src`` replaced by the
    media URL. A ``data:`` image that is no image, or a hub media URL that is not one of the unit's
    images, is refused (422 ``invalid_image``, naming the article and the image's position)."""
    position = 0

    def swap(m: re.Match[str]) -> str:
        nonlocal position
        position += 1
        src = m.group(2).strip()
        here = f"{where}第 {position} 张图片"
        if src.startswith("data:"):
            try:
                data = decode_data_url(src)
            except ValueError as exc:
                raise Unprocessable(f"{here}无法识别：{exc}", code="invalid_image", field=field,
                                    position=position) from None
            try:
                media = store_body_image(session, unit_id, data, here)
            except Unprocessable as exc:
                raise Unprocessable(exc.message, code="invalid_image", field=field, position=position) from None
            except TooLarge as exc:
                raise TooLarge(exc.message, code=exc.code, field=field, position=position, **exc.extra) from None
            return f'{m.group(1)}"{media_src(media.id, media.sha256, media.mime)}"'
        if MEDIA_SRC.match(src) and _unit_media(session, unit_id, src) is None:
            raise Unprocessable(f"{here}（{src}）不是本单位已上传的图片，请重新插入", code="invalid_image",
                                field=field, position=position)
        return m.group(0)

    return IMG_SRC.sub(swap, html or "")


def _unit_media(session: Session, unit_id: int, src: str) -> Media | None:
    """The unit's stored image whose URL is exactly ``src`` (a ``MEDIA_SRC``), else None."""
    match = MEDIA_SRC.match(src)
    media_id = parse_id(match.group(1)) if match else None
    media = session.get(Media, media_id) if media_id is not None else None
    if media is None or media.unit_id not in (None, unit_id) or media_src(media.id, media.sha256, media.mime) != src:
        return None
    return media


def body_image_bytes(session: Session, unit_id: int, contents: list[str]) -> dict[str, bytes]:
    """{src: bytes} of every body image in ``contents`` that is one of the unit's stored media."""
    out: dict[str, bytes] = {}
    for html in contents:
        for m in IMG_SRC.finditer(html or ""):
            src = m.group(2).strip()
            if src not in out and (media := _unit_media(session, unit_id, src)) is not None:
                out[src] = media.data
    return out
