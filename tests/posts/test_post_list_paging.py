"""Post lists page past 200 rows with keyset cursors (issues 17 and 19), on the web page and the API."""

from __future__ import annotations

import argparse
import re
from typing import Any

from sqlalchemy import func, select

from bench.seed import Seeder
from hub.db import db
from hub.models import Post, User

PASSWORD = "demo-pass-2026"


def _seed(app: Any, posts: int) -> None:
    sd = Seeder(app, argparse.Namespace(posts=posts, audit=0, accounts=3, units=3, password=PASSWORD, seed=3,
                                        years=1.0))
    sd.log = lambda what: None  # type: ignore[method-assign]
    sd.org()
    sd.accounts()
    sd.audit(sd.posts())


def _token(username: str) -> str:
    from hub.org.service import create_token

    with db.transaction() as s:
        return create_token(s, username)


def test_api_pages_past_200_rows_newest_first(app: Any, client: Any) -> None:
    _seed(app, 260)
    s = db.session()
    editor = s.scalars(select(User).where(User.username == "editor")).one()
    total = s.scalar(select(func.count()).select_from(Post).where(Post.unit_id == editor.unit_id))
    assert total and total > 200
    h = {"Authorization": f"Bearer {_token('editor')}"}
    seen: list[int] = []
    after = None
    while True:
        r = client.get("/api/v1/posts", query_string={"limit": 90, **({"after": after} if after else {})}, headers=h)
        assert r.status_code == 200, r.json
        body = r.json
        seen += [p["id"] for p in body["posts"]]
        after = body["next_after"]
        if after is None:
            break
    assert len(seen) == len(set(seen)) == total
    assert seen == sorted(seen, reverse=True)
    only = client.get("/api/v1/posts", query_string={"status": "published", "limit": 200}, headers=h).json["posts"]
    assert only and all(p["status"] == "published" for p in only)


def test_api_refuses_a_bad_cursor_or_limit(app: Any, client: Any) -> None:
    _seed(app, 5)
    h = {"Authorization": f"Bearer {_token('editor')}"}
    r = client.get("/api/v1/posts?after=not-a-cursor", headers=h)
    assert r.status_code == 400 and r.json["error"]["code"] == "invalid_cursor"
    for bad in ("0", "201", "x"):
        r = client.get(f"/api/v1/posts?limit={bad}", headers=h)
        assert r.status_code == 400 and r.json["error"]["code"] == "invalid_limit"


def test_the_posts_page_has_a_next_page_link_until_the_end(app: Any, client: Any) -> None:
    _seed(app, 230)
    app.config["WTF_CSRF_ENABLED"] = False
    assert client.post("/login", data={"username": "editor", "password": PASSWORD}).status_code == 302
    s = db.session()
    editor = s.scalars(select(User).where(User.username == "editor")).one()
    total = s.scalar(select(func.count()).select_from(Post).where(Post.unit_id == editor.unit_id))
    url, ids, pages = "/posts", [], 0
    while url:
        html = client.get(url).get_data(as_text=True)
        pages += 1
        ids += re.findall(r'href="/posts/(\d+)"', html)
        m = re.search(r'href="(/posts\?[^"]*after=[^"]+)">下一页', html)
        url = m.group(1).replace("&amp;", "&") if m else ""
        assert pages < 20
    assert pages > 1 and len(ids) == len(set(ids)) == total
    assert "回到第一页" in html  # the last page leads back to the first
    # A stale or edited cursor starts again at the first page instead of failing.
    assert client.get("/posts?after=garbage").status_code == 200
