"""Suspending and resuming an account: status order of the API, posts cannot target a
suspended account, queued dispatches are held (not failed) until resume, a closed account
still fails them, audit entries, and the buttons on the account page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from support import ALL_CONFIRMATIONS, PASSWORD, Api, run_burst_worker

from hub.db import db
from hub.models import AuditEntry, Dispatch


def err(r: Any) -> tuple[int, str]:
    return r.status_code, (r.get_json() or {}).get("error", {}).get("code", "")


def _post(api: Any, account_ids: list[int]) -> Any:
    return api.post("/posts", json={"title": "关于做好防汛工作的通知", "content": "<p>请各单位做好防汛准备。</p>",
                                    "summary": "防汛", "author": "旗政府办", "account_ids": account_ids})


def _through_review(api: dict[str, Api], account_id: int) -> dict[str, Any]:
    r = _post(api["editor"], [account_id])
    assert r.status_code == 201, r.get_json()
    post = r.get_json()
    assert api["editor"].post(f"/posts/{post['id']}/submit").status_code == 200
    for reviewer in ("r1", "r2", "r3"):
        r = api[reviewer].post(f"/posts/{post['id']}/approve",
                               json={"revision_hash": post["revision"]["hash"], "checks": ALL_CONFIRMATIONS})
        assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == "publishing" and [d["status"] for d in body["dispatches"]] == ["pending"]
    return body


def _actions(app: Any, account_id: int) -> list[AuditEntry]:
    with app.app_context():
        from sqlalchemy import select

        return list(db.session().scalars(select(AuditEntry).where(
            AuditEntry.object_type == "account", AuditEntry.object_id == str(account_id),
            AuditEntry.action.in_(["account.suspend", "account.resume"])).order_by(AuditEntry.seq)))


@pytest.fixture
def more(world: dict[str, Any], factory: Any, client: Any) -> dict[str, Any]:
    factory.user("other_admin", "other", "admin")
    factory.user("other_sup", "other", "supervisor")
    factory.user("region_sup", "nmg", "supervisor")
    for name in ("other_admin", "other_sup", "region_sup"):
        world["api"][name] = Api(client, factory.token(name))
    return world


def test_status_order_of_suspend_and_resume(more: dict[str, Any], client: Any, app: Any) -> None:
    api, aid = more["api"], more["accounts"][0]
    url = f"/api/v1/accounts/{aid}/suspend"
    # 401: no token or a bad one, before anything else.
    assert err(client.post(url, json={"reason": "x"}))[0] == 401
    assert err(client.post(url, json={}, headers={"Authorization": "Bearer nope"}))[0] == 401
    # 404: units outside the caller's reach cannot see the account, whatever their role.
    for who in ("outsider", "other_admin", "other_sup"):
        assert err(api[who].post(f"/accounts/{aid}/suspend", json={})) == (404, "account_not_found"), who
        assert err(api[who].post(f"/accounts/{aid}/resume")) == (404, "account_not_found"), who
    assert err(api["admin"].post("/accounts/999999/suspend", json={"reason": "x"})) == (404, "account_not_found")
    # 403: the unit's editor and reviewers see the active account but may never suspend it (even with a bad body).
    for who in ("editor", "r1"):
        assert err(api[who].post(f"/accounts/{aid}/suspend", json={})) == (403, "not_allowed_to_suspend"), who
        assert err(api[who].post(f"/accounts/{aid}/resume")) == (403, "not_allowed_to_suspend"), who
    # 409 before 400: resuming an active account, even with a malformed body.
    assert err(api["admin"].post(f"/accounts/{aid}/resume", json=["x"])) == (409, "account_not_suspended")
    # 400: a missing, blank, too long or non-string reason; a body that is not an object.
    assert err(api["admin"].post(f"/accounts/{aid}/suspend")) == (400, "missing_reason")
    assert err(api["admin"].post(f"/accounts/{aid}/suspend", json={"reason": "  "})) == (400, "missing_reason")
    assert err(api["admin"].post(f"/accounts/{aid}/suspend", json={"reason": 5})) == (400, "invalid_reason")
    assert err(api["admin"].post(f"/accounts/{aid}/suspend", json={"reason": "长" * 501})) == (400, "invalid_reason")
    assert err(api["admin"].post(f"/accounts/{aid}/suspend", json=["x"])) == (400, "invalid_body")
    r = client.post(url, data="not json", headers={"Authorization": f"Bearer {api['admin'].token}"})
    assert err(r) == (400, "invalid_body")
    assert api["admin"].get(f"/accounts/{aid}").get_json()["status"] == "active"  # nothing changed
    assert _actions(app, aid) == []

    r = api["admin"].post(f"/accounts/{aid}/suspend", json={"reason": "账号密码疑似泄露，排查期间暂停"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == "suspended"
    # Now the editor cannot see it at all (404 beats 403); a second suspend is 409 even without a reason.
    assert err(api["editor"].post(f"/accounts/{aid}/resume")) == (404, "account_not_found")
    assert err(api["admin"].post(f"/accounts/{aid}/suspend")) == (409, "account_not_active")
    assert err(api["supervisor"].post(f"/accounts/{aid}/suspend", json={"reason": "x"})) == (409, "account_not_active")
    # A supervisor of an ancestor unit resumes with no body at all.
    r = api["supervisor"].post(f"/accounts/{aid}/resume")
    assert r.status_code == 200 and r.get_json()["status"] == "active" and r.get_json()["released"] == 0
    # The region's supervisor may suspend too; an admin resumes with a reason.
    assert api["region_sup"].post(f"/accounts/{aid}/suspend", json={"reason": "专项检查"}).status_code == 200
    assert api["admin"].post(f"/accounts/{aid}/resume", json={"reason": "检查完毕"}).status_code == 200

    entries = _actions(app, aid)
    assert [e.action for e in entries] == ["account.suspend", "account.resume", "account.suspend", "account.resume"]
    assert [e.actor_username for e in entries] == ["admin", "supervisor", "region_sup", "admin"]
    assert "账号密码疑似泄露，排查期间暂停" in entries[0].summary and entries[0].summary.startswith("暂停账号")
    assert entries[1].summary.startswith("恢复账号")
    assert "检查完毕" in entries[3].summary
    listed = [e for e in api["admin"].get("/audit?limit=1000").get_json()["entries"]
              if e["action"] in ("account.suspend", "account.resume")]
    assert len(listed) == 4 and all(e["object_id"] == str(aid) for e in listed)


def test_only_active_accounts_can_be_suspended(more: dict[str, Any]) -> None:
    api = more["api"]
    r = api["admin"].post("/accounts", {"platform": "wechat", "name": "陈巴尔虎旗文旅", "unit": "cbeh",
                                        "api_base": "http://127.0.0.1:9", "is_main": False,
                                        "justification": "文旅宣传"})
    assert r.status_code == 201
    pending = r.get_json()["id"]
    assert err(api["admin"].post(f"/accounts/{pending}/suspend", json={"reason": "x"})) == (409, "account_not_active")
    assert err(api["admin"].post(f"/accounts/{pending}/resume")) == (409, "account_not_suspended")


def test_suspended_account_cannot_be_targeted(more: dict[str, Any]) -> None:
    api, (a1, a2) = more["api"], more["accounts"]
    draft = _post(api["editor"], [a1]).get_json()
    assert api["admin"].post(f"/accounts/{a1}/suspend", json={"reason": "停更整改"}).status_code == 200
    assert err(_post(api["editor"], [a1])) == (409, "account_not_active")
    assert err(_post(api["editor"], [a1, a2])) == (409, "account_not_active")
    assert err(api["editor"].post(f"/posts/{draft['id']}/submit")) == (409, "account_not_active")
    assert _post(api["editor"], [a2]).status_code == 201  # the other account is unaffected
    assert api["admin"].post(f"/accounts/{a1}/resume").status_code == 200
    assert _post(api["editor"], [a1]).status_code == 201
    assert api["editor"].post(f"/posts/{draft['id']}/submit").status_code == 200


def test_queued_dispatch_is_held_while_suspended_and_published_after_resume(more: dict[str, Any], app: Any) -> None:
    from hub.dispatch.jobs.sweep import sweep

    api, aid, sim = more["api"], more["accounts"][0], more["sim"]
    post = _through_review(api, aid)
    r = api["admin"].post(f"/accounts/{aid}/suspend", json={"reason": "账号运营主体变更中"})
    assert r.status_code == 200
    run_burst_worker(app)  # the job queued at approval runs now and leaves the dispatch alone
    app.config["HUB_PENDING_GRACE"] = 0
    assert sweep() >= 1  # the sweeper offers the held dispatch again; still held
    run_burst_worker(app)
    body = api["editor"].get(f"/posts/{post['id']}").get_json()
    assert body["status"] == "publishing"
    assert [(d["status"], d["attempts"], d["error"]) for d in body["dispatches"]] == [("pending", 0, None)]
    assert sim.state()["published"] == [] and sim.state()["drafts"] == []
    history = [e["action"] for e in api["editor"].get(f"/posts/{post['id']}/history").get_json()["entries"]]
    assert "dispatch.refused" not in history and "dispatch.attempt" not in history

    r = api["admin"].post(f"/accounts/{aid}/resume", json={"reason": "变更完成"})
    assert r.status_code == 200 and r.get_json()["released"] == 1
    run_burst_worker(app)
    body = api["editor"].get(f"/posts/{post['id']}").get_json()
    assert body["status"] == "published", body
    assert body["dispatches"][0]["status"] == "published" and body["dispatches"][0]["attempts"] == 1
    published = sim.state()["published"]
    assert [p["title"] for p in published] == ["关于做好防汛工作的通知"]
    entries = _actions(app, aid)
    assert [e.action for e in entries] == ["account.suspend", "account.resume"]
    with app.app_context():
        import json

        assert json.loads(entries[0].details)["held_dispatches"] == [body["dispatches"][0]["id"]]
        assert json.loads(entries[1].details)["released_dispatches"] == [body["dispatches"][0]["id"]]


def test_sweeper_releases_held_dispatch_after_resume(more: dict[str, Any], app: Any) -> None:
    """Resume's own enqueue may be lost (Redis down): the sweeper finds the pending dispatch."""
    from hub.accounts.suspension import resume_account
    from hub.dispatch.jobs.sweep import sweep

    api, aid, sim = more["api"], more["accounts"][0], more["sim"]
    post = _through_review(api, aid)
    assert api["admin"].post(f"/accounts/{aid}/suspend", json={"reason": "临时暂停"}).status_code == 200
    run_burst_worker(app)
    with app.app_context():
        from hub.models import Account, User

        with db.transaction() as s:
            admin = s.query(User).filter_by(username="admin").one()
            _acc, due = resume_account(s, admin, s.get(Account, aid), {})
    assert len(due) == 1  # not enqueued here, on purpose
    app.config["HUB_PENDING_GRACE"] = 0
    assert sweep() >= 1
    run_burst_worker(app)
    assert api["editor"].get(f"/posts/{post['id']}").get_json()["status"] == "published"
    assert len(sim.state()["published"]) == 1


def test_closing_a_suspended_account_fails_its_held_dispatch(more: dict[str, Any], app: Any) -> None:
    api, aid, sim = more["api"], more["accounts"][0], more["sim"]
    post = _through_review(api, aid)
    assert api["admin"].post(f"/accounts/{aid}/suspend", json={"reason": "拟关闭"}).status_code == 200
    run_burst_worker(app)
    r = api["admin"].post(f"/accounts/{aid}/close", {"notice_text": "本账号即日起停止更新。", "notice_date": "2026-05-01"})
    assert r.status_code == 200, r.get_json()
    for sup in ("supervisor", "region_sup"):  # the closure filing goes up the tree, lowest level first
        assert api[sup].post(f"/accounts/{aid}/filing/approve").status_code == 200, sup
    assert api["admin"].get(f"/accounts/{aid}").get_json()["status"] == "closed"
    assert err(api["admin"].post(f"/accounts/{aid}/resume")) == (409, "account_not_suspended")
    with app.app_context():
        from hub.dispatch.jobs.publish import publish_dispatch

        did = db.session().query(Dispatch.id).filter(Dispatch.post_id == post["id"]).scalar()
        db.session.remove()
    assert publish_dispatch(did) == "refused"
    body = api["editor"].get(f"/posts/{post['id']}").get_json()
    assert body["status"] == "failed"
    assert body["dispatches"][0]["status"] == "failed" and "未处于启用状态" in body["dispatches"][0]["error"]
    assert sim.state()["published"] == []


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert m, "no csrf token on the page"
    return m.group(1)


def _login(client: Any, username: str) -> str:
    token = _csrf(client.get("/login").get_data(as_text=True))
    assert client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token}).status_code == 302
    return _csrf(client.get("/").get_data(as_text=True))


def test_account_page_suspend_and_resume_buttons(more: dict[str, Any], client: Any, app: Any) -> None:
    aid = more["accounts"][0]
    token = _login(client, "supervisor")
    page = client.get(f"/accounts/{aid}").get_data(as_text=True)
    assert 'id="account-suspend"' in page and 'id="account-resume"' not in page
    r = client.post(f"/accounts/{aid}/suspend", data={"csrf_token": token, "reason": " "}, follow_redirects=True)
    assert "暂停账号必须填写原因" in r.get_data(as_text=True)
    r = client.post(f"/accounts/{aid}/suspend", data={"csrf_token": token, "reason": "网信办通报整改"},
                    follow_redirects=True)
    page = r.get_data(as_text=True)
    assert "账号已暂停" in page and "网信办通报整改" in page
    assert 'id="account-resume"' in page and 'id="account-suspend"' not in page
    r = client.post(f"/accounts/{aid}/resume", data={"csrf_token": token, "reason": ""}, follow_redirects=True)
    assert "账号已恢复启用" in r.get_data(as_text=True)
    assert more["api"]["admin"].get(f"/accounts/{aid}").get_json()["status"] == "active"
    assert [e.action for e in _actions(app, aid)] == ["account.suspend", "account.resume"]
    editor = app.test_client()
    _login(editor, "editor")
    page = editor.get(f"/accounts/{aid}")
    assert page.status_code == 200 and 'id="account-suspend"' not in page.get_data(as_text=True)
