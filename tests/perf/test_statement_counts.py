"""Every page's cost is independent of the data's size (issue 19): SQL statements per page and API read.

The instance is seeded twice with bench/seed.py's own code (units, people and filed accounts through
the services; posts, approvals, dispatches and audit entries in bulk): first small, then five times as
many posts and audit entries in the same units. Each page and API read is fetched as the role that
uses it after each seed, and the number of SQL statements it ran must not grow: a page that loads
rows per shown row (N+1) or scans what it does not show fails here.

Every page of the UI (each GET route outside /api and /static) is either measured below or named in
EXEMPT with the reason; a new page without either fails :func:`test_every_page_is_listed`.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, select

from bench.seed import Seeder
from hub.db import db

PASSWORD = "demo-pass-2026"


def _seed(app: Any, posts: int, audit: int, accounts: int) -> None:
    a = argparse.Namespace(posts=posts, audit=audit, accounts=accounts, units=6, password=PASSWORD, seed=posts,
                           years=1.0)
    sd = Seeder(app, a)
    sd.log = lambda what: None  # type: ignore[method-assign]
    sd.org()
    sd.accounts()
    sd.audit(sd.posts())


@contextmanager
def counting() -> Iterator[list[str]]:
    seen: list[str] = []

    def on(conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", on)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", on)


class Objects:
    """Ids of objects of the demo editor's unit the parameterised pages are fetched with."""

    def __init__(self) -> None:
        from hub.models import Account, Dispatch, Post, Unit, User

        s = db.session()
        editor = s.scalars(select(User).where(User.username == "editor")).one()
        unit = s.get(Unit, editor.unit_id)
        assert unit is not None
        self.unit_code = unit.code
        self.league_code = unit.parent.code if unit.parent else unit.code
        self.account = s.scalars(select(Account.id).where(Account.unit_id == unit.id).order_by(Account.id)).first()
        self.published = s.scalars(select(Post.id).where(Post.unit_id == unit.id, Post.status == "published")
                                   .order_by(Post.id.desc())).first()
        self.in_review = s.scalars(select(Post.id).where(Post.unit_id == unit.id, Post.status == "in_review",
                                                         Post.step == 0).order_by(Post.id.desc())).first()
        self.published_hash = s.scalars(select(Post).where(Post.id == self.published)).one().current_revision.hash
        self.draft = s.scalars(select(Post.id).where(Post.unit_id == unit.id, Post.status == "draft")
                               .order_by(Post.id.desc())).first()
        self.dispatch = s.scalars(select(Dispatch.id).join(Post).where(Post.unit_id == unit.id)
                                  .order_by(Dispatch.id.desc())).first()
        s.rollback()


# (endpoint, role, path) — the path from the ids of the seeded objects.
PAGES: list[tuple[str, str, Callable[[Objects], str]]] = [
    ("web.dashboard", "editor", lambda o: "/"),
    ("web.dashboard", "reviewer1", lambda o: "/"),
    ("web.dashboard", "admin", lambda o: "/"),
    ("web.dashboard", "supervisor", lambda o: "/"),
    ("web.posts.posts", "editor", lambda o: "/posts"),
    ("web.posts.posts", "supervisor", lambda o: "/posts"),
    ("web.posts.calendar_page", "editor", lambda o: "/calendar"),
    ("web.posts.calendar_page", "supervisor", lambda o: "/calendar?view=week"),
    ("web.posts.posts", "supervisor", lambda o: "/posts?q=工作的通知&status=published"),
    ("web.posts.posts", "editor", lambda o: "/posts?q=草原"),
    ("web.posts.post_page", "editor", lambda o: f"/posts/{o.published}"),
    ("web.posts.post_page", "reviewer1", lambda o: f"/posts/{o.in_review}"),
    ("web.posts.post_frame", "editor", lambda o: f"/posts/{o.published}/frame?rev={o.published_hash}"),
    ("web.posts.post_status", "editor", lambda o: f"/posts/{o.published}/status.json"),
    ("web.posts.edit_post", "editor", lambda o: f"/posts/{o.draft}/edit"),
    ("web.posts.new_post", "editor", lambda o: "/posts/new"),
    ("web.approval.review_queue", "reviewer1", lambda o: "/review"),
    ("web.approval.review_post", "reviewer1", lambda o: f"/review/{o.in_review}"),
    ("web.approval.chain_units", "admin", lambda o: "/chains"),
    ("web.approval.chain_config", "admin", lambda o: f"/units/{o.unit_code}/chain"),
    ("web.audit.audit_page", "admin", lambda o: "/audit"),
    ("web.audit.audit_page", "supervisor", lambda o: "/audit"),
    ("web.audit.accountability_page", "admin", lambda o: f"/posts/{o.published}/accountability"),
    ("web.audit.accountability_json", "admin", lambda o: f"/posts/{o.published}/accountability.json"),
    ("web.accounts.accounts", "admin", lambda o: "/accounts"),
    ("web.accounts.accounts", "supervisor", lambda o: "/accounts"),
    ("web.accounts.account_page", "admin", lambda o: f"/accounts/{o.account}"),
    ("web.accounts.account_edit", "admin", lambda o: f"/accounts/{o.account}/edit"),
    ("web.accounts.account_new", "admin", lambda o: "/accounts/new"),
    ("web.accounts.account_overdue", "admin", lambda o: "/accounts/credentials/overdue"),
    ("web.accounts.account_filings", "supervisor", lambda o: "/accounts/filings"),
    ("web.accounts.account_register", "supervisor", lambda o: "/accounts/register"),
    ("web.dispatch.dispatch_attention", "admin", lambda o: "/dispatches"),
    ("web.dispatch.dispatch_page", "admin", lambda o: f"/dispatches/{o.dispatch}"),
    ("web.dispatch.account_feed", "editor", lambda o: f"/feeds/accounts/{o.account}.atom"),
    ("web.checks.inspections", "admin", lambda o: "/inspections"),
    ("web.checks.lexicon_page", "admin", lambda o: "/lexicon"),
    ("web.oversight.monitor_page", "supervisor", lambda o: "/monitor"),
    ("web.oversight.inspections_page", "supervisor", lambda o: "/oversight/inspections"),
    ("web.oversight.rectifications_page", "supervisor", lambda o: "/oversight/rectifications"),
    ("web.interaction.inbox_page", "editor", lambda o: "/interaction"),
    ("web.interaction.qa_page", "reviewer1", lambda o: "/interaction/qa"),
    ("web.interaction.public_messages", "editor", lambda o: f"/public/units/{o.unit_code}/messages"),
    ("web.interaction.message_form", "editor", lambda o: f"/public/units/{o.unit_code}/messages/new"),
    ("web.notify.inbox_page", "reviewer1", lambda o: "/notifications"),
    ("web.notify.settings_page", "reviewer1", lambda o: "/settings/notifications"),
    ("web.notify.unit_channels_page", "admin", lambda o: f"/units/{o.unit_code}/notifications"),
    ("web.org.people_page", "admin", lambda o: "/people"),
    ("web.org.person_page", "admin", lambda o: "/people/reviewer1"),
    ("web.org.security_page", "editor", lambda o: "/me/security"),
    ("web.org.vault_page", "admin", lambda o: "/vault"),
    ("api", "editor", lambda o: "/api/v1/posts"),
    ("api", "editor", lambda o: "/api/v1/posts?q=工作的通知&limit=50"),
    ("api", "supervisor", lambda o: f"/api/v1/posts?q=草原生态保护&unit={o.unit_code}"),
    ("api", "editor", lambda o: f"/api/v1/posts/{o.published}"),
    ("api", "supervisor", lambda o: "/api/v1/calendar"),
    ("api", "editor", lambda o: f"/api/v1/posts/{o.published}/history"),
    ("api", "editor", lambda o: f"/api/v1/dispatches/{o.dispatch}"),
    ("api", "reviewer1", lambda o: "/api/v1/review/queue"),
    ("api", "admin", lambda o: "/api/v1/audit"),
    ("api", "admin", lambda o: "/api/v1/accounts"),
    ("api", "admin", lambda o: f"/api/v1/accounts/{o.account}"),
    ("api", "supervisor", lambda o: f"/api/v1/monitor?unit={o.league_code}"),
]

#: Pages not measured here, and why.
EXEMPT = {
    "web.login": "no data: the sign-in form",
    "web.set_language": "a redirect that sets the language cookie",
    "web.posts.media": "one media row by id, then its bytes",
    "web.posts.body_image": "one media row by id, then its bytes",
    "web.approval.review_frame": "one revision's rendering by key (same queries as the review page's frame)",
    "web.checks.inspection": "a daily re-scan run's findings, paged; the seed makes no re-scan runs",
    "web.checks.lexicon_export": "a download of the lexicon, whose size is the lexicon's, not the posts'",
    "web.accounts.account_register_export": "a download of the whole register (its size is the data's)",
    "web.audit.accountability_pdf": "the accountability page as PDF (same queries as the page)",
    "web.oversight.monitor_export": "a download of the 监测台 (its size is the accounts')",
    "web.oversight.inspection_page": "a quarterly inspection; the seed makes none",
    "web.oversight.public_inspection": "a published quarterly inspection by key; the seed makes none",
    "web.dispatch.wechat_callback": "WeChat's server push, not a page",
    "web.accounts.account_oauth_callback": "the platform's OAuth redirect back to the hub, not a page",
    "web.org.login_code": "the second sign-in step (TOTP), no data",
    "web.org.setup_page": "a one-time set-up link's password form, one row by token",
    "web.interaction.message_page": "one message with its answers; the seed makes no messages",
    "web.interaction.qa_entry": "one 问答库 entry; the seed makes none",
}


def _login(client: Any, username: str) -> None:
    client.get("/logout")
    r = client.post("/login", data={"username": username, "password": PASSWORD})
    assert r.status_code == 302, r.data[:300]


def _tokens() -> dict[str, str]:
    from hub.org.service import create_token

    with db.transaction() as s:
        return {role: create_token(s, role) for role in ("editor", "reviewer1", "admin", "supervisor")}


def _measure(client: Any, objs: Objects, tokens: dict[str, str]) -> dict[tuple[str, str, str], int]:
    out: dict[tuple[str, str, str], int] = {}
    current = None
    for endpoint, role, path_of in PAGES:
        if role != current:
            _login(client, role)
            current = role
        path = path_of(objs)
        headers = {"Authorization": f"Bearer {tokens[role]}"} if path.startswith("/api/") else {}
        client.get(path, headers=headers)  # warm: first-request caches (lexicon, settings) are not the page's cost
        with counting() as seen:
            r = client.get(path, headers=headers)
        assert r.status_code == 200, f"{role} {path}: {r.status_code} {r.data[:200]!r}"
        out[(endpoint, role, re.sub(r"\d+|rev=\w+", "<id>", path))] = len(seen)
    return out


@pytest.fixture
def app_nocsrf(app: Any) -> Any:
    app.config["WTF_CSRF_ENABLED"] = False
    return app


def test_statements_do_not_grow_with_the_data(app_nocsrf: Any, client: Any) -> None:
    _seed(app_nocsrf, posts=60, audit=2000, accounts=10)
    tokens = _tokens()
    small = _measure(client, Objects(), tokens)
    _seed(app_nocsrf, posts=300, audit=10000, accounts=30)
    large = _measure(client, Objects(), tokens)
    for (_e, role, path), n in sorted(large.items(), key=lambda kv: -kv[1]):
        print(f"{n:4} {small[(_e, role, path)]:4}  {role:10} {path}")  # shown with pytest -s
    grown = {k: (small[k], large[k]) for k in small if large[k] > small[k]}
    report = "\n".join(f"  {role:10} {path:45} {a} → {b} statements" for (_e, role, path), (a, b) in grown.items())
    assert not grown, "these pages run more SQL statements with more data:\n" + report


def test_every_page_is_listed(app: Any) -> None:
    listed = {e for e, _r, _p in PAGES} | set(EXEMPT)
    pages = {r.endpoint for r in app.url_map.iter_rules()
             if "GET" in (r.methods or ()) and not r.rule.startswith(("/api/", "/static", "/_"))}
    missing = sorted(pages - listed)
    assert not missing, f"pages neither measured nor exempt in {__name__}: {missing}"
