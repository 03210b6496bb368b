"""The editor's per-platform preview endpoint (issue 5): problems come from the real adapters'
validate(), per platform of the ticked accounts; session login and own-unit accounts only."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from hub import audit
from hub.db import db
from hub.models import Unit

PASSWORD = "test-password-123"
URL = "/posts/platform-preview"


def _csrf(client: Any, path: str = "/login") -> str:
    html = client.get(path).get_data(as_text=True)
    m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert m
    return m.group(1)


def _login(client: Any, username: str) -> str:
    r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": _csrf(client)})
    assert r.status_code == 302
    return _csrf(client, "/posts/new")


def _account(unit: str, platform: str, name: str) -> int:
    from hub.accounts.filing import approve_through_chain
    from hub.accounts.service import create_account

    with db.transaction() as s:
        token = audit.current_actor.set(audit.Actor.system("test"))
        try:
            acc = create_account(s, None, {"platform": platform, "name": name, "unit": unit,
                                           "api_base": "http://127.0.0.1:9", "is_main": False,
                                           "justification": "测试"})
            approve_through_chain(s, acc)
            assert s.scalars(select(Unit).where(Unit.code == unit)).one()
            return acc.id
        finally:
            audit.current_actor.reset(token)


def _preview(client: Any, token: str, **body: Any) -> Any:
    return client.post(URL, json=body, headers={"X-CSRFToken": token})


def test_too_long_wechat_title_is_a_problem(world, client):
    token = _login(client, "editor")
    r = _preview(client, token, title="标" * 70, content="<p>正文</p>", account_ids=world["accounts"])
    assert r.status_code == 200, r.get_data(as_text=True)
    data = r.get_json()
    assert [p["platform"] for p in data["platforms"]] == ["wechat"]
    wechat = data["platforms"][0]
    assert wechat["problems"] == ["微信标题不得超过 64 字（现为 70 字）"]
    assert wechat["limits"]["title"] == 64 and wechat["counts"]["title"] == 70
    assert sorted(a["id"] for a in wechat["accounts"]) == sorted(world["accounts"])
    assert wechat["preview"]["title"] == "标" * 70 and wechat["preview"]["digest"] == "正文"
    assert data["ok"] is False
    ok = _preview(client, token, title="标题", content="<p>正文</p>", account_ids=world["accounts"]).get_json()
    assert ok["ok"] is True and ok["platforms"][0]["problems"] == []


def test_empty_body_and_scripts_are_cleaned(world, client):
    token = _login(client, "editor")
    data = _preview(client, token, title="标题", content="", account_ids=world["accounts"][:1]).get_json()
    assert data["platforms"][0]["problems"] == ["微信正文不能为空"]
    data = _preview(client, token, title="标题", content="<p>正文<script>alert(1)</script></p>",
                    account_ids=world["accounts"][:1]).get_json()
    assert "<script" not in data["platforms"][0]["preview"]["content"]


def test_several_platforms_each_validated_by_its_adapter(world, client):
    weibo = _account("cbeh", "weibo", "陈巴尔虎旗微博")
    site = _account("cbeh", "website", "陈巴尔虎旗政府网站")
    token = _login(client, "editor")
    r = _preview(client, token, title="标" * 70, content="", summary="摘要",
                 account_ids=[world["accounts"][0], weibo, site], source_url="https://www.cbeh.gov.cn/a/1")
    data = r.get_json()
    by = {p["platform"]: p for p in data["platforms"]}
    assert set(by) == {"wechat", "weibo", "website"}
    assert "微信标题不得超过 64 字（现为 70 字）" in by["wechat"]["problems"]
    assert "微信正文不能为空" in by["wechat"]["problems"]
    assert by["weibo"]["problems"] == ["微博正文不能为空"]
    assert by["website"]["problems"] == []
    status = by["weibo"]["preview"]["text"]
    assert status.startswith("【" + "标" * 70 + "】摘要") and status.endswith("https://www.cbeh.gov.cn/a/1")
    assert by["weibo"]["counts"]["text"] <= by["weibo"]["counts"]["text_max"] == 140
    # A Weibo text variant over the limit is the adapter's problem too.
    data = _preview(client, token, title="标题", content="<p>正文</p>", account_ids=[weibo],
                    variants={"weibo": {"text": "长" * 130}}).get_json()
    assert any("variants.weibo.text" in p for p in data["platforms"][0]["problems"])


def test_logged_out_is_refused(world, client):
    r = client.post(URL, json={"title": "x", "account_ids": world["accounts"]})
    assert r.status_code in (400, 401)  # CSRF (no session token) or 401: never previews
    token = _csrf(client)
    r = client.post(URL, json={"title": "x", "account_ids": world["accounts"]}, headers={"X-CSRFToken": token})
    assert r.status_code == 401
    assert r.get_json()["error"]["code"] == "unauthorized"


def test_only_own_unit_accounts(world, client):
    r = world["api"]["editor"].post("/posts", {"title": "标题", "content": "<p>正文</p>",
                                                      "account_ids": world["accounts"][:1]})
    assert r.status_code == 201, r.get_data(as_text=True)
    post_id = r.get_json()["id"]
    token = _login(client, "outsider")
    r = _preview(client, token, title="标题", content="<p>正文</p>", account_ids=world["accounts"])
    assert r.status_code == 422
    assert r.get_json()["error"]["code"] == "unknown_accounts"
    # A post of another unit cannot be named either (404, nothing revealed).
    r = _preview(client, token, title="标题", content="<p>正文</p>", account_ids=[], post_id=post_id)
    assert r.status_code == 404


def test_bad_input_is_a_clear_error(world, client):
    token = _login(client, "editor")
    assert _preview(client, token, title=5, account_ids=[]).status_code == 400
    assert _preview(client, token, title="t", account_ids="1").status_code == 400
    r = client.post(URL, data="not json", headers={"X-CSRFToken": token, "Content-Type": "application/json"})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_body"


def test_editor_page_renders_the_panel(world, client):
    _login(client, "editor")
    html = client.get("/posts/new").get_data(as_text=True)
    assert 'id="platform-preview"' in html and "preview.js" in html
    for aid in world["accounts"]:
        assert f'data-account-id="{aid}" data-platform="wechat"' in html
