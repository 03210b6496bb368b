"""The filings due to a supervisor are found with a bounded number of queries, however many are open
(issue 20: ~620 open filings made one account page take seconds and a dashboard 22 s)."""

from __future__ import annotations

from checks.checks_helpers import login
from sqlalchemy import event

from hub.db import db


class Counter:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self, *a, **kw) -> None:
        self.n += 1


def _queries(client, url: str) -> tuple[int, str]:
    c = Counter()
    event.listen(db.engine, "before_cursor_execute", c)
    try:
        r = client.get(url)
    finally:
        event.remove(db.engine, "before_cursor_execute", c)
    assert r.status_code == 200, url
    return c.n, r.get_data(as_text=True)


def _open(factory, n: int, start: int) -> int:
    last = 0
    for i in range(start, start + n):
        last = factory.account("banner", f"政务号{i}", is_main=False, justification="专项工作", filed=False).id
    return last


def test_filings_due_queries_do_not_grow_with_open_filings(app, factory, client):
    factory.unit("region", "自治区", kind="region")
    factory.unit("league", "盟", parent="region", kind="league")
    factory.unit("banner", "旗", parent="league", kind="banner")
    factory.unit("elsewhere", "另一盟", parent="region", kind="league")
    factory.user("sup", "banner", "supervisor")
    factory.user("adm", "banner", "admin")
    factory.user("sup_else", "elsewhere", "supervisor")
    first = _open(factory, 3, 0)
    web = login(client, "sup")
    counts_small = {u: _queries(web, u)[0] for u in ("/", "/accounts/filings", f"/accounts/{first}")}
    last = _open(factory, 40, 3)
    counts_big = {}
    for u in ("/", "/accounts/filings", f"/accounts/{last}"):
        counts_big[u], html = _queries(web, u)
        if u == "/accounts/filings":
            assert "政务号42" in html and "政务号0" in html  # every filing due is still listed
    for small, big in zip(counts_small.values(), counts_big.values(), strict=True):
        assert big <= small + 2, (counts_small, counts_big)
    # Someone who supervises nowhere on the path has nothing due and pays nothing for the others.
    other = login(app.test_client(), "sup_else")
    n, html = _queries(other, "/accounts/filings")
    assert "政务号42" not in html
    admin = login(app.test_client(), "adm")
    n_admin, _html = _queries(admin, "/")
    assert n_admin < 40
