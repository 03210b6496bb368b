"""Helpers for the people and sign-in tests: the real sign-in form, pages' CSRF tokens."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from support import PASSWORD  # type: ignore[import-not-found]


def csrf(client: Any, path: str = "/login") -> str:
    html = client.get(path).get_data(as_text=True)
    m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert m, html[:400]
    return m.group(1)


def sign_in(client: Any, username: str, password: str = PASSWORD, next_: str = "") -> Any:
    url = "/login" + (f"?next={quote(next_, safe='')}" if next_ else "")
    return client.post(url, data={"username": username, "password": password, "csrf_token": csrf(client, url)})


def sign_out(client: Any) -> None:
    client.post("/logout", data={"csrf_token": csrf(client, "/")})


def post_form(client: Any, path: str, data: dict[str, Any], page: str | None = None) -> Any:
    return client.post(path, data={**data, "csrf_token": csrf(client, page or path)})


def link_token(html: str) -> str:
    m = re.search(r'data-testid="setup-link">https?://[^<]*/setup/([A-Za-z0-9_-]+)<', html)
    assert m, html[:2000]
    return m.group(1)
