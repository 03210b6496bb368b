"""Lexicon loading and the shared Aho-Corasick automaton.

All word lists (typo, outdated, sensitive, ad, leader combinations, trigger
words of the regex checks) go into ONE ``ahocorasick_rs`` automaton, built
once per lexicon version and cached at module level.

Evasion by traditional characters and full-width letters is handled on the
pattern side: every pattern is folded to simplified/half-width and then
expanded into its traditional and full-width spellings (a bounded product),
so the text never needs a per-character translation pass.

Precision: an entry's *exceptions* are longer correct expressions that
contain the wrong form. They sit in the same automaton; a wrong-form match
is dropped when one of its exceptions matches at the aligned position.
Exceptions are listed per entry in the TSV files and are also derived
automatically: every suggested correct form, and every correct leader
title/name combination, that contains some wrong form becomes an exception
for that wrong form.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import importlib.metadata
import itertools
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import ahocorasick_rs

HERE = Path(__file__).resolve().parent
LEXICON_DIR = HERE / "lexicons"
DATA_DIR = HERE / "data"

# Payload kinds stored per automaton pattern.
HIT = 0  # a lexicon entry that produces a finding
EXC = 1  # an exception protecting entry ``ref`` at offset ``k``
NAME = 2  # a leader name (for the order check)
TRIG = 3  # a trigger word that turns on a regex check

SEVERITIES = ("block", "warn", "info")

SENSITIVE_TAGS = {
    "6.1": "反对宪法所确定的基本原则",
    "6.2": "危害国家安全，泄露国家秘密，颠覆国家政权，破坏国家统一",
    "6.3": "损害国家荣誉和利益",
    "6.4": "歪曲、丑化、亵渎、否定英雄烈士事迹和精神",
    "6.5": "宣扬恐怖主义、极端主义或者煽动实施恐怖活动、极端主义活动",
    "6.6": "煽动民族仇恨、民族歧视，破坏民族团结",
    "6.7": "破坏国家宗教政策，宣扬邪教和封建迷信",
    "6.8": "散布谣言，扰乱经济秩序和社会秩序",
    "6.9": "散布淫秽、色情、赌博、暴力、凶杀、恐怖或者教唆犯罪",
    "6.10": "侮辱或者诽谤他人，侵害他人名誉、隐私和其他合法权益",
    "6.11": "法律、行政法规禁止的其他内容",
    "7.1": "使用夸张标题，内容与标题严重不符（标题党）",
    "7.2": "炒作绯闻、丑闻、劣迹等",
    "7.3": "不当评述自然灾害、重大事故等灾难",
    "7.4": "带有性暗示、性挑逗等易使人产生性联想",
    "7.5": "展现血腥、惊悚、残忍等致人身心不适",
    "7.6": "煽动人群歧视、地域歧视等",
    "7.7": "宣扬低俗、庸俗、媚俗内容",
    "7.8": "可能引发未成年人模仿不安全行为、违反社会公德或诱导不良嗜好",
    "7.9": "其他对网络生态造成不良影响的内容",
}


@dataclass(frozen=True)
class Entry:
    category: str
    rule: str
    wrong: str  # canonical (simplified, half-width) form
    suggestion: str | None
    severity: str
    message: str
    scope: int | None = None  # None: the shared files; else the unit id of a database addition


@dataclass(frozen=True)
class Addition:
    """A lexicon entry added by a unit (held in the hub's database, not in the files).

    ``category`` is one of ``ADDITION_CATEGORIES``: the four word lists, or ``source``
    (an approved repost source) / ``domain`` (an allowed link domain), which extend the
    allow-lists of the source and link checks instead of producing findings.
    """

    scope: int  # the unit id: the entry applies to that unit and the units below it
    category: str
    wrong: str  # the word (for source/domain: the name or domain)
    right: str = ""
    severity: str = ""
    reason: str = ""
    exceptions: tuple[str, ...] = ()
    tag: str = ""  # sensitive: 6.1 … 7.9
    since: str = ""  # outdated: when the wording changed


@dataclass(frozen=True)
class Overlay:
    """Database-held additions and disabled rules, merged into the shared automaton.

    ``key`` identifies the content (a digest: equal keys mean equal content) and is the
    cache key of the compiled automaton; ``label`` is the version shown to people.
    """

    key: str
    label: str
    additions: tuple[Addition, ...] = ()
    disables: tuple[tuple[int, str], ...] = ()  # (unit id, rule id)


ADDITION_CATEGORIES = ("typo", "outdated", "sensitive", "ad", "source", "domain")


@dataclass
class Leader:
    name: str
    rank: int  # order within the current leadership list (0 = not ranked)
    titles: dict[str, str] = field(default_factory=dict)  # title -> position (pre|post|both)
    ended: dict[str, str] = field(default_factory=dict)  # title -> date it ended (titles held only in the past)


@dataclass
class Lexicon:
    version: str
    entries: list[Entry]
    patterns: list[str]
    payloads: list[tuple[tuple[int, int, int], ...]]
    automaton: ahocorasick_rs.AhoCorasick
    leaders: list[Leader]
    approved_sources: tuple[str, ...]
    triggers: tuple[str, ...]
    dropped: list[str]  # entries skipped at build time (and why), for tests
    label: str = ""  # the lexicon version findings record
    scoped_sources: dict[int, tuple[str, ...]] = field(default_factory=dict)  # unit id -> approved sources
    scoped_domains: dict[int, tuple[str, ...]] = field(default_factory=dict)  # unit id -> allowed domains
    disables: dict[int, frozenset[str]] = field(default_factory=dict)  # unit id -> disabled rule ids
    past_titles: dict[str, str] = field(default_factory=dict)  # leader.past.* rule id -> end date (YYYY-MM-DD)

    def for_scopes(self, scopes: Iterable[int]) -> tuple[frozenset[int], frozenset[str], tuple[str, ...],
                                                         tuple[str, ...]]:
        """(active scopes, disabled rules, extra approved sources, extra allowed domains) for a unit path."""
        active = frozenset(scopes)
        disabled: set[str] = set()
        sources: list[str] = []
        domains: list[str] = []
        for sc in active:
            disabled |= self.disables.get(sc, frozenset())
            sources.extend(self.scoped_sources.get(sc, ()))
            domains.extend(self.scoped_domains.get(sc, ()))
        return active, frozenset(disabled), tuple(sources), tuple(domains)


# --------------------------------------------------------------------------
# Character folding tables


def _load_t2s() -> dict[str, str]:
    table: dict[str, str] = {}
    with open(DATA_DIR / "t2s_chars.tsv", encoding="utf-8") as fh:
        for line in fh:
            if not line.strip() or line.startswith("#"):
                continue
            trad, simp = line.rstrip("\n").split("\t")[:2]
            if len(trad) == 1 and len(simp) == 1:
                table[trad] = simp
    return table


T2S: dict[str, str] = _load_t2s()
S2T: dict[str, list[str]] = {}
for _t, _s in T2S.items():
    S2T.setdefault(_s, []).append(_t)
_FOLD = str.maketrans({**T2S, **{chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)}, "\u3000": " "})


def fold(s: str) -> str:
    """Fold traditional and full-width characters (for lexicon entries and small strings)."""
    return s.translate(_FOLD)


def char_alternatives(c: str) -> list[str]:
    alts = [c]
    alts.extend(t for t in S2T.get(c, ()) if t not in alts)
    if "!" <= c <= "~":
        if c.isalpha():
            for x in (c.lower(), c.upper()):
                if x not in alts:
                    alts.append(x)
        alts.extend(chr(ord(x) + 0xFEE0) for x in list(alts) if "!" <= x <= "~")
    return alts


def spellings(pattern: str, cap: int = 256) -> list[str]:
    """The pattern plus its traditional / full-width spellings (bounded)."""
    alts = [char_alternatives(c) for c in pattern]
    total = 1
    for a in alts:
        total *= len(a)
    if total <= cap:
        return ["".join(p) for p in itertools.product(*alts)]
    # Too many combinations: all-first-alternative forms plus every single-character substitution.
    out = {pattern, "".join(a[1] if len(a) > 1 else a[0] for a in alts)}
    for i, a in enumerate(alts):
        for x in a[1:]:
            out.add(pattern[:i] + x + pattern[i + 1 :])
    return sorted(out)


def char_class(word: str) -> str:
    """A regex fragment matching ``word`` in simplified or traditional characters."""
    import re

    out = []
    for c in word:
        alts = [c, *S2T.get(c, ())]
        out.append(re.escape(c) if len(alts) == 1 else "[" + "".join(alts) + "]")
    return "".join(out)


# --------------------------------------------------------------------------
# Reading the TSV files


def lexicon_rows(name: str) -> Iterable[dict[str, str]]:
    return _rows_in(LEXICON_DIR / name)


def _rows_in(path: Path) -> Iterable[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        lines = [ln for ln in fh if ln.strip() and not ln.lstrip().startswith("#")]
    reader = csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
    for row in reader:
        yield {k.strip(): (v or "").strip() for k, v in row.items() if k}


def lexicon_files() -> list[Path]:
    return sorted([*LEXICON_DIR.glob("*.tsv"), *DATA_DIR.glob("*.tsv")])


def compute_version() -> str:
    h = hashlib.sha256()
    # Leader-name homophones are generated with pypinyin's data: its version is part of the lexicon's.
    h.update(("pypinyin=" + importlib.metadata.version("pypinyin")).encode())
    for p in lexicon_files():
        h.update(p.name.encode())
        h.update(b"\0")
        h.update(p.read_bytes())
        h.update(b"\0")
    return "lex-" + h.hexdigest()[:12]


def _severity(value: str, default: str) -> str:
    value = value or default
    if value not in SEVERITIES:
        raise ValueError(f"bad severity {value!r}")
    return value


class _Builder:
    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self.pattern_ids: dict[str, int] = {}
        self.payloads: list[list[tuple[int, int, int]]] = []
        self.exceptions: list[tuple[int, str]] = []  # (entry index, correct context)
        self.correct: set[str] = set()
        self.dropped: list[str] = []
        self.seen: dict[tuple[str, str, int | None], int] = {}
        self.self_correct: set[int] = set()  # entries whose wrong form is itself a correct form (past titles)

    def add_pattern(self, text: str, payload: tuple[int, int, int], cap: int = 256) -> None:
        for sp in spellings(text, cap):
            pid = self.pattern_ids.get(sp)
            if pid is None:
                pid = self.pattern_ids[sp] = len(self.payloads)
                self.payloads.append([])
            if payload not in self.payloads[pid]:
                self.payloads[pid].append(payload)

    def add_entry(self, entry: Entry, exceptions: Iterable[str] = (), cap: int = 256) -> int | None:
        wrong = fold(entry.wrong)
        if not wrong:
            return None
        if entry.suggestion is not None and fold(entry.suggestion) == wrong:
            self.dropped.append(f"{entry.rule}: wrong and right fold to the same text")
            return None
        key = (entry.category, wrong, entry.scope)
        if key in self.seen:
            self.dropped.append(f"{entry.rule}: duplicate of an earlier entry")
            return None
        idx = len(self.entries)
        self.seen[key] = idx
        self.entries.append(entry)
        self.add_pattern(wrong, (HIT, idx, 0), cap)
        if entry.suggestion:
            self.correct.add(fold(entry.suggestion))
        for exc in exceptions:
            exc = fold(exc.strip())
            if not exc:
                continue
            if wrong not in exc:
                self.dropped.append(f"{entry.rule}: exception {exc!r} does not contain the wrong form")
                continue
            self.exceptions.append((idx, exc))
        return idx

    def finish(self) -> None:
        # Derived exceptions: correct forms that contain a wrong form.
        wrongs = [fold(e.wrong) for e in self.entries]
        ac = ahocorasick_rs.AhoCorasick(wrongs)
        by_wrong: dict[str, list[int]] = {}
        for i, w in enumerate(wrongs):
            by_wrong.setdefault(w, []).append(i)
        for c in sorted(self.correct):
            for wi, _s, _e in ac.find_matches_as_indexes(c, overlapping=True):
                for idx in by_wrong[wrongs[wi]]:
                    if c == wrongs[wi] and idx in self.self_correct:
                        continue  # a past title is a correct combination, but must not protect itself
                    self.exceptions.append((idx, c))
        for idx, exc in self.exceptions:
            w = fold(self.entries[idx].wrong)
            k = exc.find(w)
            while k >= 0:
                self.add_pattern(exc, (EXC, idx, k))
                k = exc.find(w, k + 1)


def _split_exc(value: str) -> list[str]:
    return [x for x in value.replace("｜", "|").split("|") if x.strip()]


def typo_entry(wrong: str, right: str, severity: str, reason: str, rule: str = "",
               scope: int | None = None) -> Entry:
    """A typo entry (wrong → right) with its editor-facing message."""
    msg = f"疑似错别字：“{wrong}”应为“{right}”。" + (f"（{reason}）" if reason else "")
    return Entry("typo", rule or f"typo.{wrong}", wrong, right, _severity(severity, "block"), msg, scope)


def outdated_entry(wrong: str, right: str, since: str, severity: str, reason: str, rule: str = "",
                   scope: int | None = None) -> Entry:
    """An outdated-wording entry with the date the wording changed."""
    msg = f"过时表述：“{wrong}”" + (f"自{since}起" if since else "") + f"应改为“{right}”。"
    if reason:
        msg += f"（{reason}）"
    msg += "如确为引用历史名称，可加“原”字或忽略。"
    return Entry("outdated", rule or f"outdated.{wrong}", wrong, right, _severity(severity, "warn"), msg, scope)


def outdated_exceptions(wrong: str) -> list[str]:
    """Historical references (原…, 时任…) are never flagged as outdated."""
    return [f"原{fold(wrong)}", f"时任{fold(wrong)}"]


def sensitive_entry(term: str, tag: str, severity: str, rule: str = "", scope: int | None = None) -> Entry:
    """A sensitive term tagged with its article of 《网络信息内容生态治理规定》."""
    if tag not in SENSITIVE_TAGS:
        raise ValueError(f"unknown tag {tag!r} for {term!r}")
    art = "第六条" if tag.startswith("6") else "第七条"
    msg = (f"可能涉及《网络信息内容生态治理规定》{art}所列“{SENSITIVE_TAGS[tag]}”的内容，"
           f"请审核人员重点核实。")
    return Entry("sensitive", rule or f"sensitive.{tag}.{term}", term, None, _severity(severity, "warn"), msg,
                 scope)


def ad_entry(term: str, severity: str, reason: str, rule: str = "", scope: int | None = None) -> Entry:
    """A commercial-advertising phrase (123号 forbids advertising on government new media)."""
    msg = f"疑似商业广告用语“{term}”：政务新媒体不得发布商业广告（国办发〔2018〕123号）。"
    if reason:
        msg += f"（{reason}）"
    return Entry("ad", rule or f"ad.{term}", term, None, _severity(severity, "warn"), msg, scope)


def _load_typo(b: _Builder) -> None:
    for row in lexicon_rows("typo.tsv"):
        b.add_entry(typo_entry(row["wrong"], row["right"], row.get("severity", ""), row.get("reason", ""),
                               row.get("id", "")), _split_exc(row.get("exceptions", "")))


def _load_outdated(b: _Builder) -> None:
    for row in lexicon_rows("outdated.tsv"):
        wrong = row["wrong"]
        b.add_entry(outdated_entry(wrong, row["right"], row.get("since", ""), row.get("severity", ""),
                                   row.get("reason", ""), row.get("id", "")),
                    _split_exc(row.get("exceptions", "")) + outdated_exceptions(wrong))


def _load_sensitive(b: _Builder) -> None:
    for row in lexicon_rows("sensitive.tsv"):
        try:
            entry = sensitive_entry(row["term"], row["tag"], row.get("severity", ""), row.get("id", ""))
        except ValueError as exc:
            raise ValueError(f"sensitive.tsv: {exc}") from None
        b.add_entry(entry, _split_exc(row.get("exceptions", "")))


def _load_ad(b: _Builder) -> None:
    for row in lexicon_rows("ad.tsv"):
        b.add_entry(ad_entry(row["term"], row.get("severity", ""), row.get("reason", ""), row.get("id", "")),
                    _split_exc(row.get("exceptions", "")))


def addition_entry(a: Addition) -> tuple[Entry, list[str]]:
    """The engine entry and exceptions of a database addition (a word-list category)."""
    if a.category == "typo":
        return typo_entry(a.wrong, a.right, a.severity, a.reason, scope=a.scope), list(a.exceptions)
    if a.category == "outdated":
        return (outdated_entry(a.wrong, a.right, a.since, a.severity, a.reason, scope=a.scope),
                list(a.exceptions) + outdated_exceptions(a.wrong))
    if a.category == "sensitive":
        return sensitive_entry(a.wrong, a.tag, a.severity, scope=a.scope), list(a.exceptions)
    if a.category == "ad":
        return ad_entry(a.wrong, a.severity, a.reason, scope=a.scope), list(a.exceptions)
    raise ValueError(f"category {a.category!r} has no word-list entry")


def _load_overlay(b: _Builder, overlay: Overlay) -> tuple[dict[int, tuple[str, ...]], dict[int, tuple[str, ...]],
                                                          dict[int, frozenset[str]]]:
    sources: dict[int, list[str]] = {}
    domains: dict[int, list[str]] = {}
    for a in overlay.additions:
        if a.category == "source":
            sources.setdefault(a.scope, []).append(fold(a.wrong))
        elif a.category == "domain":
            domains.setdefault(a.scope, []).append(a.wrong.lower())
        else:
            entry, exceptions = addition_entry(a)
            b.add_entry(entry, exceptions)
    disables: dict[int, set[str]] = {}
    for scope, rule in overlay.disables:
        disables.setdefault(scope, set()).add(rule)
    return ({k: tuple(v) for k, v in sources.items()}, {k: tuple(v) for k, v in domains.items()},
            {k: frozenset(v) for k, v in disables.items()})


#: Homophone candidates kept per character of a leader's name (most frequent first), so that the
#: automaton stays small; visually similar characters come from ``similar_shapes.tsv``.
HOMOPHONES_PER_CHAR = 8
#: Spellings per generated variant pattern (all-traditional plus single-character substitutions beyond it).
VARIANT_SPELLINGS_CAP = 16
#: Markers of a historical reference directly before a past title (原国务院总理…, 时任…).
HISTORICAL_PREFIXES = ("原", "前", "时任", "曾任")


def _common_chars() -> list[str]:
    return [row["char"] for row in _rows_in(DATA_DIR / "common_chars.tsv") if len(row["char"]) == 1]


@functools.lru_cache(maxsize=2)
def _homophone_index(version: str) -> dict[str, list[str]]:
    """Reading (pypinyin TONE3) -> common characters with that usual reading, most frequent first.

    Cached per lexicon version (``version`` is only the cache key): overlays rebuild the automaton
    without recomputing it.
    """
    from pypinyin import Style, pinyin

    common = _common_chars()
    by_reading: dict[str, list[str]] = {}
    # The candidate's usual (first) reading only: rare readings (冯 píng) make implausible slips.
    for ch, readings in zip(common, pinyin(common, style=Style.TONE3, heteronym=True), strict=True):
        by_reading.setdefault(readings[0], []).append(ch)
    return by_reading


def name_variants(names: Iterable[str]) -> dict[str, dict[str, tuple[str, str]]]:
    """One-character-off variants of each name: ``{name: {variant: (reason, wrong char)}}``.

    Homophones (同音字): common characters (``data/common_chars.tsv``, most frequent first) whose usual
    reading is the name character's reading in the name (pypinyin, with tone); at most
    ``HOMOPHONES_PER_CHAR`` per character. Similar shapes (形近字): ``lexicons/similar_shapes.tsv``.
    """
    from pypinyin import Style, pinyin  # imported here: only a lexicon build needs its dictionaries

    by_reading = _homophone_index(compute_version())
    shapes: dict[str, str] = {}
    for row in lexicon_rows("similar_shapes.tsv"):
        shapes[row["char"]] = shapes.get(row["char"], "") + row["similar"]
    out: dict[str, dict[str, tuple[str, str]]] = {}
    for name in names:
        variants: dict[str, tuple[str, str]] = {}
        readings = [r[0] for r in pinyin(name, style=Style.TONE3)]
        for i, (c, reading) in enumerate(zip(name, readings, strict=True)):
            same = [x for x in by_reading.get(reading, ()) if x != c and fold(x) != c][:HOMOPHONES_PER_CHAR]
            for x in same:
                variants.setdefault(name[:i] + x + name[i + 1 :], ("同音字", x))
            for x in shapes.get(c, ""):
                if x != c:
                    variants.setdefault(name[:i] + x + name[i + 1 :], ("形近字", x))
        out[name] = variants
    return out


def _title_similarity(a: str, b: str) -> int:
    return len(set(a) & set(b))


def _load_leaders(b: _Builder) -> tuple[list[Leader], dict[str, str]]:
    leaders: dict[str, Leader] = {}
    for row in lexicon_rows("leaders.tsv"):
        name = row["name"]
        ld = leaders.setdefault(name, Leader(name, int(row.get("rank") or 0)))
        if row.get("rank"):
            ld.rank = int(row["rank"])
        ld.titles[row["title"]] = row.get("position") or "pre"
        if row.get("to"):
            ld.ended[row["title"]] = row["to"]
    all_titles: dict[str, str] = {}
    for ld in leaders.values():
        all_titles.update(ld.titles)
    # Correct combinations are exceptions for every wrong combination they contain.
    for ld in leaders.values():
        for t, pos in ld.titles.items():
            if pos in ("pre", "both"):
                b.correct.add(t + ld.name)
            if pos in ("post", "both"):
                b.correct.add(ld.name + t)
    for ld in leaders.values():
        for t, pos in sorted(all_titles.items()):
            if t in ld.titles:
                continue
            right = ", ".join(sorted(ld.titles))
            if pos in ("pre", "both"):
                msg = f"领导人职务疑似错误：{ld.name}的职务不是“{t}”（已知职务：{right}），请核实。"
                b.add_entry(Entry("leader", f"leader.title.{ld.name}.{t}", t + ld.name, None, "block", msg))
            if pos in ("post", "both"):
                msg = (f"领导人称谓疑似错误：“{ld.name}{t}”与{ld.name}的职务不符（已知职务：{right}），"
                       f"请核实是否为同名人员。")
                b.add_entry(Entry("leader", f"leader.title.{ld.name}.{t}", ld.name + t, None, "warn", msg))
    for i, ld in enumerate(leaders.values()):
        b.add_pattern(ld.name, (NAME, i, 0))
    past = _load_past_titles(b, leaders)
    # Names one character off: the curated table first (it may flag a 3-character variant alone) ...
    taken: set[str] = set()
    for row in lexicon_rows("leader_variants.tsv"):
        variant, name = row["variant"], row["name"]
        if name not in leaders:
            raise ValueError(f"leader_variants.tsv: unknown leader {name!r}")
        ld = leaders[name]
        exc = _split_exc(row.get("exceptions", ""))
        taken.add(fold(variant))
        if len(variant) >= 3:
            # Two-character variants (李熙) are ordinary names: only flagged next to a title.
            msg = f"领导人姓名疑似错误：“{variant}”应为“{name}”，请核实。"
            b.add_entry(Entry("leader", f"leader.name.{name}", variant, name, "warn", msg), exc)
        for t, pos in ld.titles.items():
            m2 = f"领导人姓名错误：“{variant}”应为“{name}”。"
            if pos in ("pre", "both"):
                b.add_entry(Entry("leader", f"leader.name.{name}", t + variant, t + name, "block", m2))
            if pos in ("post", "both"):
                b.add_entry(Entry("leader", f"leader.name.{name}", variant + t, name + t, "block", m2))
    # ... then the generated homophone / similar-shape variants, flagged only next to one of the
    # leader's titles: a full title before the name blocks, a short honorific after it warns
    # (a person with that ordinary name may be meant).
    real = {fold(n) for n in leaders}
    generated = name_variants(leaders)
    for ld in leaders.values():
        for variant, (reason, wrong_char) in sorted(generated[ld.name].items()):
            if fold(variant) in taken or fold(variant) in real:
                continue
            taken.add(fold(variant))
            msg = f"领导人姓名疑似错误（{reason}“{wrong_char}”）：“{variant}”应为“{ld.name}”，请核实。"
            for t, pos in ld.titles.items():
                if pos in ("pre", "both"):
                    b.add_entry(Entry("leader", f"leader.name.{ld.name}", t + variant, t + ld.name, "block", msg),
                                cap=VARIANT_SPELLINGS_CAP)
                if pos in ("post", "both"):
                    b.add_entry(Entry("leader", f"leader.name.{ld.name}", variant + t, ld.name + t, "warn", msg),
                                cap=VARIANT_SPELLINGS_CAP)
    return list(leaders.values()), past


def _load_past_titles(b: _Builder, leaders: dict[str, Leader]) -> dict[str, str]:
    """Warn entries for titles a leader held only in the past (``to`` set), used as if current.

    The suggestion is the leader's current title most like the past one (same position); the check
    (``__init__``) drops the finding when the text around it is clearly historical.
    """
    past: dict[str, str] = {}
    for ld in leaders.values():
        current = {t: pos for t, pos in ld.titles.items() if t not in ld.ended}
        for t, end in ld.ended.items():
            pos = ld.titles[t]
            for side in ("pre", "post"):
                if pos not in (side, "both"):
                    continue
                fits = [c for c, cp in current.items() if cp in (side, "both")]
                best = max(fits, key=lambda c: _title_similarity(c, t), default=None)
                wrong = t + ld.name if side == "pre" else ld.name + t
                if best is None:
                    suggestion = None
                    msg = f"职务可能已变更：{ld.name}已于{end}卸任{t}。如为历史报道，请写明“时任”或时间。"
                else:
                    suggestion = best + ld.name if side == "pre" else ld.name + best
                    msg = (f"职务可能已变更：{ld.name}已于{end}卸任{t}，现任{best}。"
                           f"如为历史报道，请写明“时任”或时间。")
                rule = f"leader.past.{ld.name}.{t}"
                # Historical prefixes before any of the leader's longer combinations ending in this one.
                exc = [p + c for p in HISTORICAL_PREFIXES for c in (x + ld.name for x in ld.titles)
                       if side == "pre" and c.endswith(wrong)]
                if side == "post" and t.endswith("主席"):
                    exc.append(wrong + "台")  # 汪洋主席台: an ordinary word before 主席台
                idx = b.add_entry(Entry("leader", rule, wrong, suggestion, "warn", msg), exc)
                if idx is not None:
                    b.self_correct.add(idx)
                    past[rule] = end
    return past


TRIGGERS = {
    "map": ("地图", "示意图", "区划图", "区位图", "位置图", "地形图", "交通图", "审图号"),
    "secret": ("绝密", "机密", "秘密", "密级", "内部资料", "内部文件", "内部材料", "内部参考", "仅供内部", "注意保密",
               "请勿外传", "不得外传", "严禁外传", "禁止外传", "请勿转发", "不得转发", "妥善保管"),
    "source": ("来源", "转载", "转自", "摘自", "源自", "来自网络"),
    "link": ("http", "www.", "ftp:", "javascript:"),
}


def _build(overlay: Overlay | None = None) -> Lexicon:
    version = compute_version()
    b = _Builder()
    _load_typo(b)
    _load_outdated(b)
    leaders, past_titles = _load_leaders(b)
    _load_sensitive(b)
    _load_ad(b)
    scoped: tuple[dict, dict, dict] = ({}, {}, {})
    if overlay is not None:
        scoped = _load_overlay(b, overlay)
    b.finish()
    triggers: list[str] = []
    for words in TRIGGERS.values():
        for w in words:
            b.add_pattern(w, (TRIG, len(triggers), 0))
            triggers.append(w)
    sources = tuple(row["name"] for row in lexicon_rows("sources.tsv"))
    patterns = [""] * len(b.pattern_ids)
    for p, i in b.pattern_ids.items():
        patterns[i] = p
    automaton = ahocorasick_rs.AhoCorasick(patterns, implementation=ahocorasick_rs.Implementation.DFA)
    return Lexicon(version, b.entries, patterns, [tuple(p) for p in b.payloads], automaton, leaders,
                   sources, tuple(triggers), b.dropped, label=overlay.label if overlay else version,
                   scoped_sources=scoped[0], scoped_domains=scoped[1], disables=scoped[2],
                   past_titles=past_titles)


_LOCK = threading.Lock()
_CACHE: dict[str, Lexicon] = {}
#: Compiled lexicons kept at once: the files alone plus a few database overlays (an overlay
#: changes only when an admin edits the lexicon, so old ones are soon unused).
CACHE_SIZE = 4


def get_lexicon(version: str | None = None, overlay: Overlay | None = None) -> Lexicon:
    """The compiled lexicon for the files on disk plus ``overlay`` (cached per version and overlay key)."""
    key = (version or LEXICON_VERSION) + ("|" + overlay.key if overlay is not None else "")
    lex = _CACHE.get(key)
    if lex is not None:
        return lex
    with _LOCK:
        lex = _CACHE.get(key)
        if lex is None:
            lex = _build(overlay)
            while len(_CACHE) >= CACHE_SIZE:
                _CACHE.pop(next(iter(_CACHE)))
            _CACHE[key] = lex
        return lex


LEXICON_VERSION: str = compute_version()
