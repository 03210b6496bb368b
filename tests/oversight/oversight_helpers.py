"""Helpers for the supervision tests: posts published through the real review and dispatch path
(WeChat simulator, burst worker), the real ``hub`` CLI, and Beijing dates."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from support import ALL_CONFIRMATIONS, run_burst_worker

SHANGHAI = ZoneInfo("Asia/Shanghai")


def today() -> date:
    return datetime.now(UTC).astimezone(SHANGHAI).date()


def plus(days: int) -> str:
    return (today() + timedelta(days=days)).isoformat()


def publish(app: Any, api: dict[str, Any], account_ids: list[int], title: str = "关于做好冬季供暖保障工作的通知",
            **fields: Any) -> int:
    """A post written by ``editor``, through 三审, published on ``account_ids`` by a real worker."""
    r = api["editor"].post("/posts", json={"title": title, "content": "<p>各有关单位：请做好供暖保障。</p>",
                                           "summary": "供暖保障", "author": "旗政府办", "account_ids": account_ids,
                                           **fields})
    assert r.status_code == 201, r.get_json()
    post = r.get_json()
    assert api["editor"].post(f"/posts/{post['id']}/submit").status_code == 200
    for reviewer in ("r1", "r2", "r3"):
        r = api[reviewer].post(f"/posts/{post['id']}/approve",
                               json={"revision_hash": post["revision"]["hash"], "checks": ALL_CONFIRMATIONS})
        assert r.status_code == 200, r.get_json()
    run_burst_worker(app)
    r = api["editor"].get(f"/posts/{post['id']}")
    assert r.get_json()["status"] == "published", r.get_json()
    return int(post["id"])


def hub_cli(instance: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The real ``hub`` command on this test's instance."""
    env = dict(os.environ, **instance)
    return subprocess.run([sys.executable, "-m", "hub", *args], env=env, capture_output=True, text=True, timeout=120)


def login(client: Any, username: str) -> Any:
    """Log ``client`` in as ``username`` (the login form itself is tested elsewhere)."""
    from flask import g
    from sqlalchemy import select

    from hub.db import db
    from hub.models import User

    u = db.session().scalars(select(User).where(User.username == username)).one()
    with client.session_transaction() as sess:
        sess["_user_id"] = f"{u.id}:{u.session_version}"
        sess["_fresh"] = True
    db.session.remove()
    g.pop("_login_user", None)
    return client
