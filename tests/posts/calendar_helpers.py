"""Helpers for the calendar tests: an approved post scheduled at a Beijing time, and a web sign-in."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from support import PASSWORD

SHANGHAI = ZoneInfo("Asia/Shanghai")
ALL_CONFIRMATIONS = {"political": True, "legal": True, "policy": True, "secrecy": True, "wording": True}


def beijing_days_ahead(days: int, hour: int = 10, minute: int = 30) -> datetime:
    """A Beijing time ``days`` days from today (aware)."""
    d = datetime.now(SHANGHAI).date() + timedelta(days=days)
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=SHANGHAI)


def scheduled_post(world: dict[str, Any], title: str, at: datetime | None, approve: bool = True,
                   account: int = 0) -> int:
    """A post by ``editor`` to one account, publish_at ``at``, approved through the chain (or only submitted)."""
    api = world["api"]
    body: dict[str, Any] = {"title": title, "content": f"<p>{title}的正文。</p>",
                            "account_ids": [world["accounts"][account]]}
    if at is not None:
        body["publish_at"] = at.isoformat()
    r = api["editor"].post("/posts", json=body)
    assert r.status_code == 201, r.get_json()
    post = r.get_json()
    assert api["editor"].post(f"/posts/{post['id']}/submit").status_code == 200
    if approve:
        for name in ("r1", "r2", "r3"):
            r = api[name].post(f"/posts/{post['id']}/approve",
                               json={"revision_hash": post["revision"]["hash"], "checks": ALL_CONFIRMATIONS})
            assert r.status_code == 200, r.get_json()
            if r.get_json()["status"] != "in_review":
                break
    return int(post["id"])


def web_login(client: Any, username: str) -> None:
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert token
    r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)})
    assert r.status_code == 302


def csrf_of(html: str) -> str:
    m = re.search(r'id="cal-csrf" value="([^"]+)"', html)
    assert m, html[:300]
    return m.group(1)
