"""Text preparation for the content checks.

The checks never run on the submitted string directly. They run on a *view*:

* for HTML, the text content (tags skipped, entities decoded, block-level tags
  turned into a line break, inline tags made transparent);
* zero-width characters removed everywhere, and "soft" separators (spaces,
  decorative symbols) removed when they sit between two CJK characters, so
  that ``攻 府`` or ``攻*府`` reads as ``攻府``.

Every position in the view maps back to a code-point offset in the original
string through an :class:`OffsetMap` (a short list of segments, not one entry
per character), so a finding's ``start``/``end`` always index the text as
given. Width and traditional-character folding is *not* done here: the
lexicon patterns are expanded instead (see ``lexicon.py``), which keeps the
per-character cost on the text side at zero.
"""

from __future__ import annotations

import html
import re
from bisect import bisect_right
from dataclasses import dataclass, field

CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"
# Separators dropped between two CJK characters (never line breaks: a line
# break is a real boundary between a title and a paragraph).
SOFT = " \t\u00a0\u3000\u2002\u2003\u2009*＊·•・_＿~～/／\\|｜#＃@＋+=＝^`'\"-－—"

_SOFT_RX = re.compile("[" + re.escape(SOFT + ZERO_WIDTH) + "]+")


def _is_cjk(c: str) -> bool:
    return "\u4e00" <= c <= "\u9fff" or "\u3400" <= c <= "\u4dbf" or "\uf900" <= c <= "\ufaff"


_ZW_RX = re.compile("[" + re.escape(ZERO_WIDTH) + "]+")

_TAG_LIKE = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>")

_HTML_TOKEN = re.compile(
    r"<!--.*?(?:-->|$)"
    r"|<!\[CDATA\[.*?(?:\]\]>|$)"
    r"|<(?P<raw>script|style|template|noscript|textarea)\b(?:[^>\"']|\"[^\"]*\"|'[^']*')*>.*?(?:</(?P=raw)\s*>|$)"
    r"|<(?P<close>/)?(?P<name>[A-Za-z][A-Za-z0-9:-]*)(?P<attrs>(?:[^>\"']|\"[^\"]*\"|'[^']*')*)>"
    r"|<[!?][^>]*>"
    r"|&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});",
    re.S | re.I,
)
_ATTR = re.compile(r"""([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?""")

BLOCK_TAGS = frozenset(
    """address article aside audio blockquote body br caption center dd details dialog div dl dt embed
    fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 head header hr html iframe img input li main
    nav object ol option p pre section select source summary table tbody td tfoot th thead title tr ul
    video""".split()
)
URL_ATTRS = {"a": ("href",), "img": ("src",), "iframe": ("src",), "video": ("src", "poster"),
             "audio": ("src",), "source": ("src",), "embed": ("src",), "area": ("href",)}


def looks_like_html(text: str) -> bool:
    return _TAG_LIKE.search(text) is not None


class OffsetMap:
    """Maps view positions to positions of a base string.

    Segments are ``(view_start, base_start, base_end_or_-1)``: ``-1`` marks a
    linear segment (one view character per base character); otherwise the
    segment is one view character standing for ``base[base_start:base_end]``
    (a decoded entity or a tag boundary).
    """

    __slots__ = ("_vstarts", "_segs")

    def __init__(self, segs: list[tuple[int, int, int]] | None = None) -> None:
        self._segs = segs or []
        self._vstarts = [s[0] for s in self._segs]

    @property
    def identity(self) -> bool:
        return not self._segs

    def start(self, v: int) -> int:
        if not self._segs:
            return v
        i = bisect_right(self._vstarts, v) - 1
        if i < 0:
            return v
        vs, bs, be = self._segs[i]
        return bs + (v - vs) if be < 0 else bs

    def end(self, v_end: int) -> int:
        if not self._segs or v_end <= 0:
            return v_end
        v = v_end - 1
        i = bisect_right(self._vstarts, v) - 1
        if i < 0:
            return v_end
        vs, bs, be = self._segs[i]
        return bs + (v - vs) + 1 if be < 0 else be


@dataclass
class Element:
    """An HTML element the link and map checks look at."""

    tag: str
    start: int  # raw offsets of the whole tag
    end: int
    view_pos: int  # position in the final view where the element sits
    attrs: dict[str, tuple[str, int, int]] = field(default_factory=dict)  # name -> (value, raw start, raw end)


@dataclass
class View:
    original: str
    text: str  # what the checks read
    maps: tuple[OffsetMap, ...]  # applied from the last to the first
    elements: list[Element]

    def span(self, vstart: int, vend: int) -> tuple[int, int]:
        s, e = vstart, vend
        for m in reversed(self.maps):
            s, e = m.start(s), m.end(e)
        return s, e


RawTag = tuple[str, int, int, int, str, int]


def _html_to_text(raw: str) -> tuple[str, OffsetMap, list[RawTag]]:
    """Return (text, map to raw, [(tag, raw start, raw end, text pos, attrs source, attrs start)])."""
    parts: list[str] = []
    segs: list[tuple[int, int, int]] = []
    tags: list[RawTag] = []
    vpos = 0
    last = 0
    for m in _HTML_TOKEN.finditer(raw):
        s, e = m.span()
        if s > last:
            parts.append(raw[last:s])
            segs.append((vpos, last, -1))
            vpos += s - last
        last = e
        tok = m.group(0)
        if tok[0] == "&":
            dec = html.unescape(tok)
            if dec == tok or not dec:
                parts.append(tok)
                segs.append((vpos, s, -1))
                vpos += len(tok)
            else:
                if dec in ZERO_WIDTH:
                    continue
                # One view character per decoded character, all standing for the entity.
                for ch in dec:
                    parts.append(ch)
                    segs.append((vpos, s, e))
                    vpos += 1
            continue
        name = (m.group("name") or m.group("raw") or "").lower()
        if name and not m.group("close"):
            if name in URL_ATTRS or name == "img":
                tags.append((name, s, e, vpos, m.group("attrs") or "", m.start("attrs")))
        if name in BLOCK_TAGS or m.group("raw"):
            parts.append("\n")
            segs.append((vpos, s, e))
            vpos += 1
    if last < len(raw):
        parts.append(raw[last:])
        segs.append((vpos, last, -1))
    return "".join(parts), OffsetMap(segs), tags


def _strip_separators(text: str) -> tuple[str, OffsetMap]:
    """Drop zero-width characters, and soft separators between CJK characters."""
    n = len(text)
    cuts = []
    for m in _SOFT_RX.finditer(text):
        s, e = m.span()
        if 0 < s and e < n and _is_cjk(text[s - 1]) and _is_cjk(text[e]):
            cuts.append((s, e))
    if _ZW_RX.search(text):
        cuts.extend(m.span() for m in _ZW_RX.finditer(text))
        cuts = _merge(cuts)
    if not cuts:
        return text, OffsetMap()
    parts: list[str] = []
    segs: list[tuple[int, int, int]] = []
    vpos = 0
    last = 0
    for s, e in cuts:
        if s > last:
            parts.append(text[last:s])
            segs.append((vpos, last, -1))
            vpos += s - last
        last = e
    if last < n:
        parts.append(text[last:])
        segs.append((vpos, last, -1))
    return "".join(parts), OffsetMap(segs)


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def _parse_attrs(src: str, base: int) -> dict[str, tuple[str, int, int]]:
    out: dict[str, tuple[str, int, int]] = {}
    for m in _ATTR.finditer(src):
        key = m.group(1).lower()
        for g in (2, 3, 4):
            if m.group(g) is not None:
                out.setdefault(key, (html.unescape(m.group(g)), base + m.start(g), base + m.end(g)))
                break
        else:
            out.setdefault(key, ("", base + m.end(1), base + m.end(1)))
    return out


def _to_view(m: OffsetMap, bases: list[int], pos: int) -> int:
    """Inverse of a separator map: where a base position lands in the view."""
    segs = m._segs
    if not segs:
        return pos
    i = bisect_right(bases, pos) - 1
    if i < 0:
        return 0
    vs, bs, _ = segs[i]
    if i + 1 < len(segs):
        return vs + min(pos - bs, segs[i + 1][0] - vs)
    return vs + (pos - bs)


def build_view(content: str, is_html: bool | None) -> View:
    if is_html is None:
        is_html = looks_like_html(content)
    maps: list[OffsetMap] = []
    elements: list[Element] = []
    text = content
    raw_tags: list[RawTag] = []
    if is_html:
        text, hmap, raw_tags = _html_to_text(content)
        maps.append(hmap)
    text, smap = _strip_separators(text)
    if not smap.identity:
        maps.append(smap)
    bases = [seg[1] for seg in smap._segs]
    for name, s, e, tpos, attr_src, attr_start in raw_tags:
        elements.append(Element(name, s, e, _to_view(smap, bases, tpos), _parse_attrs(attr_src, attr_start)))
    return View(content, text, tuple(maps), elements)
