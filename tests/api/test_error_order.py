"""Status order of docs/design.md §8: 401, 404, 403, 409, 400/422 — and bad input changes nothing."""

from __future__ import annotations

import pytest
from support import ALL_CONFIRMATIONS


def _post(world, **kw):
    body = {"title": "关于召开全旗安全生产工作会议的通知", "content": "<p>定于下周一召开会议。</p>",
            "account_ids": world["accounts"][:1]}
    body.update(kw)
    r = world["api"]["editor"].post("/posts", json=body)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def _submitted(world):
    p = _post(world)
    assert world["api"]["editor"].post(f"/posts/{p['id']}/submit").status_code == 200
    return p


def _err(r, status, code=None):
    assert r.status_code == status, (r.status_code, r.get_json())
    body = r.get_json()
    assert set(body) == {"error"} and body["error"]["message"]
    if code:
        assert body["error"]["code"] == code, body
    return body["error"]


def test_401_without_or_with_bad_token(world, client):
    _err(client.get("/api/v1/posts/1"), 401)
    _err(client.get("/api/v1/posts/1", headers={"Authorization": "Bearer nope"}), 401)
    _err(client.post("/api/v1/posts/1/approve", json={}, headers={"Authorization": "Basic x"}), 401)
    # 401 wins even for objects that do not exist.
    _err(client.get("/api/v1/posts/999999"), 401)


def test_openapi_is_public(client):
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    spec = r.get_json()
    assert spec["openapi"].startswith("3.")
    assert "/posts/{id}/approve" in spec["paths"]


def test_404_for_another_units_post_beats_403(world):
    p = _submitted(world)
    # An editor of another unit cannot even see it: 404, although they could never approve (403).
    _err(world["api"]["outsider"].post(f"/posts/{p['id']}/approve", json={}), 404, "post_not_found")
    _err(world["api"]["outsider_rev"].get(f"/posts/{p['id']}"), 404)
    _err(world["api"]["outsider"].patch(f"/posts/{p['id']}", json={"title": "x"}), 404)
    _err(world["api"]["editor"].get("/posts/999999"), 404)


def test_403_editor_approving_and_author_approving(world):
    p = _submitted(world)
    # An editor can never approve: 403 even with a wrong body and a stale hash.
    _err(world["api"]["editor2"].post(f"/posts/{p['id']}/approve", json={"revision_hash": "x"}), 403)
    _err(world["api"]["editor"].post(f"/posts/{p['id']}/approve", json={}), 403)


def test_403_reviewer_who_edited_may_not_approve(world):
    p = _post(world)
    r = world["api"]["r1"].patch(f"/posts/{p['id']}", json={"summary": "审核人补充摘要"})
    assert r.status_code == 200
    h = r.get_json()["revision"]["hash"]
    world["api"]["editor"].post(f"/posts/{p['id']}/submit")
    _err(world["api"]["r1"].post(f"/posts/{p['id']}/approve", json={"revision_hash": h, "checks": ALL_CONFIRMATIONS}),
         403, "own_revision")
    assert world["api"]["r2"].post(f"/posts/{p['id']}/approve",
                                   json={"revision_hash": h, "checks": ALL_CONFIRMATIONS}).status_code == 200


def test_409_states(world):
    p = _post(world)
    h = p["revision"]["hash"]
    # Not in review yet: 409 beats the missing body (400).
    _err(world["api"]["r1"].post(f"/posts/{p['id']}/approve", json={}), 409, "not_in_review")
    world["api"]["editor"].post(f"/posts/{p['id']}/submit")
    _err(world["api"]["editor"].post(f"/posts/{p['id']}/submit"), 409)
    # Stale hash: 409.
    _err(world["api"]["r1"].post(f"/posts/{p['id']}/approve",
                                 json={"revision_hash": "0" * 64, "checks": ALL_CONFIRMATIONS}), 409, "stale_revision")
    assert world["api"]["r1"].post(f"/posts/{p['id']}/approve",
                                   json={"revision_hash": h, "checks": ALL_CONFIRMATIONS}).status_code == 200
    # The same person cannot take a second step of the same revision.
    _err(world["api"]["r1"].post(f"/posts/{p['id']}/approve", json={"revision_hash": h, "checks": ALL_CONFIRMATIONS}),
         409, "already_acted")


@pytest.mark.parametrize("body,code", [
    ({}, "missing_revision_hash"),
    ({"checks": ALL_CONFIRMATIONS}, "missing_revision_hash"),
    ({"revision_hash": "HASH"}, "missing_checks"),
    ({"revision_hash": "HASH", "checks": {"political": True}}, "missing_checks"),
    ({"revision_hash": "HASH", "checks": {**ALL_CONFIRMATIONS, "legal": "yes"}}, "invalid_checks"),
])
def test_400_approve_body(world, body, code):
    p = _submitted(world)
    body = {k: (p["revision"]["hash"] if v == "HASH" else v) for k, v in body.items()}
    _err(world["api"]["r1"].post(f"/posts/{p['id']}/approve", json=body), 400, code)
    after = world["api"]["editor"].get(f"/posts/{p['id']}").get_json()
    assert after["status"] == "in_review" and after["approvals"] == []


def test_422_unconfirmed_check(world):
    p = _submitted(world)
    r = world["api"]["r1"].post(f"/posts/{p['id']}/approve", json={
        "revision_hash": p["revision"]["hash"], "checks": {**ALL_CONFIRMATIONS, "secrecy": False}})
    assert "保密关" in _err(r, 422, "checks_not_confirmed")["message"]


def test_reject_needs_reason_and_returns_to_editor(world):
    p = _submitted(world)
    _err(world["api"]["r1"].post(f"/posts/{p['id']}/reject", json={}), 400, "missing_reason")
    r = world["api"]["r1"].post(f"/posts/{p['id']}/reject", json={"reason": "标题不规范"})
    assert r.status_code == 200 and r.get_json()["status"] == "rejected"
    assert world["api"]["editor"].post(f"/posts/{p['id']}/submit").status_code == 200


@pytest.mark.parametrize("body,status", [
    ({"content": "<p>x</p>", "account_ids": [1]}, 400),
    ({"title": "", "content": "<p>x</p>", "account_ids": [1]}, 400),
    ({"title": "t", "content": "<p>x</p>", "account_ids": []}, 400),
    ({"title": "t", "content": "<p>x</p>", "account_ids": "1"}, 400),
    ({"title": "t", "content": "<p>x</p>", "account_ids": [424242]}, 422),
    ({"title": "t", "content": "<p>x</p>", "account_ids": ["A"], "publish_at": "soon"}, 400),
    ({"title": "t", "content": "<p>x</p>", "account_ids": [1], "publish_at": "next tuesday"}, 400),
    ({"title": "t", "content": "<p>x</p>", "account_ids": [1], "cover": "data:image/png;base64,!!"}, 422),
    ({"title": "t", "content": "<p>x</p>", "account_ids": [1], "variants": {"wechat": "x"}}, 400),
    ({"title": "t", "content": "<p>x</p>", "account_ids": [1], "bogus": 1}, 400),
    ({"title": "这是一个非常非常非常非常非常非常非常非常长的超过公众号后台六十四个字上限的微信标题呀" * 2,
      "content": "<p>x</p>", "account_ids": [1]}, 422),
])
def test_bad_post_bodies_change_nothing(world, body, status):
    if body.get("account_ids") == [1]:
        body["account_ids"] = world["accounts"][:1]
    api = world["api"]["editor"]
    before = len(api.get("/posts").get_json()["posts"])
    r = api.post("/posts", json=body)
    _err(r, status)
    assert len(api.get("/posts").get_json()["posts"]) == before


def test_not_json_and_not_object(world, client):
    api = world["api"]["editor"]
    r = client.post("/api/v1/posts", data="{oops", headers={"Authorization": f"Bearer {api.token}",
                                                            "Content-Type": "application/json"})
    _err(r, 400, "invalid_json")
    _err(api.post("/posts", json=[1, 2]), 400)


def test_targeting_inactive_account_is_409(world, app):
    from hub.db import db
    from hub.models import Account

    with db.transaction() as s:
        s.get(Account, world["accounts"][1]).status = "suspended"
    _err(world["api"]["editor"].post("/posts", json={
        "title": "t", "content": "<p>x</p>", "account_ids": world["accounts"]}), 409, "account_not_active")


def test_cover_data_url_and_script_sanitised(world):
    import base64
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (200, 100), (200, 30, 30)).save(buf, "PNG")
    cover = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    p = _post(world, cover=cover, content='<p onclick="x()">正文<script>alert(1)</script></p>')
    full = world["api"]["editor"].get(f"/posts/{p['id']}").get_json()
    assert "<script" not in full["revision"]["content"] and "onclick" not in full["revision"]["content"]
    assert isinstance(full["revision"]["cover"], int)


def test_accounts_api(world):
    admin = world["api"]["admin"]
    r = admin.get(f"/accounts/{world['accounts'][0]}")
    assert r.status_code == 200
    acc = r.get_json()
    assert acc["credentials"]["app_secret"]["set"] is True
    assert "secret-main" not in r.get_data(as_text=True)
    _err(admin.post("/accounts", json={"platform": "wechat", "name": "第二个主账号", "unit": "cbeh"}), 409,
         "main_account_exists")
    _err(admin.post("/accounts", json={"platform": "wechat", "name": "副号", "unit": "cbeh", "is_main": False}),
         422, "missing_justification")
    _err(admin.post("/accounts", json={"platform": "wechat", "name": "x", "unit": "cbeh", "is_main": False,
                                        "justification": "j", "api_base": "http://example.com"}), 422)
    _err(admin.put(f"/accounts/{world['accounts'][0]}/credentials", json={"nope": "x"}), 400)
    _err(world["api"]["editor"].put(f"/accounts/{world['accounts'][0]}/credentials",
                                    json={"app_secret": "x"}), 403)
    r = admin.post(f"/accounts/{world['accounts'][0]}/credentials/verify")
    assert r.status_code == 200 and r.get_json()["ok"] is True
    r = admin.put(f"/accounts/{world['accounts'][0]}/credentials", json={"app_secret": "wrong-secret"})
    assert r.status_code == 200 and "wrong-secret" not in r.get_data(as_text=True)
    r = admin.post(f"/accounts/{world['accounts'][0]}/credentials/verify", json={})
    assert r.get_json()["ok"] is False and "AppSecret" in r.get_json()["message"]
