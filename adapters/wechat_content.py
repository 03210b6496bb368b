"""What a WeChat article body becomes once WeChat has it, and what that costs, before anything is sent.

WeChat's ``draft/add`` documentation: image URLs in the content "必须来源 上传图文消息内的图片获取URL …
外部图片url将被过滤" and "此处会去除JS"; links to pages other than 公众号 articles, iframes, CSS background
images and ``srcset`` do not survive either (/work/shared/PLATFORMS.md §1.2, M10). :func:`clean_body`
removes all of that from the body the hub renders — so the reviewers approve what readers will get —
and reports each removal in Chinese. Body images are kept: the adapter uploads each one with
``media/uploadimg`` when it publishes and swaps its ``src`` for the ``mmbiz.qpic.cn`` URL WeChat answers;
:func:`image_problems` says beforehand which of them cannot be sent, and :func:`sent_length` measures the
body the way WeChat will (every image ``src`` replaced by a URL of an uploaded image's length).
"""

from __future__ import annotations

import base64
import binascii
import html
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from PIL import Image, UnidentifiedImageError

#: Hosts of the images WeChat keeps (``media/uploadimg`` and material URLs).
WECHAT_IMAGE_HOSTS = ("mmbiz.qpic.cn", "mmbiz.qlogo.cn")
#: Link targets WeChat keeps: its own pages (公众号 articles are on mp.weixin.qq.com).
WECHAT_LINK_DOMAINS = ("weixin.qq.com",)
#: What one uploaded image's URL counts for in the body (an uploadimg URL is about 100–130 characters).
UPLOADED_IMAGE_URL_LENGTH = 128
#: ``media/uploadimg`` takes JPG or PNG under 1 MB; other readable images are converted when sent.
UPLOADIMG_FORMATS = ("JPEG", "PNG")

_DROP_WITH_CONTENT = {"script": "脚本（<script>）", "iframe": "内嵌网页（<iframe>）", "frame": "内嵌网页（<frame>）",
                      "frameset": "内嵌网页（<frameset>）", "object": "插件（<object>）", "embed": "插件（<embed>）",
                      "noembed": "插件（<noembed>）"}
_DROP_VOID = {"link": "外部资源（<link>）", "meta": "<meta> 元素", "base": "<base> 元素"}
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
                   "track", "wbr"})
_URL_ATTRS = frozenset({"href", "src", "action", "formaction", "poster", "background", "data", "xlink:href"})
_CSS_URL_DECL = re.compile(r"[^;{}]*\burl\s*\([^)]*\)[^;{}]*;?", re.IGNORECASE)
_JS_SCHEME = re.compile(r"^\s*(?:j\s*a\s*v\s*a\s*s\s*c\s*r\s*i\s*p\s*t|vbscript)\s*:", re.IGNORECASE)
_IMG_SRC = re.compile(r"""(<img\b[^>]*?\bsrc\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)


def _host(url: str) -> str:
    """The lower-case host of an http(s) or protocol-relative URL ("" for anything else)."""
    url = url.strip()
    url = "https:" + url if url.startswith("//") else url
    if not url.lower().startswith(("http://", "https://")):
        return ""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def is_wechat_image(src: str) -> bool:
    """Whether ``src`` is already an image on WeChat's own hosts (kept as it is)."""
    return _host(src) in WECHAT_IMAGE_HOSTS


def is_wechat_link(href: str) -> bool:
    """Whether WeChat keeps a link to ``href``: an anchor in the article, or a WeChat page."""
    host = _host(href) if not href.strip().startswith("//") else ""
    return href.strip().startswith("#") or any(host == d or host.endswith("." + d) for d in WECHAT_LINK_DOMAINS)


@dataclass
class Cleaned:
    """A body as WeChat keeps it: the HTML, what was removed (zh-CN) and the ``src`` of each image kept."""

    html: str
    warnings: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)


class _Cleaner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.out: list[str] = []
        self.images: list[str] = []
        self.dropped: dict[str, int] = {}  # what was removed -> how many
        self.link_hosts: list[str] = []
        self._skip: str | None = None
        self._depth = 0
        self._in_style = False

    def _count(self, what: str) -> None:
        self.dropped[what] = self.dropped.get(what, 0) + 1

    def _css(self, css: str) -> str:
        kept = _CSS_URL_DECL.sub("", css)
        if kept != css:
            self._count("css")
        return kept

    def _attrs(self, tag: str, attrs: list[tuple[str, str | None]]) -> list[tuple[str, str | None]] | None:
        """The attributes WeChat keeps; None: the element goes (an image with no usable ``src``)."""
        kept: list[tuple[str, str | None]] = []
        for name, value in attrs:
            if name.startswith("on"):
                self._count("on")
                continue
            if name == "srcset":
                self._count("srcset")
                continue
            if value is not None and name in _URL_ATTRS and _JS_SCHEME.match(value):
                self._count("javascript")
                if tag == "img" and name == "src":
                    return None
                continue
            if tag == "a" and name == "href" and not is_wechat_link(value or ""):
                self.link_hosts.append(_host(value or "") or (value or "").strip()[:40])
                continue
            if name == "style" and value is not None:
                value = self._css(value).strip()
                if not value:
                    continue
            kept.append((name, value))
        if tag == "img" and not any(name == "src" and (value or "").strip() for name, value in kept):
            self._count("img_no_src")
            return None
        return kept

    def _emit(self, tag: str, attrs: list[tuple[str, str | None]], closing: bool) -> None:
        kept = self._attrs(tag, attrs)
        if kept is None:
            return
        if tag == "img":
            self.images.append(next((v or "").strip() for n, v in kept if n == "src"))
        if kept == attrs:
            self.out.append(self.get_starttag_text() or "")
            return
        parts = [tag] + [n if v is None else f'{n}="{html.escape(v, quote=True)}"' for n, v in kept]
        self.out.append("<" + " ".join(parts) + (" />" if closing else ">"))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skip is not None:
            self._depth += tag == self._skip
            return
        if tag in _DROP_WITH_CONTENT:
            self._count(tag)
            if tag not in _VOID:
                self._skip, self._depth = tag, 1
            return
        if tag in _DROP_VOID:
            self._count(tag)
            return
        self._in_style = self._in_style or tag == "style"
        self._emit(tag, attrs, closing=False)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skip is not None:
            return
        if tag in _DROP_WITH_CONTENT or tag in _DROP_VOID:
            self._count(tag)
            return
        self._emit(tag, attrs, closing=True)

    def handle_endtag(self, tag: str) -> None:
        if self._skip == tag:
            self._depth -= 1
            self._skip = None if self._depth == 0 else tag
        elif self._skip is None and tag not in _DROP_WITH_CONTENT and tag not in _DROP_VOID and tag != "img":
            self._in_style = self._in_style and tag != "style"
            self.out.append(f"</{tag}>")

    def _text(self, text: str) -> None:
        if self._skip is None:
            self.out.append(text)

    def handle_data(self, data: str) -> None:
        self._text(self._css(data) if self._in_style and self._skip is None else data)

    def handle_entityref(self, name: str) -> None:
        self._text(f"&{name};")

    def handle_charref(self, name: str) -> None:
        self._text(f"&#{name};")

    def _ignore(self, *_args: Any, **_kwargs: Any) -> None:
        """Comments, declarations and processing instructions: never shown to readers, not kept."""

    handle_comment = handle_decl = handle_pi = unknown_decl = _ignore


_WHAT = {"css": "CSS 背景图片（样式中的 url(…)）：微信不显示样式里的图片",
         "srcset": "srcset 属性：微信只显示 src 指定的图片",
         "on": "事件处理属性（on…=）：微信会去除脚本",
         "javascript": "javascript: 链接：微信会去除脚本",
         "img_no_src": "没有图片地址的 <img>"}


def clean_body(content: str) -> Cleaned:
    """``content`` as WeChat keeps it, with a zh-CN warning for each kind of thing removed."""
    cleaner = _Cleaner()
    cleaner.feed(content or "")
    cleaner.close()
    warnings = []
    for what, n in cleaner.dropped.items():
        label = _DROP_WITH_CONTENT.get(what) or _DROP_VOID.get(what) or _WHAT[what]
        if what in _DROP_WITH_CONTENT:
            label += "：微信会去除正文中的脚本、内嵌网页和插件"
        warnings.append(f"已删除 {n} 处{label}")
    if cleaner.link_hosts:
        hosts = "、".join(dict.fromkeys(h for h in cleaner.link_hosts if h)) or "外部网址"
        warnings.append(f"已去掉 {len(cleaner.link_hosts)} 个外部链接（{hosts}）的跳转地址，链接文字保留："
                        "微信文章正文只能链接到公众号文章")
    return Cleaned("".join(cleaner.out), warnings, cleaner.images)


def image_sources(content: str) -> Iterator[str]:
    """The ``src`` of every ``<img>`` of a body, in order."""
    for m in _IMG_SRC.finditer(content or ""):
        yield m.group(3).strip()


def sent_length(content: str) -> tuple[int, int]:
    """(characters, UTF-8 bytes) of ``content`` as WeChat receives it: each image not yet on WeChat's hosts
    counts as the URL ``media/uploadimg`` will give it, not as its ``data:`` payload."""
    chars, size = len(content), len(content.encode())
    for src in image_sources(content):
        if not is_wechat_image(src):
            chars += UPLOADED_IMAGE_URL_LENGTH - len(src)
            size += UPLOADED_IMAGE_URL_LENGTH - len(src.encode())
    return chars, size


def decode_data_url(src: str) -> bytes:
    """The bytes of a base64 ``data:`` image URL; ``ValueError`` (zh-CN) when it cannot be decoded."""
    header, _, payload = src[5:].partition(",")
    if not header.lower().endswith(";base64"):
        raise ValueError("data: 地址不是 base64 编码")
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("data: 地址的 base64 内容无法解码") from None


def picture_problem(data: bytes) -> str | None:
    """Why ``data`` cannot be sent as a picture (zh-CN), or None. Readable images in other formats than
    JPG/PNG, or over 1 MB, are converted when sent; what Pillow cannot read cannot be sent at all."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt = (img.format or "").upper()
            if fmt not in UPLOADIMG_FORMATS:
                img.load()  # converted when sent: it must decode completely
            else:
                img.verify()
    except Image.DecompressionBombError:
        return "图片像素过多，无法处理"
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return "不是可识别的图片（微信只接受 JPG、PNG，其他格式须能转换）"
    return None


def image_problems(sources: list[str], where: str,
                   stored: dict[str, bytes] | None = None) -> tuple[list[str], list[str]]:
    """(problems, warnings) of a body's images, each named by its position: ``where`` 第 N 张图片.
    ``stored``: the bytes of images the hub holds (``Publication.images``, keyed by their src)."""
    problems, warnings = [], []
    for n, src in enumerate(sources, 1):
        name = f"{where}第 {n} 张图片"
        if is_wechat_image(src):
            continue
        if stored and src in stored:
            if reason := picture_problem(stored[src]):
                problems.append(f"{name}无法发送到微信：{reason}，请删除后重新插入")
        elif src.lower().startswith("data:"):
            try:
                reason = picture_problem(decode_data_url(src))
            except ValueError as exc:
                reason = str(exc)
            if reason:
                problems.append(f"{name}无法发送到微信：{reason}，请删除后重新插入")
        elif src.lower().startswith(("http://", "https://")):
            warnings.append(f"{name}是外部图片（{_host(src)}）：微信会过滤外部图片，发布时本中心先下载再上传到微信，"
                            "下载失败则发布失败；建议在编辑器中直接插入图片")
        else:
            problems.append(f"{name}的地址无法发送到微信（{src[:60]}），请删除后重新插入")
    return problems, warnings
