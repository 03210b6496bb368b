"""Who may read the trail: GET /api/v1/audit, /audit/verify and /posts/<id>/history."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support import shanghai_day  # type: ignore[import-not-found]

from hub.db import db


def _post(world: Any) -> dict[str, Any]:
    api = world["api"]
    r = api["editor"].post("/posts", json={"title": "关于开展植树活动的通知", "content": "<p>植树节活动安排。</p>",
                                           "account_ids": world["accounts"][:1]})
    assert r.status_code == 201, r.get_json()
    post = r.get_json()
    assert api["editor"].post(f"/posts/{post['id']}/submit").status_code == 200
    return post


def _all(api: Any, **params: Any) -> list[dict[str, Any]]:
    out, after = [], 0
    while True:
        q = "&".join(f"{k}={v}" for k, v in {"after": after, **params}.items())
        r = api.get(f"/audit?{q}")
        assert r.status_code == 200, r.get_json()
        body = r.get_json()
        out.extend(body["entries"])
        if body["next_after"] is None:
            return out
        after = body["next_after"]


@pytest.mark.parametrize("who", ["editor", "r1", "outsider", "outsider_rev"])
def test_editors_and_reviewers_get_403(world: Any, who: str) -> None:
    for path in ("/audit", "/audit/verify"):
        r = world["api"][who].get(path)
        assert r.status_code == 403, (who, path)
        assert r.get_json()["error"]["code"] == "not_auditor"


def test_no_token_is_401(client: Any, world: Any) -> None:
    assert client.get("/api/v1/audit").status_code == 401
    assert client.get("/api/v1/audit", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_admin_sees_own_unit_subtree_only(world: Any) -> None:
    _post(world)
    entries = _all(world["api"]["admin"])
    assert entries and {e["unit"] for e in entries} == {"cbeh"}
    assert {"post.create", "post.submit"} <= {e["action"] for e in entries}


def test_supervisor_sees_subtree(world: Any) -> None:
    _post(world)
    units = {e["unit"] for e in _all(world["api"]["supervisor"])}
    assert {"hlbe", "cbeh", "other"} <= units
    assert "nmg" not in units and "" not in units


def test_top_level_supervisor_also_sees_instance_wide_entries(world: Any, factory: Any) -> None:
    from support import Api  # type: ignore[import-not-found]

    factory.user("regional", "nmg", "supervisor")
    api = Api(world["api"]["editor"].client, factory.token("regional"))
    units = {e["unit"] for e in _all(api)}
    assert {"nmg", "hlbe", "cbeh", "other", ""} <= units


def test_entries_carry_the_chain_fields_and_design_fields(world: Any) -> None:
    _post(world)
    e = world["api"]["admin"].get("/audit").get_json()["entries"][0]
    for key in ("seq", "at", "actor", "action", "object_type", "object_id", "unit", "summary",
                "ip", "user_agent", "details", "prev_hash", "hash"):
        assert key in e
    assert set(e["actor"]) >= {"id", "username", "name", "unit"}
    assert len(e["hash"]) == 64 and len(e["prev_hash"]) == 64


def test_paging_with_next_after(world: Any) -> None:
    _post(world)
    api = world["api"]["supervisor"]
    whole = api.get("/audit?limit=1000").get_json()
    assert whole["next_after"] is None
    paged = _all(api, limit=3)
    assert [e["seq"] for e in paged] == [e["seq"] for e in whole["entries"]]
    assert [e["seq"] for e in paged] == sorted({e["seq"] for e in paged})
    first = api.get("/audit?limit=2").get_json()
    assert len(first["entries"]) == 2 and first["next_after"] == first["entries"][-1]["seq"]
    assert api.get("/audit").get_json()["entries"][0]["seq"] == whole["entries"][0]["seq"]


@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "limit=abc", "after=-1", "after=x", "from=2026-13-01",
                                   "from=2026-03-02&to=2026-03-01"])
def test_bad_paging_or_filter_is_400(world: Any, query: str) -> None:
    r = world["api"]["admin"].get(f"/audit?{query}")
    assert r.status_code == 400, query
    assert r.get_json()["error"]["code"] in ("invalid_paging", "invalid_date")


def test_limit_1000_is_allowed(world: Any) -> None:
    assert world["api"]["admin"].get("/audit?limit=1000").status_code == 200


def test_filters(world: Any) -> None:
    post = _post(world)
    api = world["api"]["supervisor"]
    assert {e["action"] for e in _all(api, action="post.create")} == {"post.create"}
    assert {e["action"] for e in _all(api, action="post.")} >= {"post.create", "post.submit"}
    assert {e["actor"]["username"] for e in _all(api, actor="editor")} <= {"editor", "editor2"}
    mine = _all(api, object_type="post", object_id=post["id"])
    assert [e["action"] for e in mine] == ["post.create", "post.submit"]
    assert {e["unit"] for e in _all(api, unit="other")} == {"other"}
    assert _all(world["api"]["admin"], unit="other") == []  # outside the admin's subtree
    assert _all(world["api"]["admin"], unit="nosuch") == []
    today = shanghai_day(post["created_at"])  # the filter takes Asia/Shanghai dates
    assert len(_all(api, object_type="post", object_id=post["id"], **{"from": today, "to": today})) == 2
    assert _all(api, object_type="post", object_id=post["id"], **{"from": "2000-01-01", "to": "2000-01-02"}) == []


def test_verify_endpoint(world: Any) -> None:
    body = world["api"]["admin"].get("/audit/verify").get_json()
    assert body["ok"] is True and body["entries"] > 0 and body["head"]["seq"] == body["entries"]
    assert world["api"]["supervisor"].get("/audit/verify").get_json()["ok"] is True


def test_post_history_for_anyone_who_may_see_the_post(world: Any) -> None:
    post = _post(world)
    for who in ("editor", "editor2", "r1", "admin", "supervisor"):
        r = world["api"][who].get(f"/posts/{post['id']}/history")
        assert r.status_code == 200, who
        assert [e["action"] for e in r.get_json()["entries"]] == ["post.create", "post.submit"]
    for who in ("outsider", "outsider_rev"):
        assert world["api"][who].get(f"/posts/{post['id']}/history").status_code == 404, who
    assert world["api"]["editor"].get("/posts/999999/history").status_code == 404


def test_listing_range_verifies_independently(world: Any, factory: Any, tmp_path: Any) -> None:
    """A top-level supervisor's listing is the whole trail; the inspector script verifies it without the hub."""
    import json
    import subprocess
    import sys

    from support import Api  # type: ignore[import-not-found]

    factory.user("regional2", "nmg", "supervisor")
    api = Api(world["api"]["editor"].client, factory.token("regional2"))
    _post(world)
    entries = _all(api, limit=7)
    db.session.remove()
    path = tmp_path / "listing.jsonl"
    path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries), encoding="utf-8")
    script = Path(__file__).resolve().parents[2] / "docs" / "verify_export.py"
    ok = subprocess.run([sys.executable, str(script), str(path)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    entries[3]["summary"] = "被改过"
    path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries), encoding="utf-8")
    bad = subprocess.run([sys.executable, str(script), str(path)], capture_output=True, text=True)
    assert bad.returncode == 1 and f"seq {entries[3]['seq']}" in bad.stdout
