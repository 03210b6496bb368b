"""Limits on what a request may carry, shared by the web pages and the API (issue 20).

- ``<int:...>`` in every route matches only ids an INTEGER column can hold (larger: 404).
- JSON bodies: nesting depth bounded, no lone UTF-16 surrogates in any string.
- ids typed as text (``cover``, ``account_ids``) are ASCII digits within 64 bits.
- C0 control characters are refused in titles and one-line fields, and stripped when text goes
  into XML (the public Atom feed).
"""

from __future__ import annotations

import json
import re
from typing import Any

from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1  # the id columns are INTEGER: 32 bits on PostgreSQL
MAX_JSON_INT = 2**31 - 1  # no number the API takes needs more, and no INTEGER column holds more
MAX_JSON_DEPTH = 32

# C0 controls except TAB, LF, CR, and DEL: not allowed in XML 1.0 nor in a title.
_C0 = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_C0_LINE = re.compile("[\x00-\x1f\x7f]")  # one-line fields: no newline or tab either
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


class BoundedIntConverter(IntegerConverter):
    """``<int:...>``: a non-negative integer an id column holds (32 bits); anything larger matches no route (404).

    At most 10 digits in the pattern itself, so a longer number never reaches a view nor the method
    check (werkzeug answers 405 when a converter rejects the value of a rule allowing another method)."""

    regex = r"\d{1,10}"

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002 - werkzeug's signature
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def init_app(app: Any) -> None:
    """Register the converter before any blueprint adds its rules, and refuse NUL in queries and forms."""
    app.url_map.converters["int"] = BoundedIntConverter
    app.before_request(large_uploads)  # before anything reads the form
    app.before_request(refuse_nul)


#: The endpoints that take a video upload: their body may be as large as ``HUB_MAX_VIDEO_MB`` (plus
#: the multipart framing) instead of ``MAX_CONTENT_LENGTH``; werkzeug spools the file to disk.
LARGE_UPLOAD_ENDPOINTS = ("api.posts.upload_media", "web.posts.upload_body_image")


def large_uploads() -> None:
    from flask import current_app, request

    from hub.config import get_settings

    if request.endpoint in LARGE_UPLOAD_ENDPOINTS:
        request.max_content_length = get_settings(current_app.config).max_video_mb * 1024 * 1024 + 1024 * 1024


def refuse_nul() -> None:
    """A query or form value holding U+0000 is a 400: no text column can store it (PostgreSQL refuses it)."""
    from flask import request
    from werkzeug.exceptions import BadRequest

    values = list(request.args.values())
    if request.method in ("POST", "PUT", "PATCH") and request.mimetype in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        values += list(request.form.values())
    if any("\x00" in v for v in values):
        raise BadRequest(description="请求参数或表单内容不能含有空字符（U+0000）")


class InvalidJson(ValueError):
    """A body that is JSON but not one the hub accepts (message in Chinese, for the 400)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def _has_surrogate(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def check_json(value: Any, depth: int = 0) -> None:
    """Raise :class:`InvalidJson` when ``value`` nests too deep, holds a lone surrogate, an integer
    beyond 32 bits or NaN/Infinity (Python's json accepts them; no database column can hold them)."""
    if depth > MAX_JSON_DEPTH:
        raise InvalidJson(f"JSON 嵌套过深（最多 {MAX_JSON_DEPTH} 层）", "json_too_deep")
    if isinstance(value, str):
        if _has_surrogate(value):
            raise InvalidJson("JSON 字符串含有无效的 Unicode 代理字符（\\ud800–\\udfff 单独出现）", "invalid_unicode")
        if "\x00" in value:  # no text column holds it (PostgreSQL refuses it outright)
            raise InvalidJson("JSON 字符串不能含有空字符（\\u0000）", "invalid_unicode")
    elif isinstance(value, int) and not -MAX_JSON_INT - 1 <= value <= MAX_JSON_INT:
        raise InvalidJson(f"JSON 中的整数超出范围（绝对值不得超过 {MAX_JSON_INT}）", "number_out_of_range")
    elif isinstance(value, float) and value != value or value in (float("inf"), float("-inf")):
        raise InvalidJson("JSON 中不能有 NaN 或 Infinity", "invalid_number")
    elif isinstance(value, dict):
        for k, v in value.items():
            check_json(k, depth + 1)
            check_json(v, depth + 1)
    elif isinstance(value, list):
        for v in value:
            check_json(v, depth + 1)


def loads(raw: bytes | str) -> Any:
    """``json.loads`` with the hub's limits: raises ValueError (plain: not JSON) or InvalidJson."""
    try:
        data = json.loads(raw)
    except RecursionError:
        raise InvalidJson(f"JSON 嵌套过深（最多 {MAX_JSON_DEPTH} 层）", "json_too_deep") from None
    check_json(data)
    return data


def parse_id(value: Any) -> int | None:
    """An id given as an int or as ASCII digits, within an INTEGER column; otherwise None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= MAX_ID else None
    if isinstance(value, str):
        v = value.strip()
        if v and v.isascii() and v.isdigit() and len(v) <= 10:
            n = int(v)
            return n if n <= MAX_ID else None
    return None


def control_char(text: str, one_line: bool = True) -> str | None:
    """The first C0 control character in ``text`` shown as U+00XX, or None."""
    m = (_C0_LINE if one_line else _C0).search(text or "")
    return f"U+{ord(m.group(0)):04X}" if m else None


def xml_text(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot hold (for the feed: old data may have them)."""
    return _NOT_XML.sub("", text or "")


def request_json() -> Any:
    """The JSON body of a page's fetch() (like ``request.get_json(silent=True)``), None when absent or refused."""
    from flask import request

    if not request.is_json:
        return None
    try:
        return loads(request.get_data(cache=True))
    except (ValueError, UnicodeDecodeError):
        return None
