"""The hash definition: the fast encoder equals the documented canonical body; secrets stay out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from hub import audit


@pytest.mark.parametrize("actor_id", [None, 0, 42])
@pytest.mark.parametrize("text", ["", "普通摘要", 'quote " backslash \\ slash /', "line\nbreak\ttab\x01ctl",
                                  "emoji 😀 and \u2028 separator", "<script>&amp;",
                                  "del \x7f nbsp \xa0 soft\xadhyphen", "\x1f"])
def test_fast_body_equals_canonical_body(actor_id: Any, text: str) -> None:
    details = audit.canonical({"b": [1, 2.5, None, True], "a": text, "n": {"z": 1e16, "y": "值"}}).decode()
    args = (12, datetime(2026, 3, 4, 5, 6, 7, 890), actor_id, "user" + text, text, "cbeh", "::1", text,
            "post.approve", "post", "17", "cbeh", text, details)
    assert audit.body_bytes(*args) == audit.canonical(audit.body_of(*args))
    # The verifier gets the time as text: formatted (PostgreSQL), or as SQLite stores it.
    assert audit.body_bytes(12, "2026-03-04T05:06:07.000890", *args[2:]) == audit.body_bytes(*args)
    assert audit.body_bytes(12, "2026-03-04 05:06:07.00089", *args[2:]) == audit.body_bytes(*args)
    assert audit.hash_bytes("a" * 64, audit.body_bytes(*args)) == audit.compute_hash("a" * 64, audit.body_of(*args))


def test_secrets_never_reach_details() -> None:
    scrubbed = audit.scrub({"app_secret": "s3cr3t", "password": "p", "nested": {"access_token": "t"},
                            "fields_set": ["app_secret"], "token_prefix": "abcd"})
    assert scrubbed == {"app_secret": "[redacted]", "password": "[redacted]", "nested": {"access_token": "[redacted]"},
                        "fields_set": ["app_secret"], "token_prefix": "abcd"}


def test_time_text_that_is_no_time_is_kept_so_it_cannot_match() -> None:
    assert audit.format_time("2026-03-04 05:06:07") == "2026-03-04T05:06:07.000000Z"
    assert audit.format_time("yesterday") == "yesterdayZ"
    assert b'"at":"yesterdayZ"' in audit.body_bytes(1, "yesterday", None, "u", "", "", "", "", "a", "", "", "", "",
                                                   "{}")
