"""The one-main-account rule held by the database (a partial unique index), not only by the service's
check: two admins opening the main account of one unit on one platform at the same moment — exactly
one wins, the other gets 409 main_account_exists, never a 500. Run on PostgreSQL with
HUB_TEST_DATABASE_URL (where the two transactions really overlap) and on SQLite."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from support import Api

from hub.db import db


def test_two_concurrent_main_accounts_one_wins_the_other_gets_409(factory, client):
    factory.unit("nmg", "内蒙古自治区", kind="region")
    for round_ in range(8):
        code = f"u{round_}"
        factory.unit(code, f"第{round_}旗", parent="nmg")
        factory.user(f"admin{round_}", code, "admin")
        api = Api(client, factory.token(f"admin{round_}"))
        barrier = threading.Barrier(2)
        answers: list[tuple[int, dict]] = []

        def open_main(n: int, api: Api = api, code: str = code, barrier: threading.Barrier = barrier,
                      answers: list[tuple[int, dict]] = answers) -> None:
            barrier.wait()
            r = api.post("/accounts", json={"platform": "wechat", "name": f"发布{n}", "unit": code})
            answers.append((r.status_code, r.get_json()))

        threads = [threading.Thread(target=open_main, args=(n,)) for n in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        codes = sorted(c for c, _ in answers)
        assert codes == [201, 409], answers
        (conflict,) = [body for c, body in answers if c == 409]
        assert conflict["error"]["code"] == "main_account_exists"
        assert "只能有一个主账号" in conflict["error"]["message"]


def test_the_database_refuses_a_second_open_main_account(factory):
    factory.unit("nmg", "内蒙古自治区", kind="region")
    first = factory.account("nmg", "发布", filed=False)
    from hub.models import Account

    # A copy of the account's row (every NOT NULL column filled), with its own name, status and is_main.
    cols = [c.name for c in Account.__table__.columns if c.name not in ("id", "name", "status", "is_main")]
    insert = text(f"INSERT INTO accounts ({', '.join(cols)}, name, status, is_main) "
                  f"SELECT {', '.join(cols)}, :n, :s, :m FROM accounts WHERE id = :i")
    with pytest.raises(IntegrityError, match="uq_accounts_one_main|accounts.unit_id, accounts.platform"):
        with db.transaction() as s:
            s.execute(insert, {"i": first.id, "n": "第二个主账号", "s": "active", "m": True})
    # A second account that is not main, or a closed main one, is allowed.
    with db.transaction() as s:
        s.execute(insert, {"i": first.id, "n": "服务号", "s": "active", "m": False})
        s.execute(insert, {"i": first.id, "n": "旧主账号", "s": "closed", "m": True})



@pytest.mark.parametrize("table", ["posts", "dispatches", "filings", "accounts"])
def test_a_status_outside_its_enum_is_refused_by_the_database(world, table):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "dispatch"))
    from dispatch_helpers import approve_post

    approve_post(world["api"], world["accounts"][:1])  # a post and its dispatch (no worker: pending)
    with db.transaction() as s:
        assert s.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() > 0
    with pytest.raises(IntegrityError, match="(?i)check"):
        with db.transaction() as s:
            s.execute(text(f"UPDATE {table} SET status = 'bogus'"))
