"""Helpers for browser tests (importable by every browser test module)."""

from __future__ import annotations

from typing import Any

PASSWORD = "test-password-123"


def login(page: Any, base: str, username: str, password: str = PASSWORD) -> None:
    """Log in through the login form and wait until we are past it."""
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


def logout(page: Any) -> None:
    page.click("header form button[type=submit]")
    page.wait_for_url(lambda url: "/login" in url)
