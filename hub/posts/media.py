"""Media: stored images (covers, account avatars), de-duplicated per unit by their SHA-256."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.content import CoverError, parse_data_url
from hub.errors import BadRequest, Unprocessable
from hub.models import Media


def cover_media(session: Session, unit_id: int, value: Any) -> tuple[int | None, str]:
    """A post's ``cover`` field (a media id of the unit, or a ``data:`` URL to store) as (media id, sha256)."""
    if value in (None, ""):
        return None, ""
    if isinstance(value, int) and not isinstance(value, bool) or (isinstance(value, str) and value.isdigit()):
        media = session.get(Media, int(value))
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
