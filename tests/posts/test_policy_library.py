"""Policies and their 解读, and 效力标注 (issue 17 parts 3 and 4; docs/library.md): a 解读 must link a
policy to be submitted; both items show each other (API, pages, what the website receives); a
validity change is reviewed and then pushed to the website as an update; ``hub validity run``
applies an approved expiry date and the website receives it."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest
import requests
from click.testing import CliRunner
from support import ALL_CONFIRMATIONS, run_burst_worker

from adapters.simulators import website as website_sim
from hub import audit
from hub.db import db

PASSWORD = "test-password-123"
SITE, KEY = "cbeh-gov-cn", "push-key-policy-1"


@pytest.fixture
def site(world: dict[str, Any]) -> Any:
    """The unit's website on the simulator (over loopback), as an active website account."""
    from hub.accounts.filing import approve_through_chain
    from hub.accounts.service import create_account, set_credentials

    server = website_sim.make_server("127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    requests.post(base + "/_sim/apps", json={"appid": SITE, "secret": KEY}, timeout=5)
    with db.transaction() as s:
        token = audit.current_actor.set(audit.Actor.system("test"))
        try:
            acc = create_account(s, None, {"platform": "website", "name": "陈巴尔虎旗人民政府网站", "unit": "cbeh",
                                           "api_base": base, "is_main": True, "justification": "门户网站"})
            set_credentials(s, None, acc, {"site_id": SITE, "api_token": KEY})
            approve_through_chain(s, acc)
            account_id = acc.id
        finally:
            audit.current_actor.reset(token)
    yield server.simulator, account_id, base
    server.shutdown()
    server.server_close()


def _approve(api: dict[str, Any], post_id: int) -> dict[str, Any]:
    post = api["editor"].get(f"/posts/{post_id}").get_json()
    for reviewer in ("r1", "r2", "r3"):
        r = api[reviewer].post(f"/posts/{post_id}/approve",
                               json={"revision_hash": post["revision"]["hash"], "checks": ALL_CONFIRMATIONS})
        assert r.status_code == 200, r.get_json()
        post = r.get_json()
    return post


def _policy(api: dict[str, Any], accounts: list[int], **extra: Any) -> dict[str, Any]:
    r = api["editor"].post("/posts", json={
        "title": "关于印发《陈巴尔虎旗草原生态保护补助奖励政策实施方案》的通知", "content": "<p>各苏木镇：现将方案印发给你们。</p>",
        "account_ids": accounts, "category": "policy", "needs_interpretation": True,
        "metadata": {"index_no": "11150725MB1234567X/2026-00012", "issuer": "陈巴尔虎旗人民政府",
                     "written_on": "2026-03-02", "doc_no": "陈政发〔2026〕8号", "subject": "农业、林业、水利"},
        **extra})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def _page(client: Any, username: str, path: str) -> str:
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 302
    page = client.get(path)
    assert page.status_code == 200
    return page.get_data(as_text=True)


def test_a_jiedu_needs_a_policy_and_both_show_each_other(app, world, client, site) -> None:
    api = world["api"]
    sim, website, _base = site
    policy = _policy(api, [website])
    assert policy["revision"]["category"] == "policy"
    assert policy["revision"]["metadata"]["doc_no"] == "陈政发〔2026〕8号"
    assert policy["validity"]["status"] == "valid" and policy["validity"]["label"] == "有效"
    assert policy["needs_interpretation_reminder"] is True

    # A 解读 without a linked policy is refused at submit, with a clear message and a code.
    r = api["editor"].post("/posts", json={"title": "图解：草原生态保护补助奖励政策", "content": "<p>一图读懂。</p>",
                                           "account_ids": [website], "category": "interpretation"})
    assert r.status_code == 201
    lone = r.get_json()
    r = api["editor"].post(f"/posts/{lone['id']}/submit")
    assert r.status_code == 422
    assert r.get_json()["error"]["code"] == "missing_policy"
    assert "政策解读必须关联至少一件政策文件" in r.get_json()["error"]["message"]
    # Linking something that is not one of the unit's policies is refused when saving.
    r = api["editor"].patch(f"/posts/{lone['id']}", json={"policy_ids": [lone["id"] + 1000]})
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "unknown_policies"

    # With the policy linked it goes to review, and both items show each other.
    r = api["editor"].patch(f"/posts/{lone['id']}", json={"policy_ids": [policy["id"]]})
    assert r.status_code == 200, r.get_json()
    assert api["editor"].post(f"/posts/{lone['id']}/submit").status_code == 200
    jiedu = api["editor"].get(f"/posts/{lone['id']}").get_json()
    assert jiedu["policies"] == [{"id": policy["id"], "title": policy["title"]}]
    policy = api["editor"].get(f"/posts/{policy['id']}").get_json()
    assert policy["interpretations"] == [{"id": jiedu["id"], "title": jiedu["title"]}]
    assert policy["needs_interpretation_reminder"] is True  # not published yet

    html = _page(client, "editor", f"/posts/{policy['id']}")
    assert "需要配发政策解读" in html and f'href="/posts/{jiedu["id"]}"' in html and "陈政发〔2026〕8号" in html
    assert "有效" in html
    html = client.get(f"/posts/{jiedu['id']}").get_data(as_text=True)
    assert f'href="/posts/{policy["id"]}"' in html and policy["title"] in html

    # Both published: the 解读 the website receives names its policy; the reminder is gone.
    assert api["editor"].post(f"/posts/{policy['id']}/submit").status_code == 200
    _approve(api, policy["id"])
    _approve(api, jiedu["id"])
    run_burst_worker(app)
    assert api["editor"].get(f"/posts/{jiedu['id']}").get_json()["status"] == "published"
    policy = api["editor"].get(f"/posts/{policy['id']}").get_json()
    assert policy["status"] == "published" and policy["needs_interpretation_reminder"] is False
    assert "需要配发政策解读" not in client.get(f"/posts/{policy['id']}").get_data(as_text=True)
    pushed = {p["title"]: p for p in sim.state()["published"]}
    assert pushed[jiedu["title"]]["library"]["policies"] == [{"id": policy["id"], "title": policy["title"]}]
    assert pushed[jiedu["title"]]["library"]["category"] == "政策解读"
    assert ["发文字号", "陈政发〔2026〕8号"] in pushed[policy["title"]]["library"]["metadata"]


def test_an_approved_expiry_date_is_applied_by_validity_run_and_pushed_to_the_website(app, world, client,
                                                                                     site) -> None:
    from hub.cli import main

    api = world["api"]
    sim, website, base = site
    policy = _policy(api, [website], needs_interpretation=False)
    r = api["editor"].post(f"/posts/{policy['id']}/validity",
                           json={"status": "valid", "effective_on": "2026-03-02", "expires_on": "2027-03-01"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == "draft" and r.get_json()["validity"]["expires_on"] == "2027-03-01"
    assert api["editor"].post(f"/posts/{policy['id']}/submit").status_code == 200
    _approve(api, policy["id"])
    run_burst_worker(app)
    [pushed] = sim.state()["published"]
    assert pushed["puts"] == 1 and "banner" not in pushed["library"]

    # The day before: nothing to do.
    out = CliRunner().invoke(main, ["validity", "run", "--as-of", "2027-02-28"])
    assert out.exit_code == 0, out.output
    assert "已标注失效 0 件" in out.output
    out = CliRunner().invoke(main, ["validity", "run", "--as-of", "2027-03-01"])
    assert out.exit_code == 0, out.output
    assert f"已标注失效 1 件政策文件：{policy['id']}" in out.output
    run_burst_worker(app)

    post = api["editor"].get(f"/posts/{policy['id']}").get_json()
    assert post["status"] == "published"
    assert post["validity"]["status"] == "expired" and post["validity"]["label"] == "失效"
    [pushed] = sim.state()["published"]
    assert pushed["puts"] == 2  # the same article, replaced in place
    assert pushed["library"]["validity"]["status"] == "expired"
    assert pushed["library"]["banner"] == "本文件已失效（2027-03-01 起）"
    assert "本文件已失效" in requests.get(pushed["url"], timeout=5).text
    assert "失效" in _page(client, "editor", f"/posts/{policy['id']}")
    history = [e["action"] for e in api["editor"].get(f"/posts/{policy['id']}/history").get_json()["entries"]]
    assert "post.expired" in history and "dispatch.updated" in history
    # A second run changes nothing.
    out = CliRunner().invoke(main, ["validity", "run", "--as-of", "2027-03-05"])
    assert "已标注失效 0 件" in out.output


def test_a_validity_change_of_a_published_policy_is_reviewed_then_pushed_as_an_update(app, world, site) -> None:
    api = world["api"]
    sim, website, _base = site
    policy = _policy(api, [website], needs_interpretation=False)
    assert api["editor"].post(f"/posts/{policy['id']}/submit").status_code == 200
    _approve(api, policy["id"])
    run_burst_worker(app)
    new = _policy(api, [website], title="关于印发《陈巴尔虎旗草原生态保护补助奖励政策实施方案（修订）》的通知",
                  needs_interpretation=False)

    r = api["editor"].post(f"/posts/{policy['id']}/validity", json={"status": "amended"})
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "missing_replacement"
    r = api["editor"].post(f"/posts/{policy['id']}/validity", json={"status": "gone"})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_validity"
    r = api["editor"].post(f"/posts/{policy['id']}/validity", json={"status": "amended", "replaced_by": new["id"]})
    assert r.status_code == 200, r.get_json()
    post = r.get_json()
    assert post["status"] == "in_review" and post["revision"]["number"] == 2
    assert post["validity"]["replaced_by"] == {"id": new["id"], "title": new["title"]}
    # Content stays locked while the change is under review.
    r = api["editor"].patch(f"/posts/{policy['id']}", json={"title": "改标题"})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_editable"
    [before] = sim.state()["published"]
    assert before["puts"] == 1 and "banner" not in before["library"]

    _approve(api, policy["id"])
    run_burst_worker(app)
    post = api["editor"].get(f"/posts/{policy['id']}").get_json()
    assert post["status"] == "published" and post["validity"]["label"] == "已修改"
    [after] = [p for p in sim.state()["published"] if p["key"] == before["key"]]
    assert after["puts"] == 2 and after["publish_id"] == before["publish_id"]
    assert after["library"]["banner"] == f"本文件已修改，现行文件：《{new['title']}》"
    assert len(post["dispatches"]) == 1 and post["dispatches"][0]["status"] == "published"


def test_the_editor_form_takes_category_metadata_and_policy_links(app, world, client) -> None:
    api = world["api"]
    policy = _policy(api, world["accounts"][:1])
    html = _page(client, "editor", "/posts/new")
    assert "分类" in html and "政策解读" in html and "发文字号" in html and "需解读" in html
    assert f'name="policy_ids" value="{policy["id"]}"' in html and policy["title"] in html
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    r = client.post("/posts/new", data={
        "csrf_token": token, "title": "一图读懂草原生态保护补助奖励政策", "content": "<p>解读正文。</p>",
        "category": "interpretation", "policy_ids": [str(policy["id"])], "metadata-issuer": "陈巴尔虎旗人民政府",
        "account_ids": [str(world["accounts"][0])]})
    assert r.status_code == 302, r.get_data(as_text=True)
    new_id = int(r.headers["Location"].rstrip("/").rsplit("/", 1)[-1])
    post = api["editor"].get(f"/posts/{new_id}").get_json()
    assert post["revision"]["category"] == "interpretation"
    assert post["revision"]["metadata"] == {"issuer": "陈巴尔虎旗人民政府"}
    assert post["policies"] == [{"id": policy["id"], "title": policy["title"]}]
    page = client.get(f"/posts/{new_id}").get_data(as_text=True)
    assert "解读的政策文件" in page and f'href="/posts/{policy["id"]}"' in page


def test_the_workers_sweeper_applies_todays_expiries_once_a_day(app, world, site) -> None:
    from hub.dispatch.jobs.sweep import sweep

    api = world["api"]
    sim, website, _base = site
    policy = _policy(api, [website], needs_interpretation=False)
    assert api["editor"].post(f"/posts/{policy['id']}/validity",
                              json={"status": "valid", "expires_on": "2026-01-01"}).status_code == 200
    assert api["editor"].post(f"/posts/{policy['id']}/submit").status_code == 200
    _approve(api, policy["id"])
    run_burst_worker(app)
    sweep()  # the worker's sweeper thread does this every few seconds
    sweep()
    run_burst_worker(app)
    post = api["editor"].get(f"/posts/{policy['id']}").get_json()
    assert post["validity"]["status"] == "expired" and post["revision"]["number"] == 3
    [pushed] = sim.state()["published"]
    assert pushed["puts"] == 2 and pushed["library"]["validity"]["status"] == "expired"
