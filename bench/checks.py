"""Benchmark of the content checks (issue 6).

Usage:  .venv/bin/python bench/checks.py [--mb 10]

Builds about 10 MB (UTF-8) of government text by repeating the notices under
tests/data/notices/ (plain text; HTML notices reduced to their text), then
prints, in the same run:

* MB/s of ``check_content`` with the full rule set;
* MB/s of a plain pure-Python dict-of-dicts DFA on a 10,000-word lexicon;
* the time of one 20,000-character article.

Figures only; nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from review.checks import check_content  # noqa: E402
from review.checks.lexicon import get_lexicon  # noqa: E402

NOTICES = ROOT / "tests" / "data" / "notices"


def corpus(mb: float) -> str:
    parts = []
    for p in sorted(NOTICES.iterdir()):
        if p.suffix == ".txt":
            parts.append(p.read_text(encoding="utf-8"))
        elif p.suffix == ".html":
            parts.append(re.sub(r"<[^>]+>", "\n", p.read_text(encoding="utf-8")).replace("&nbsp;", " "))
    unit = "\n\n".join(parts) + "\n\n"
    n = int(mb * 1_000_000 / len(unit.encode("utf-8"))) + 1
    return unit * n


def dfa_words(text: str, n: int = 10_000, from_text: bool = False) -> list[str]:
    """10,000 words: the lexicon's own wrong forms plus 2-4 character words.

    ``from_text=False``: random characters of the text (few hits, the DFA's best case);
    ``from_text=True``: substrings of the text itself, like a generic sensitive-word list that
    matches ordinary government words.
    """
    lex = get_lexicon()
    words = {e.wrong for e in lex.entries}
    sample = text[:200_000]
    chars = sorted({c for c in sample if "\u4e00" <= c <= "\u9fff"})
    rnd = random.Random(6)
    tries = 0
    while len(words) < n:
        k = rnd.randint(2, 4)
        tries += 1
        if from_text and tries < 50 * n:  # the text may hold fewer distinct words; then fill at random
            i = rnd.randrange(len(sample) - k)
            w = sample[i : i + k]
            if all("\u4e00" <= c <= "\u9fff" for c in w):
                words.add(w)
        else:
            words.add("".join(rnd.choice(chars) for _ in range(k)))
    return sorted(words)[:n]


def build_dfa(words: list[str]) -> dict:
    root: dict = {}
    for w in words:
        node = root
        for c in w:
            node = node.setdefault(c, {})
        node[""] = w
    return root


def dfa_scan(root: dict, text: str) -> list[tuple[int, int]]:
    """The classic pure-Python sensitive-word filter: walk the trie from every position."""
    out = []
    n = len(text)
    for i in range(n):
        node = root.get(text[i])
        if node is None:
            continue
        j = i + 1
        while True:
            if "" in node:
                out.append((i, j))
            if j >= n:
                break
            node = node.get(text[j])
            if node is None:
                break
            j += 1
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=10.0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    text = corpus(args.mb)
    size = len(text.encode("utf-8")) / 1e6
    print(f"corpus: {size:.1f} MB UTF-8, {len(text):,} characters")

    t0 = time.perf_counter()
    lex = get_lexicon()
    print(f"lexicon {lex.version}: {len(lex.entries)} entries, {len(lex.patterns)} automaton patterns, "
          f"built in {time.perf_counter() - t0:.2f} s")

    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        findings = check_content(text, is_html=False)
        times.append(time.perf_counter() - t0)
    best = min(times)
    print(f"full rule set:        {size / best:7.1f} MB/s  ({best:.3f} s, {len(findings)} findings)")

    for label, from_text in (("random words", False), ("words from the text", True)):
        words = dfa_words(text, from_text=from_text)
        root = build_dfa(words)
        t0 = time.perf_counter()
        hits = dfa_scan(root, text)
        dt = time.perf_counter() - t0
        print(f"pure-Python DFA ({label}): {size / dt:7.1f} MB/s  ({dt:.3f} s, {len(words):,} words, "
              f"{len(hits):,} hits); full rule set is {dt / best:.1f}x faster")

    article = text[:20_000]
    check_content(article, is_html=False)
    runs = []
    for _ in range(50):
        t0 = time.perf_counter()
        check_content(article, is_html=False)
        runs.append(time.perf_counter() - t0)
    print(f"20,000-char article:  median {statistics.median(runs) * 1000:.2f} ms, "
          f"max {max(runs) * 1000:.2f} ms (50 runs)")
    html_article = "".join(f"<p>{line}</p>" for line in article.split("\n"))
    runs = []
    for _ in range(50):
        t0 = time.perf_counter()
        check_content(html_article, is_html=True)
        runs.append(time.perf_counter() - t0)
    print(f"same article as HTML: median {statistics.median(runs) * 1000:.2f} ms ({len(html_article):,} chars)")


if __name__ == "__main__":
    main()
