"""Post content: HTML sanitising, cover images, and the revision hash."""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import re
from typing import Any

import nh3
from PIL import Image, UnidentifiedImageError

ALLOWED_TAGS = {
    "p", "br", "strong", "b", "em", "i", "u", "s", "span", "a", "img", "h1", "h2", "h3", "h4",
    "ul", "ol", "li", "blockquote", "pre", "code", "hr", "table", "thead", "tbody", "tr", "td", "th",
    "sub", "sup", "figure", "figcaption", "section",
}
ALLOWED_ATTRS = {
    "*": {"class", "style"},
    "a": {"href", "title", "target"},
    "img": {"src", "alt", "title", "width", "height", "data-map", "data-review-no"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}


#: CSS a rich-text body needs (Quill's formats and what API clients send): colours, type, spacing,
#: alignment, borders, sizes. No positioning (position/top/left/z-index/transform/float tricks), no
#: url()/expression(): nothing in a body can draw over or outside its own box.
ALLOWED_CSS = {
    "color", "background-color", "font-weight", "font-style", "font-size", "font-family", "text-align",
    "text-decoration", "text-indent", "line-height", "letter-spacing", "word-spacing", "vertical-align",
    "white-space", "list-style-type", "margin", "margin-top", "margin-bottom", "margin-left", "margin-right",
    "padding", "padding-top", "padding-bottom", "padding-left", "padding-right", "border", "border-top",
    "border-bottom", "border-left", "border-right", "border-color", "border-style", "border-width",
    "border-collapse", "border-radius", "width", "max-width", "height", "max-height",
}
#: A declaration value made of plain tokens only: no url(), expression(), escapes, comments, negatives.
_CSS_VALUE = re.compile(r"^[#\w\s.,%'\"/+()]*$")
_CSS_BAD = re.compile(r"url|expression|javascript|vbscript|data:|behavior|binding|@import|var\(|env\(",
                      re.IGNORECASE)
#: The only ``data:`` URLs kept: base64 images in ``<img src>`` (stored as hub media on save).
_DATA_IMAGE = re.compile(r"^data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]*$", re.IGNORECASE)
_URL_ATTRS = {"href", "src"}


def _clean_style(value: str) -> str | None:
    kept = []
    for decl in value.split(";"):
        prop, sep, val = decl.partition(":")
        prop, val = prop.strip().lower(), val.strip()
        if (sep and prop in ALLOWED_CSS and val and _CSS_VALUE.match(val) and not _CSS_BAD.search(val)
                and not re.search(r"-\s*\d", val)):
            kept.append(f"{prop}:{val}")
    return ";".join(kept) or None


def _attribute_filter(tag: str, attr: str, value: str) -> str | None:
    if attr == "style":
        return _clean_style(value)
    if attr == "class":  # only the editor's own format classes, never the hub's page classes
        return " ".join(c for c in value.split() if c.startswith("ql-")) or None
    if attr == "target":
        return "_blank" if value == "_blank" else None
    if attr in _URL_ATTRS:
        probe = re.sub(r"[\x00-\x20]", "", value).lower()
        if probe.startswith("data:"):
            return value if tag == "img" and attr == "src" and _DATA_IMAGE.match(value.strip()) else None
        if ":" in probe.split("/", 1)[0] and not probe.startswith(("http:", "https:", "mailto:")):
            return None
    return value


def sanitize_html(html: str) -> str:
    """Keep the formatting a rich-text editor produces; drop scripts, handlers, positioning CSS and
    every ``data:``/``javascript:`` URL (a base64 image in ``<img src>`` is kept for ``inline_images``
    to store as hub media)."""
    return nh3.clean(
        html or "",
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRS,
        attribute_filter=_attribute_filter,
        filter_style_properties=ALLOWED_CSS,
        url_schemes={"http", "https", "mailto", "data"},
        link_rel="noopener noreferrer",
    )


def html_to_text(html: str) -> str:
    return nh3.clean(html or "", tags=set()).replace("&nbsp;", " ").strip()


class CoverError(ValueError):
    pass


MAX_COVER_BYTES = 10 * 1024 * 1024


#: Body images the hub stores (the editor's uploads, ``data:`` images of API clients): mime → extension.
BODY_IMAGE_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp"}
MAX_BODY_IMAGE_BYTES = 10 * 1024 * 1024
_FORMAT_MIME = {"jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif", "bmp": "image/bmp",
                "webp": "image/webp"}
#: ``<img … src="…">`` in sanitised HTML (nh3 always writes double-quoted attributes).
IMG_SRC = re.compile(r'(<img\b[^>]*?\bsrc=)"([^"]*)"', re.IGNORECASE)
#: The URL a stored body image is served at: ``/media/<id>/<first 32 hex of its SHA-256>.<ext>``.
MEDIA_SRC = re.compile(r"^/media/(\d+)/([0-9a-f]{32})\.(jpg|png|gif|webp)$")


def media_src(media_id: int, sha256: str, mime: str) -> str:
    """The stable URL of a stored body image (what the body's ``<img src>`` holds)."""
    return f"/media/{media_id}/{sha256[:32]}.{BODY_IMAGE_TYPES.get(mime, 'jpg')}"


def decode_data_url(value: str) -> bytes:
    """The bytes of a base64 ``data:`` URL; ValueError (zh-CN) when it is not one."""
    header, sep, payload = value[5:].partition(",") if value.startswith("data:") else ("", "", "")
    if not sep:
        raise ValueError("不是 data: URL")
    if not header.endswith(";base64"):
        raise ValueError("data: URL 必须是 base64 编码")
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("data: URL 的 base64 内容无效") from None


def image_info(data: bytes) -> tuple[str, int, int]:
    """(mime, width, height) of an image Pillow recognises; ValueError when it is none."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            size = img.size
            img.verify()
            fmt = (img.format or "").lower()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ValueError("不是可识别的图片") from exc
    return _FORMAT_MIME.get(fmt, "application/octet-stream"), size[0], size[1]


def parse_data_url(value: str) -> tuple[str, bytes]:
    """Decode an image ``data:`` URL into (mime, bytes); the image must really be one."""
    if not value.startswith("data:") or "," not in value:
        raise CoverError("封面必须是 data: URL 或媒体编号")
    try:
        data = decode_data_url(value)
    except ValueError as exc:
        raise CoverError(f"封面 {exc}") from None
    if len(data) > MAX_COVER_BYTES:
        raise CoverError("封面图片不得超过 10 MB")
    try:
        mime = image_info(data)[0]
    except ValueError as exc:
        raise CoverError("封面不是可识别的图片") from exc
    if mime not in _FORMAT_MIME.values():
        raise CoverError("封面图片格式不受支持（请用 JPG 或 PNG）")
    return mime, data


def generated_cover(title: str, seed: str = "") -> bytes:
    """A plain generated cover image (JPEG, well under 64 KB) used until an admin uploads one."""
    digest = hashlib.sha256((seed or title).encode()).digest()
    color = (40 + digest[0] % 120, 60 + digest[1] % 120, 120 + digest[2] % 120)
    img = Image.new("RGB", (900, 383), color)
    band = Image.new("RGB", (900, 60), (255, 255, 255))
    img.paste(band, (0, 323))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=80)
    return buf.getvalue()


def revision_hash(fields: dict[str, Any]) -> str:
    """SHA-256 over the content an approval binds to (docs/design.md §4.1)."""
    body = {
        "title": fields.get("title", ""),
        "content": fields.get("content", ""),
        "summary": fields.get("summary", ""),
        "author": fields.get("author", ""),
        "category": fields.get("category", ""),
        "is_original": bool(fields.get("is_original", False)),
        "source_url": fields.get("source_url", ""),
        "cover_sha256": fields.get("cover_sha256", ""),
        "variants": fields.get("variants") or {},
        "account_ids": sorted(int(a) for a in fields.get("account_ids") or []),
    }
    if fields.get("video_sha256"):  # the post's video, by the hash of its bytes (revisions before 0015 have none)
        body["video_sha256"] = fields["video_sha256"]
    if fields.get("articles"):  # extra articles (revisions before 0009 have none)
        body["articles"] = fields["articles"]
    if fields.get("library"):  # category metadata, policy links, validity (revisions before 0022 have none)
        body["library"] = fields["library"]
    if fields.get("renderings"):  # what each target account will be sent (revisions before 0009 have none)
        body["renderings"] = fields["renderings"]
    data = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return hashlib.sha256(b"zhengwu-hub/revision/v1\n" + data).hexdigest()
