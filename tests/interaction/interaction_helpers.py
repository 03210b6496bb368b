"""Helpers of the interaction tests."""

from __future__ import annotations

from typing import Any

import requests

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
TOKEN = "cbtoken16"


def follower_says(world: dict[str, Any], content: str, openid: str = "o_follower_1", **kw: Any) -> dict[str, Any]:
    r = requests.post(world["sim"].base + "/_sim/user_message",
                      json={"appid": "wx_main", "openid": openid, "content": content, **kw}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def inbox(world: dict[str, Any], status: str = "") -> list[dict[str, Any]]:
    r = world["api"]["editor"].get("/messages", query_string={"unit": "cbeh", **({"status": status} if status else {})})
    assert r.status_code == 200, r.get_json()
    return r.get_json()["messages"]
