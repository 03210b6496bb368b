"""Helpers for the content-check tests: drafts, published posts, web sessions."""

from __future__ import annotations

import re
from typing import Any

from flask import g
from sqlalchemy import select
from support import ALL_CONFIRMATIONS, run_burst_worker  # type: ignore[import-not-found]

from hub.db import db
from hub.models import User

BLOCK_TEXT = "<p>市攻府召开会议，部署党史教育工作。</p>"  # 攻府: block typo; 党史教育: warn (outdated)


def draft(world: dict[str, Any], content: str = BLOCK_TEXT, title: str = "关于召开会议的通知",
          who: str = "editor") -> dict[str, Any]:
    r = world["api"][who].post("/posts", json={"title": title, "content": content,
                                               "account_ids": world["accounts"][:1]})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def finding(findings: list[dict[str, Any]], rule: str) -> dict[str, Any]:
    return next(f for f in findings if f["rule"] == rule)


def publish(world: dict[str, Any], app: Any, content: str, title: str = "关于开展森林防火宣传的通知") -> dict[str, Any]:
    """Create, submit, approve three times and publish through the simulator."""
    api = world["api"]
    post = draft(world, content, title)
    assert api["editor"].post(f"/posts/{post['id']}/submit").status_code == 200
    h = post["revision"]["hash"]
    for who in ("r1", "r2", "r3"):
        r = api[who].post(f"/posts/{post['id']}/approve", json={"revision_hash": h, "checks": ALL_CONFIRMATIONS})
        assert r.status_code == 200, r.get_json()
    run_burst_worker(app)
    out = api["editor"].get(f"/posts/{post['id']}").get_json()
    assert out["status"] == "published", out
    return out


def login(client: Any, username: str) -> Any:
    """Log ``client`` in as ``username`` (the login form itself is tested elsewhere)."""
    u = db.session().scalars(select(User).where(User.username == username)).one()
    with client.session_transaction() as sess:
        sess["_user_id"] = f"{u.id}:{u.session_version}"
        sess["_fresh"] = True
    db.session.remove()
    g.pop("_login_user", None)
    return client


def csrf_token(html: str) -> str:
    m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html)
    assert m, html[:500]
    return m.group(1)
