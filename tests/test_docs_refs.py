"""References in comments and docs point at things that exist: the rulebook is cited inside the
repository (``docs/design.md §N``, never the design document outside it), every cited section is a
heading of docs/design.md, and every source path the docs and the README name is a file there."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DESIGN = ROOT / "docs" / "design.md"
TEXT = {".py", ".md", ".html", ".js", ".css", ".txt", ".toml", ".mako"}
OUTSIDE = "DESIGN" + ".md"  # split, so this file does not name it

HEADING = re.compile(r"^#{2,}\s*§(\d+(?:\.\d+)*)\b", re.M)
# "docs/design.md §4.1", "docs/design.md §6.2 and §11", "docs/design.md §8's order"
CITATION = re.compile(r"docs/design\.md((?:\s*(?:,|and|or|–)?\s*§\d+(?:\.\d+)*)+)")
SECTION = re.compile(r"§(\d+(?:\.\d+)*)")
# A source path as the docs write it: hub/checks/service.py, templates/checks/editor.html, ...
# (not hub/<area>/api.py or hub/dispatch/jobs/*, which name kinds of files).
PATH = re.compile(r"(?<![\w./<>-])((?:hub|adapters|review|bench|templates|docs)/(?:[\w.-]+/)*[\w-]+"
                  r"\.(?:py|html|md|css|js|tsv|json|toml))(?![\w/])")


def _files(*names: str) -> list[Path]:
    out: list[Path] = []
    for name in names:
        path = ROOT / name
        if path.is_file():
            out.append(path)
            continue
        out += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in TEXT
                      and "vendor" not in p.parts and "__pycache__" not in p.parts)
    return out


def _where(path: Path, text: str, pos: int) -> str:
    return f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, pos) + 1}"


def sections() -> set[str]:
    return set(HEADING.findall(DESIGN.read_text(encoding="utf-8")))


def test_design_md_has_numbered_sections() -> None:
    found = sections()
    assert {"4.1", "4.7", "6.2", "7", "8", "10.3"} <= found, sorted(found)


def test_nothing_cites_the_design_document_outside_the_repository() -> None:
    bad = []
    for path in _files("hub", "adapters", "review", "tests", "bench", "templates", "docs", "README.md"):
        text = path.read_text(encoding="utf-8", errors="replace")
        bad += [_where(path, text, m.start()) for m in re.finditer(re.escape(OUTSIDE), text)]
    assert not bad, f"cite docs/design.md §N instead of {OUTSIDE}: " + ", ".join(bad)


def test_every_cited_section_exists() -> None:
    known = sections()
    bad = []
    for path in _files("hub", "adapters", "review", "tests", "bench", "templates", "docs", "README.md"):
        text = path.read_text(encoding="utf-8", errors="replace")
        for m in CITATION.finditer(text):
            bad += [f"{_where(path, text, m.start())} §{n}" for n in SECTION.findall(m.group(1)) if n not in known]
    assert not bad, "docs/design.md has no such section: " + ", ".join(bad)


def test_source_paths_in_the_docs_exist() -> None:
    bad = []
    for path in [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]:
        text = path.read_text(encoding="utf-8")
        bad += [f"{_where(path, text, m.start())} {m.group(1)}" for m in PATH.finditer(text)
                if not (ROOT / m.group(1)).is_file()]
    assert not bad, "no such file: " + ", ".join(bad)


def test_the_patterns_catch_what_they_are_for() -> None:
    assert [m.group(1) for m in PATH.finditer("see `hub/services/checks.py`, hub/<area>/api.py, "
                                              "templates/checks_editor.html and /api/v1/review/queue")] == [
        "hub/services/checks.py", "templates/checks_editor.html"]
    assert [SECTION.findall(m.group(1)) for m in CITATION.finditer(
        "(docs/design.md §6.2 and §11); docs/design.md §8's order; docs/design.md")] == [["6.2", "11"], ["8"]]
