"""The UI is Chinese first; the English catalog must be complete and compiled."""

from __future__ import annotations

import re

from hub import i18n


def test_every_ui_string_has_an_english_translation():
    assert i18n.missing() == [], "run `make translations` and translate the new strings"


def test_placeholders_survive_translation():
    for msg in i18n.load():
        if msg.id and msg.string and isinstance(msg.id, str):
            assert sorted(re.findall(r"%\(\w+\)s", msg.id)) == sorted(re.findall(r"%\(\w+\)s", msg.string)), msg.id


def test_compiled_catalog_is_current():
    assert i18n.MO.read_bytes() == i18n.compile_mo(i18n.load()), "run `make translations` to recompile"


def test_english_pages(world, client):
    from support import PASSWORD

    client.get("/lang/en")
    html = client.get("/login").get_data(as_text=True)
    assert "Sign in" in html and "登录" not in html.split("<footer")[0].split("</header>")[1]
    import re as _re

    token = _re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    client.post("/login", data={"username": "editor", "password": PASSWORD, "csrf_token": token})
    page = client.get("/").get_data(as_text=True)
    assert "Dashboard" in page and "My drafts" in page  # an editor: drafts, no review queue
