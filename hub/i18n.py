"""Translation catalogs: UI strings are written in Chinese (the msgid) and translated to English.

``python -m hub.i18n extract`` refreshes ``hub/translations/en/LC_MESSAGES/messages.po`` from the sources
(new strings are added untranslated, vanished ones dropped) and compiles the ``.mo``;
``python -m hub.i18n missing`` lists strings still without an English translation.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "hub" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")
METHODS = [("hub/**.py", "python"), ("templates/**.html", "jinja2")]


def extract() -> Catalog:
    """Every translatable string in hub/ and templates/."""
    cat = Catalog(locale=None)
    for filename, _lineno, message, _comments, context in extract_from_dir(
        str(ROOT), METHODS, options_map={"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    ):
        if filename.startswith(("hub/", "templates/")):
            cat.add(message, locations=[], context=context)
    return cat


def load() -> Catalog:
    if not PO.exists():
        return Catalog(locale="en")
    with open(PO, "rb") as fh:
        return read_po(fh, locale="en")


def compile_mo(cat: Catalog) -> bytes:
    buf = io.BytesIO()
    write_mo(buf, cat)
    return buf.getvalue()


def missing(cat: Catalog | None = None) -> list[str]:
    """Source strings with no English translation."""
    po = cat or load()
    out = []
    for msg in extract():
        if not msg.id:
            continue
        tr = po.get(msg.id, context=msg.context)
        if tr is None or not tr.string or (isinstance(tr.string, tuple) and not all(tr.string)):
            out.append(msg.id if isinstance(msg.id, str) else msg.id[0])
    return out


def update() -> int:
    src = extract()
    po = load()
    po.update(src, no_fuzzy_matching=True)
    po.obsolete.clear()
    PO.parent.mkdir(parents=True, exist_ok=True)
    with open(PO, "wb") as fh:
        write_po(fh, po, omit_header=False, no_location=True, width=120)
    MO.write_bytes(compile_mo(load()))
    return len(missing())


def main(argv: list[str]) -> int:
    cmd = argv[1] if len(argv) > 1 else "missing"
    if cmd == "extract":
        n = update()
        print(f"{PO}: {n} untranslated")
        return 0
    todo = missing()
    for m in todo:
        print(m)
    return 1 if todo else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
