"""No inline script or style in any template: the pages' CSP has no 'unsafe-inline'."""

from __future__ import annotations

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def test_no_inline_script_or_style_remains():
    bad = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"<script\b[^>]*>", text, re.IGNORECASE):
            if not re.search(r"\bsrc\s*=", m.group(0)):
                bad.append(f"{path.name}: inline {m.group(0)}")
        for pattern in (r"<style\b", r"\sstyle\s*=", r"\son[a-z]+\s*=\s*[\"']", r"javascript:", r"\ssrcdoc\s*="):
            for m in re.finditer(pattern, text, re.IGNORECASE):
                bad.append(f"{path.name}: {m.group(0).strip()}")
    assert not bad, "\n".join(bad)


def test_page_policy_has_no_unsafe_inline(world, client):
    csp = client.get("/login").headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "style-src 'self';" in csp and "script-src 'self';" in csp
