"""Overriding a blocking finding (issue 6): who may, what it unblocks, how it is recorded."""

from __future__ import annotations

from checks_helpers import BLOCK_TEXT, draft, finding  # type: ignore[import-not-found]
from support import ALL_CONFIRMATIONS  # type: ignore[import-not-found]


def test_findings_carry_stable_ids_field_and_lexicon_version(world):
    post = draft(world)
    again = world["api"]["editor"].get(f"/posts/{post['id']}").get_json()
    typo = finding(post["findings"], "typo.攻府")
    assert typo["field"] == "content" and typo["severity"] == "block" and typo["override"] is None
    assert typo["lexicon_version"].startswith("lex-")
    assert BLOCK_TEXT[typo["start"]:typo["end"]] == "攻府"
    assert [f["id"] for f in again["findings"]] == [f["id"] for f in post["findings"]]
    assert len({f["id"] for f in post["findings"]}) == len(post["findings"])


def test_reviewer_override_unblocks_that_revision_only(world):
    api = world["api"]
    post = draft(world)
    pid = post["id"]
    r = api["editor"].post(f"/posts/{pid}/submit")
    assert r.status_code == 422
    err = r.get_json()["error"]
    assert err["code"] == "blocked_by_checks"
    typo = finding(err["findings"], "typo.攻府")
    assert typo["id"]

    r = api["r1"].post(f"/posts/{pid}/findings/{typo['id']}/override",
                       json={"reason": "引用原文件标题，保持原样", "revision_hash": post["revision"]["hash"]})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["override"]["by"]["username"] == "r1" and body["override"]["reason"] == "引用原文件标题，保持原样"

    shown = api["editor"].get(f"/posts/{pid}").get_json()
    assert finding(shown["findings"], "typo.攻府")["override"]["by"]["username"] == "r1"
    assert finding(shown["findings"], "outdated.党史教育")["override"] is None  # warn: still shown

    history = api["editor"].get(f"/posts/{pid}/history").get_json()["entries"]
    entry = next(e for e in history if e["action"] == "post.finding_override")
    assert entry["actor"]["username"] == "r1" and "攻府" in entry["summary"]

    assert api["editor"].post(f"/posts/{pid}/submit").status_code == 200
    # Reject, edit: a new revision needs its own override.
    assert api["r1"].post(f"/posts/{pid}/reject", json={"reason": "请修改"}).status_code == 200
    r = api["editor"].patch(f"/posts/{pid}", json={"content": "<p>我市攻府召开会议。</p>"})
    assert r.status_code == 200
    r = api["editor"].post(f"/posts/{pid}/submit")
    assert r.status_code == 422
    assert finding(r.get_json()["error"]["findings"], "typo.攻府")["override"] is None


def test_who_may_override_and_error_order(world):
    api = world["api"]
    post = draft(world)
    pid = post["id"]
    fid = finding(post["findings"], "typo.攻府")["id"]
    warn = finding(post["findings"], "outdated.党史教育")["id"]
    url = f"/posts/{pid}/findings/{fid}/override"
    ok = {"reason": "确认无误"}
    assert api["outsider_rev"].post(url, json=ok).status_code == 404  # another unit's post
    assert api["r1"].post(f"/posts/{pid}/findings/0000000000000000/override", json=ok).status_code == 404
    r = api["editor"].post(url, json=ok)  # an editor, and the author
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "not_reviewer"
    assert api["supervisor"].post(url, json=ok).status_code == 403  # oversees, but not a reviewer or admin
    r = api["r1"].post(url, json={"reason": "x", "revision_hash": "0" * 64})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "stale_revision"
    for bad in ({}, {"reason": "  "}, {"reason": 5}, {"reason": "x" * 2001}, {"reason": "x", "extra": 1}):
        r = api["r1"].post(url, json=bad)
        assert r.status_code == 400, bad
    r = api["r1"].post(f"/posts/{pid}/findings/{warn}/override", json=ok)
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "finding_not_blocking"
    r = api["r1"].post(url, data="not json", content_type="application/json")
    assert r.status_code == 400
    # The unit's admin may override too; a second override of the same finding is 409.
    assert api["admin"].post(url, json=ok).status_code == 200
    r = api["r2"].post(url, json=ok)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "already_overridden"


def test_a_reviewer_who_edited_the_post_may_not_override(world):
    api = world["api"]
    post = draft(world)
    pid = post["id"]
    r = api["r1"].patch(f"/posts/{pid}", json={"title": "关于召开全体会议的通知"})
    assert r.status_code == 200
    fid = finding(r.get_json()["findings"], "typo.攻府")["id"]
    r = api["r1"].post(f"/posts/{pid}/findings/{fid}/override", json={"reason": "确认"})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "own_revision"
    assert api["r2"].post(f"/posts/{pid}/findings/{fid}/override", json={"reason": "确认"}).status_code == 200


def test_no_override_once_the_post_left_review(world):
    api = world["api"]
    post = draft(world, content="<p>市政府召开会议。</p><p>联系人身份证号 150102199003071237。</p>")
    pid = post["id"]
    pii = finding(post["findings"], "pii.id_card")
    assert pii["severity"] == "block"
    url = f"/posts/{pid}/findings/{pii['id']}/override"
    assert api["r1"].post(url, json={"reason": "本人同意公开"}).status_code == 200
    assert api["editor"].post(f"/posts/{pid}/submit").status_code == 200
    h = post["revision"]["hash"]
    for who in ("r1", "r2", "r3"):
        assert api[who].post(f"/posts/{pid}/approve", json={"revision_hash": h, "checks": ALL_CONFIRMATIONS}).status_code == 200
    r = api["admin"].post(url, json={"reason": "再次豁免"})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_overridable"


def test_openapi_describes_the_area(world, client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "/posts/{id}/findings/{fid}/override" in paths and "post" in paths["/posts/{id}/findings/{fid}/override"]
    assert {"/lexicon", "/lexicon/entries", "/lexicon/import", "/scans", "/inspection-alerts"} <= set(paths)
    assert {"/scans", "/check-alerts"} <= set(paths)  # the old paths, kept as deprecated aliases
    assert "/checks" in paths  # unchanged
