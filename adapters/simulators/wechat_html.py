"""What WeChat keeps of an article's HTML (``draft/add`` / ``draft/update`` content).

WeChat's ``draft/add`` documentation says: image URLs in the content "必须来源
上传图文消息内的图片获取URL … 外部图片url将被过滤" and "此处会去除JS". The
articles guide adds that links to non-WeChat sites, iframes, CSS background
images and ``srcset`` do not survive. The simulator stores the content as
:func:`wechat_content` returns it, so ``draft/get``, ``freepublish/getarticle``,
the article pages and ``/_sim/state`` all show what a reader would get — an
image the client forgot to rehost is simply missing.

Decisions where the documentation is not explicit:

* ``<img>`` is kept only when its ``src`` is on a WeChat image host
  (``mmbiz.qpic.cn`` / ``mmbiz.qlogo.cn``, which is where ``media/uploadimg``
  and ``material/add_material`` URLs point); any other ``<img>`` (external,
  ``data:``, relative, or none) is removed with its attributes.
* ``<a href>`` to a non-WeChat site loses its ``href``; the ``<a>`` element and
  its text stay. WeChat hosts (``*.weixin.qq.com``, ``*.qq.com`` article pages),
  in-page anchors (``#…``) and the simulator's own article pages are kept.
  (The docs allow external links for accounts with WeChat Pay; not modelled.)
* ``<script>``, ``<iframe>``, ``<frame>``, ``<object>``, ``<embed>`` are removed
  with everything inside them; ``<link>``, ``<meta>`` and ``<base>`` are removed;
  ``on*=`` event attributes and ``javascript:`` URLs are removed (that is JS too);
  ``srcset`` is removed from every element; every CSS declaration that loads a
  ``url(…)`` (``background``, ``background-image``, …) is removed, in ``style``
  attributes and in ``<style>`` blocks; HTML comments are removed.
* Everything else is kept byte for byte (start tags verbatim, end tags lowercased).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from html.parser import HTMLParser
from urllib.parse import urlsplit

__all__ = ["WECHAT_IMAGE_HOSTS", "is_wechat_image", "is_wechat_link", "wechat_content"]

#: Hosts whose images WeChat keeps in article content.
WECHAT_IMAGE_HOSTS = ("mmbiz.qpic.cn", "mmbiz.qlogo.cn")
#: Link hosts that are WeChat's own (a host equal to one of these or under it).
WECHAT_LINK_DOMAINS = ("weixin.qq.com", "mp.qq.com")

# Elements removed together with their whole content.
_DROP_WITH_CONTENT = frozenset({"script", "iframe", "frame", "frameset", "object", "embed", "noembed"})
# Elements removed on their own (void elements: no content).
_DROP_VOID = frozenset({"link", "meta", "base"})
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}
)
# Attributes holding a URL where a javascript: scheme runs code.
_URL_ATTRS = frozenset({"href", "src", "action", "formaction", "poster", "background", "data", "xlink:href"})
_CSS_URL_DECL = re.compile(r"[^;{}]*\burl\s*\([^)]*\)[^;{}]*;?", re.IGNORECASE)
_JS_SCHEME = re.compile(r"^\s*(?:j\s*a\s*v\s*a\s*s\s*c\s*r\s*i\s*p\s*t|vbscript)\s*:", re.IGNORECASE)


def _host(url: str) -> str:
    try:
        return (urlsplit(url.strip()).hostname or "").lower()
    except ValueError:
        return ""


def is_wechat_image(src: str) -> bool:
    """True when ``src`` is an http(s) URL on a WeChat image host."""
    src = src.strip()
    if not src.lower().startswith(("http://", "https://", "//")):
        return False
    return _host(src if not src.startswith("//") else "https:" + src) in WECHAT_IMAGE_HOSTS


def is_wechat_link(href: str) -> bool:
    """True when ``href`` points at a WeChat site (or is an in-page anchor)."""
    href = href.strip()
    if href.startswith("#"):
        return True
    if not href.lower().startswith(("http://", "https://")):
        return False
    host = _host(href)
    return any(host == d or host.endswith("." + d) for d in WECHAT_LINK_DOMAINS)


def strip_css_urls(css: str) -> str:
    """Remove every CSS declaration that loads a ``url(…)``."""
    return _CSS_URL_DECL.sub("", css)


class _Cleaner(HTMLParser):
    def __init__(self, keep_link: Callable[[str], bool]) -> None:
        super().__init__(convert_charrefs=False)
        self.keep_link = keep_link
        self.out: list[str] = []
        self._skip_tag: str | None = None
        self._skip_depth = 0
        self._in_style = False

    # -- helpers
    def _clean_attrs(self, tag: str, attrs: list[tuple[str, str | None]]) -> list[tuple[str, str | None]] | None:
        """The attributes WeChat keeps; None means: drop the whole element."""
        kept: list[tuple[str, str | None]] = []
        for name, value in attrs:
            if name.startswith("on") or name == "srcset":
                continue
            if value is not None and name in _URL_ATTRS and _JS_SCHEME.match(value):
                if tag == "img" and name == "src":
                    return None
                continue
            if tag == "img" and name == "src" and not is_wechat_image(value or ""):
                return None
            if tag == "a" and name == "href" and not self.keep_link(value or ""):
                continue
            if name == "style" and value is not None:
                value = strip_css_urls(value).strip()
                if not value:
                    continue
            kept.append((name, value))
        if tag == "img" and not any(name == "src" for name, _ in kept):
            return None
        return kept

    def _emit_tag(self, tag: str, attrs: list[tuple[str, str | None]], closing: bool) -> None:
        cleaned = self._clean_attrs(tag, attrs)
        if cleaned is None:
            return
        if cleaned == attrs:
            self.out.append(self.get_starttag_text() or "")
            return
        parts = [tag]
        for name, value in cleaned:
            parts.append(name if value is None else f'{name}="{html.escape(value, quote=True)}"')
        self.out.append("<" + " ".join(parts) + (" />" if closing else ">"))

    # -- parser callbacks
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skip_tag is not None:
            if tag == self._skip_tag:
                self._skip_depth += 1
            return
        if tag in _DROP_WITH_CONTENT:
            if tag not in _VOID:
                self._skip_tag, self._skip_depth = tag, 1
            return
        if tag in _DROP_VOID:
            return
        if tag == "style":
            self._in_style = True
        self._emit_tag(tag, attrs, closing=False)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skip_tag is not None or tag in _DROP_WITH_CONTENT or tag in _DROP_VOID:
            return
        self._emit_tag(tag, attrs, closing=True)

    def handle_endtag(self, tag: str) -> None:
        if self._skip_tag is not None:
            if tag == self._skip_tag:
                self._skip_depth -= 1
                if self._skip_depth == 0:
                    self._skip_tag = None
            return
        if tag in _DROP_WITH_CONTENT or tag in _DROP_VOID or tag == "img":
            return
        if tag == "style":
            self._in_style = False
        self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if self._skip_tag is not None:
            return
        self.out.append(strip_css_urls(data) if self._in_style else data)

    def handle_entityref(self, name: str) -> None:
        if self._skip_tag is None:
            self.out.append(f"&{name};")

    def handle_charref(self, name: str) -> None:
        if self._skip_tag is None:
            self.out.append(f"&#{name};")

    def handle_comment(self, data: str) -> None:
        return

    def handle_decl(self, decl: str) -> None:
        return

    def handle_pi(self, data: str) -> None:
        return

    def unknown_decl(self, data: str) -> None:
        return


def wechat_content(content: str, keep_link: Callable[[str], bool] = is_wechat_link) -> str:
    """``content`` as WeChat stores it (see the module docstring for what is removed).

    ``keep_link(href)`` decides which ``<a href>`` survive (default: WeChat sites and anchors).
    """
    cleaner = _Cleaner(keep_link)
    cleaner.feed(content)
    cleaner.close()
    return "".join(cleaner.out)
