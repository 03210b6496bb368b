"""Content-safety checks for government copy (issue 6).

``check_content(text_or_html)`` returns :class:`Finding` objects whose
``start``/``end`` are code-point offsets into the string as given (for HTML,
the raw HTML). See ``docs/checks.md`` for the rule set and lexicon format.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from . import rules
from .lexicon import (
    ADDITION_CATEGORIES,
    EXC,
    HIT,
    LEXICON_VERSION,
    NAME,
    TRIG,
    TRIGGERS,
    Addition,
    Lexicon,
    Overlay,
    get_lexicon,
)
from .text import CJK, View, build_view

__all__ = ["Finding", "check_content", "has_blocking", "LEXICON_VERSION", "CATEGORIES", "SEVERITIES",
           "Addition", "Overlay", "ADDITION_CATEGORIES", "lexicon_label"]

CATEGORIES = ("typo", "outdated", "leader", "sensitive", "pii", "secret", "map", "link", "ad")
SEVERITIES = ("block", "warn", "info")
_SEV_RANK = {"block": 0, "warn": 1, "info": 2}


@dataclass(frozen=True)
class Finding:
    rule: str  # stable rule id, e.g. "typo.攻府" or "pii.id_card"
    category: str  # typo|outdated|leader|sensitive|pii|secret|map|link|ad
    severity: str  # block|warn|info
    start: int  # code-point offsets into the text as given, end exclusive
    end: int
    text: str  # == original[start:end]
    suggestion: str | None
    message: str  # zh-CN, for editors

    def to_dict(self) -> dict:
        return asdict(self)


def has_blocking(findings: Iterable[Finding]) -> bool:
    return any(f.severity == "block" for f in findings)


# Separators accepted between *every* character of a word of 3+ characters
# ("扫，黑，险，恶"); such runs are re-read with the separators removed.
_SPACED_RUN = re.compile(
    "(?:[" + CJK + "][，,、。．.；;：:！!？?\u3001\u3002]+){2,}[" + CJK + "]"
)
_SPACED_SEP = re.compile("[，,、。．.；;：:！!？?\u3001\u3002]+")
# Cheap pre-filter for the above: a single CJK character between two separators.
_SPACED_HINT = re.compile("[，,、。．.；;：:！!？?][" + CJK + "][，,、。．.；;：:！!？?]")
_TRIG_CATEGORY = {w: cat for cat, words in TRIGGERS.items() for w in words}
_LIST_GAP = re.compile(r"[、，,\s]{1,2}")


Triggers = dict[str, list[tuple[int, int]]]


def _lexicon_hits(lex: Lexicon, text: str) -> tuple[list[tuple[int, int, int]], Triggers, list[tuple[int, int, int]]]:
    """Entry hits (entry, start, end), trigger spans per check, and leader name hits (leader, start, end)."""
    payloads = lex.payloads
    hits: list[tuple[int, int, int]] = []
    exc: set[tuple[int, int]] = set()
    names: list[tuple[int, int, int]] = []
    trig: Triggers = {}
    for pid, s, e in lex.automaton.find_matches_as_indexes(text, overlapping=True):
        for kind, ref, k in payloads[pid]:
            if kind == HIT:
                hits.append((ref, s, e))
            elif kind == EXC:
                exc.add((ref, s + k))
            elif kind == NAME:
                names.append((ref, s, e))
            elif kind == TRIG:
                trig.setdefault(_TRIG_CATEGORY[lex.triggers[ref]], []).append((s, e))
    if exc:
        hits = [h for h in hits if (h[0], h[1]) not in exc]
    return hits, trig, names


def _spaced_hits(lex: Lexicon, text: str) -> list[tuple[int, int, int]]:
    """Words written with punctuation between every character ("扫，黑，险，恶")."""
    spots = [m.span() for m in _SPACED_HINT.finditer(text)]
    if not spots:
        return []
    runs = [m for a, b in rules.windows(spots, 3, 3, len(text)) for m in _SPACED_RUN.finditer(text, a, b)]
    # Join every run without its separators into one string (runs split by a line break) and
    # keep, per joined character, its position in the view.
    joined: list[str] = []
    where: list[int] = []
    for m in runs:
        pos = m.start()
        for i, ch in enumerate(m.group(0)):
            if not _SPACED_SEP.match(ch):
                joined.append(ch)
                where.append(pos + i)
        joined.append("\n")
        where.append(-1)
    hits, _, _ = _lexicon_hits(lex, "".join(joined))
    return [(ref, where[s], where[e - 1] + 1) for ref, s, e in hits if e - s >= 3]


def _leader_order(lex: Lexicon, text: str, names: list[tuple[int, int, int]]) -> list[rules.Raw]:
    """A list of three or more ranked leaders, written out of protocol order."""
    out: list[rules.Raw] = []
    ranked = sorted((s, e, lex.leaders[ref]) for ref, s, e in names if lex.leaders[ref].rank)
    chain: list[tuple[int, int, int, str]] = []

    def flush() -> None:
        if len(chain) >= 3:
            ranks = [c[2] for c in chain]
            if ranks != sorted(ranks):
                good = "、".join(c[3] for c in sorted(chain, key=lambda c: c[2]))
                out.append(rules.Raw("leader.order", "leader", "warn", chain[0][0], chain[-1][1], good,
                                     f"领导人排序疑似有误，按惯例应为：{good}。请核实。"))
        chain.clear()

    for s, e, ld in ranked:
        if chain and not _LIST_GAP.fullmatch(text, chain[-1][1], s):
            flush()
        chain.append((s, e, ld.rank, ld.name))
    flush()
    return out


# Historical context around a title held only in the past: a year (optionally with its month)
# before the end date, or words that place the sentence in the past.
_YEAR = re.compile(r"((?:19|20)[0-9]{2})\s*年(?:\s*([0-9]{1,2})\s*月)?")
_PAST_WORDS = re.compile("时任|曾任|原任|历任|卸任|离任|生前|逝世|去世|当年|当时|彼时|前任")
_SENTENCE_END = re.compile("[。！？!?；;\n]")
HISTORY_WINDOW = 60


def _historical(text: str, start: int, end: int, until: str) -> bool:
    """Whether the sentence around ``text[start:end]`` is clearly about the past (before ``until``).

    The window is the sentence (at most ``HISTORY_WINDOW`` characters either side). A year before the
    end date's year, or that year with an earlier month or without a month, is enough.
    """
    a = max(0, start - HISTORY_WINDOW)
    b = min(len(text), end + HISTORY_WINDOW)
    for m in _SENTENCE_END.finditer(text, a, start):
        a = m.end()
    m_end = _SENTENCE_END.search(text, end, b)
    if m_end:
        b = m_end.start()
    window = text[a:b]
    if _PAST_WORDS.search(window):
        return True
    end_year, end_month = int(until[:4]), int(until[5:7] or 12)
    for m in _YEAR.finditer(window):
        year = int(m.group(1))
        if year < end_year or (year == end_year and (m.group(2) is None or int(m.group(2)) < end_month)):
            return True
    return False


def _lexicon_findings(lex: Lexicon, view: View, scopes: frozenset[int]) -> tuple[list[rules.Raw], Triggers]:
    text = view.text
    hits, trig, names = _lexicon_hits(lex, text)
    hits.extend(_spaced_hits(lex, text))
    out: list[rules.Raw] = []
    for ref, s, e in hits:
        ent = lex.entries[ref]
        if ent.scope is not None and ent.scope not in scopes:
            continue  # another unit's addition: shares the automaton, not the findings
        if ent.rule in lex.past_titles and _historical(text, s, e, lex.past_titles[ent.rule]):
            continue
        out.append(rules.Raw(ent.rule, ent.category, ent.severity, s, e, ent.suggestion, ent.message))
    if len(names) >= 3:
        out.extend(_leader_order(lex, text, names))
    return out, trig


def _dedupe(findings: list[Finding]) -> list[Finding]:
    """Drop exact duplicates and findings inside a same-category finding that is at least as severe."""
    findings = sorted(set(findings), key=lambda f: (f.start, -f.end, _SEV_RANK[f.severity], f.rule))
    out: list[Finding] = []
    for f in findings:
        covered = False
        for g in reversed(out[-8:]):
            if (g.category == f.category and g.start <= f.start and f.end <= g.end
                    and (g.start, g.end) != (f.start, f.end) and _SEV_RANK[g.severity] <= _SEV_RANK[f.severity]):
                covered = True
                break
        if not covered:
            out.append(f)
    return out


def check_content(
    content: str,
    *,
    is_html: bool | None = None,
    allowed_domains: Iterable[str] = (),
    approved_sources: Iterable[str] = (),
    overlay: Overlay | None = None,
    scopes: Iterable[int] = (),
) -> list[Finding]:
    """Run every check on ``content`` (plain text or HTML); findings sorted by start offset.

    ``overlay`` merges database-held additions and disabled rules into the shared automaton;
    ``scopes`` (unit ids: the post's unit and its ancestors) selects which of them apply.
    """
    if not content:
        return []
    lex = get_lexicon(overlay=overlay)
    active, disabled, extra_sources, extra_domains = lex.for_scopes(scopes)
    if extra_domains:
        allowed_domains = (*allowed_domains, *extra_domains)
    if extra_sources:
        approved_sources = (*approved_sources, *extra_sources)
    view = build_view(content, is_html)
    raws, trig = _lexicon_findings(lex, view, active)
    raws.extend(rules.check_pii(view))
    if "secret" in trig:
        raws.extend(rules.check_secret(view, trig["secret"]))
    if "map" in trig or any(el.tag == "img" for el in view.elements):
        raws.extend(rules.check_map(view, trig.get("map", [])))
    if "link" in trig or view.elements:
        raws.extend(rules.check_links(view, tuple(allowed_domains), trig.get("link", [])))
    if "source" in trig:
        raws.extend(rules.check_sources(view, lex.approved_sources + tuple(approved_sources), trig["source"]))
    if disabled:
        raws = [r for r in raws if r.rule not in disabled]
    findings: list[Finding] = []
    for r in raws:
        s, e = view.span(r.start, r.end) if r.view else (r.start, r.end)
        findings.append(Finding(r.rule, r.category, r.severity, s, e, content[s:e], r.suggestion, r.message))
    return _dedupe(findings)


def lexicon_label(overlay: Overlay | None = None) -> str:
    """The lexicon version findings record: the files' version, plus the overlay's when given."""
    return overlay.label if overlay is not None else LEXICON_VERSION
