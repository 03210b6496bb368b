"""群发 through the real dispatch jobs against the WeChat simulator (which follows WeChat's 群发
documentation: asynchronous completion, quotas by app type, the reprint stop, mass/delete).

The jobs are run directly (publish, then the poll/reconcile job), and the simulator's clock is
moved with ``POST /_sim/clock``, so "still sending" and "finished" are seen deterministically."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from dispatch_helpers import RunningSim, approve_post, dispatches

from adapters.simulators.wechat import WeChatSimulator
from adapters.wechat import WeChatAdapter

MASS_DELAY = 600  # simulator seconds a mass send stays SENDING


@pytest.fixture
def mass(factory, world, monkeypatch):
    """A simulator whose mass sends take 10 minutes (simulator time); make(type) adds an account on it."""
    monkeypatch.setattr(WeChatAdapter, "poll_seconds", 0.3)  # the inline wait after sendall
    sim = RunningSim(WeChatSimulator(mass_delay=MASS_DELAY))
    made: list[int] = []

    def make(app_type: str, hub_type: str | None = None) -> int:
        appid = f"wx_mass{len(made)}"
        requests.post(sim.base + "/_sim/apps", json={"appid": appid, "secret": "s3cret", "type": app_type},
                      timeout=5).raise_for_status()
        acc = factory.account("cbeh", f"陈巴尔虎旗群发{len(made)}", sim.base, appid=appid, secret="s3cret",
                              is_main=False, justification="群发测试")
        if hub_type:
            r = world["api"]["admin"].put(f"/accounts/{acc.id}/credentials", json={"account_type": hub_type})
            assert r.status_code == 200, r.get_json()
        made.append(acc.id)
        return int(acc.id)

    yield sim, make
    sim.close()


def _advance(sim: RunningSim, seconds: float) -> None:
    requests.post(sim.base + "/_sim/clock", json={"advance": seconds}, timeout=5).raise_for_status()


def _publish(app: Any, post_id: int) -> Any:
    from hub.dispatch.jobs.publish import publish_dispatch

    (d,) = dispatches(app, [post_id])
    publish_dispatch(d.id)
    (d,) = dispatches(app, [post_id])
    return d


def _poll(app: Any, d: Any) -> Any:
    from hub.dispatch.jobs.reconcile import reconcile_dispatch

    reconcile_dispatch(d.id)
    (d,) = dispatches(app, [d.post_id])
    return d


def _mass_post(world: dict[str, Any], account_id: int, content: str = "<p>各有关单位：请做好供暖保障。</p>",
               **wechat: str) -> int:
    return approve_post(world["api"], [account_id], content=content,
                        variants={"wechat": {"mass_send": "1", **wechat}})


def test_mass_send_is_published_only_after_wechat_reports_it_finished(app, world, mass):
    sim, make = mass
    account_id = make("service", "service")
    post_id = _mass_post(world, account_id)
    d = _publish(app, post_id)
    # Right after sendall: waiting, not published.
    assert d.status == "sending" and d.stage == "submitted", (d.status, d.error)
    assert d.platform_ref.startswith("mass:")
    assert "等待微信完成群发" in d.error and "群发保护" in d.error
    assert [m["status"] for m in sim.state()["mass_sends"]] == ["SENDING"]
    post = world["api"]["editor"].get(f"/posts/{post_id}").get_json()
    assert post["status"] != "published"
    d = _poll(app, d)  # the poll job: WeChat still sending
    assert d.status == "sending" and "等待微信完成群发" in d.error
    _advance(sim, MASS_DELAY + 1)
    d = _poll(app, d)
    assert d.status == "published", d.error
    assert world["api"]["editor"].get(f"/posts/{post_id}").get_json()["status"] == "published"
    (sent,) = sim.state()["mass_sends"]
    assert sent["status"] == "SEND_SUCCESS" and sent["send_ignore_reprint"] == 1  # the default: continue
    from hub.db import db
    from hub.models import Dispatch

    with app.app_context():  # kept for the read counts: WeChat's statistics are keyed by msg_data_id
        assert db.session.get(Dispatch, d.id).stats_ref == str(sent["msg_data_id"])
        db.session.remove()


def test_second_mass_send_on_a_subscription_account_is_stopped_before_sending(app, world, mass):
    sim, make = mass
    account_id = make("subscription", "subscription")
    first = _publish(app, _mass_post(world, account_id))
    assert first.status == "sending", first.error
    second_post = _mass_post(world, account_id, content="<p>第二条群发：请做好防火工作。</p>")
    second = _publish(app, second_post)
    assert second.status == "failed"
    assert "订阅号每天只能群发 1 次" in second.error and "明天 0 点（北京时间）后可再群发" in second.error
    assert len(sim.state()["mass_sends"]) == 1  # the simulator received one sendall only
    attempts = world["api"]["editor"].get(f"/dispatches/{second.id}").get_json()["attempts_log"]
    assert attempts[0]["code"] == "mass_quota"


def test_submit_and_review_show_the_mass_send_quota(app, world, mass):
    _sim, make = mass
    account_id = make("subscription", "订阅号")
    r = world["api"]["editor"].post("/posts", json={
        "title": "关于冬季供暖的通知", "content": "<p>请做好供暖保障。</p>", "account_ids": [account_id],
        "variants": {"wechat": {"mass_send": "1", "send_ignore_reprint": "0"}}})
    assert r.status_code == 201, r.get_json()
    post = r.get_json()
    warnings = [f["message"] for f in post["findings"] if f["field"] == "rendering.wechat"]
    assert any("订阅号每天只能群发 1 次" in w for w in warnings), post["findings"]
    assert any("被判定为转载时：停止群发" in w for w in warnings)
    assert post["revision"]["variants"]["wechat"]["send_ignore_reprint"] == "0"
    bad = world["api"]["editor"].post("/posts", json={
        "title": "关于冬季供暖的通知", "content": "<p>请做好供暖保障。</p>", "account_ids": [account_id],
        "variants": {"wechat": {"mass_send": "1", "send_ignore_reprint": "maybe"}}})
    assert bad.status_code == 400 and "send_ignore_reprint" in bad.get_json()["error"]["message"]


def test_platform_45028_says_in_chinese_that_the_quota_is_used(app, world, mass):
    sim, make = mass
    account_id = make("subscription")  # the hub does not know the type: WeChat's 45028 is the check
    assert _publish(app, _mass_post(world, account_id)).status == "sending"
    second = _publish(app, _mass_post(world, account_id, content="<p>第二条群发。</p>"))
    assert second.status == "failed"
    assert "群发次数已用完" in second.error and "公众号类型" in second.error
    assert len(sim.state()["mass_sends"]) == 1


@pytest.mark.parametrize("ignore, outcome", [("0", "failed"), ("1", "published")])
def test_reprint_stop_follows_the_posts_choice(app, world, mass, ignore, outcome):
    sim, make = mass
    account_id = make("service", "service")
    post_id = _mass_post(world, account_id, content="<p>转载自新华社 SIM-REPRINT 的通稿。</p>",
                         send_ignore_reprint=ignore)
    d = _publish(app, post_id)
    assert d.status == "sending"
    _advance(sim, MASS_DELAY + 1)
    d = _poll(app, d)
    assert d.status == outcome, d.error
    (sent,) = sim.state()["mass_sends"]
    assert sent["send_ignore_reprint"] == int(ignore)
    if outcome == "failed":
        assert sent["status"] == "SEND_FAIL"
        assert "被判定为转载" in d.error and "停止群发" in d.error
    else:
        assert sent["status"] == "SEND_SUCCESS"


def test_withdraw_of_a_mass_send_deletes_it_on_wechat(app, world, mass):
    from hub.dispatch.jobs.withdraw import withdraw_dispatch

    sim, make = mass
    account_id = make("service", "service")
    post_id = _mass_post(world, account_id)
    d = _publish(app, post_id)
    _advance(sim, MASS_DELAY + 1)
    assert _poll(app, d).status == "published"
    r = world["api"]["admin"].post(f"/posts/{post_id}/withdraw", json={"reason": "信息有误"})
    assert r.status_code == 200, r.get_json()
    assert withdraw_dispatch(d.id) == "withdrawn"
    (d,) = dispatches(app, [post_id])
    assert d.status == "withdrawn"
    (sent,) = sim.state()["mass_sends"]
    assert sent["status"] == "DELETE" and all(a["is_deleted"] for a in sent["articles"])


def test_account_verify_reports_ip_allow_list_and_missing_verification(app, world, mass):
    sim, make = mass
    account_id = make("service")
    requests.post(sim.base + "/_sim/apps", json={"appid": "wx_mass0", "secret": "s3cret",
                                                 "ip_whitelist": ["10.20.30.40"]}, timeout=5).raise_for_status()
    r = world["api"]["admin"].post(f"/accounts/{account_id}/credentials/verify")
    body = r.get_json()
    assert r.status_code == 200 and body["ok"] is False
    assert "40164" in body["message"] and "127.0.0.1" in body["message"] and "IP白名单" in body["message"]
    requests.post(sim.base + "/_sim/apps", json={"appid": "wx_mass0", "secret": "s3cret", "ip_whitelist": None,
                                                 "verified": False}, timeout=5).raise_for_status()
    body = world["api"]["admin"].post(f"/accounts/{account_id}/credentials/verify").get_json()
    assert body["ok"] is False and "48001" in body["message"] and "认证" in body["message"]
    account = world["api"]["admin"].get(f"/accounts/{account_id}").get_json()
    assert "48001" in account["verification"]["message"]


def _mass_event(msg_id: str, status: str, check_state: int) -> str:
    """A MASSSENDJOBFINISH push as WeChat's 群发 documentation shows it."""
    return (f"<xml><ToUserName><![CDATA[gh_cbeh]]></ToUserName><FromUserName><![CDATA[oSys]]></FromUserName>"
            f"<CreateTime>1394524295</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[MASSSENDJOBFINISH]]></Event><MsgID>{msg_id}</MsgID>"
            f"<Status><![CDATA[{status}]]></Status><TotalCount>100</TotalCount><FilterCount>80</FilterCount>"
            f"<SentCount>75</SentCount><ErrorCount>5</ErrorCount><CopyrightCheckResult><Count>1</Count>"
            f"<ResultList><item><ArticleIdx>1</ArticleIdx><UserDeclareState>0</UserDeclareState>"
            f"<AuditState>2</AuditState><OriginalArticleUrl><![CDATA[Url_1]]></OriginalArticleUrl>"
            f"<OriginalArticleType>1</OriginalArticleType><CanReprint>1</CanReprint>"
            f"<NeedReplaceContent>1</NeedReplaceContent><NeedShowReprintSource>1</NeedShowReprintSource></item>"
            f"</ResultList><CheckState>{check_state}</CheckState></CopyrightCheckResult>"
            f"<ArticleUrlResult><Count>1</Count><ResultList><item><ArticleIdx>1</ArticleIdx>"
            f"<ArticleUrl><![CDATA[https://mp.weixin.qq.com/s/mass{msg_id}]]></ArticleUrl></item></ResultList>"
            f"</ArticleUrlResult></xml>")


@pytest.mark.parametrize("status, check_state, outcome", [("send success", 1, "published"),
                                                          ("send fail", 3, "failed")])
def test_massendjobfinish_callback_settles_the_waiting_send(app, world, mass, client, status, check_state,
                                                            outcome):
    import hashlib
    import time

    _sim, make = mass
    account_id = make("service", "service")
    r = world["api"]["admin"].put(f"/accounts/{account_id}/credentials", json={"callback_token": "cb-tok"})
    assert r.status_code == 200
    post_id = _mass_post(world, account_id, send_ignore_reprint="0")
    d = _publish(app, post_id)
    assert d.status == "sending"
    ts, nonce = str(int(time.time())), "n0nce"
    sig = hashlib.sha1("".join(sorted(("cb-tok", ts, nonce))).encode()).hexdigest()
    r = client.post(f"/wechat/callback/{account_id}", data=_mass_event(d.platform_ref.removeprefix("mass:"),
                                                                       status, check_state),
                    query_string={"signature": sig, "timestamp": ts, "nonce": nonce})
    assert r.status_code == 200 and r.get_data(as_text=True) == "success"
    (d,) = dispatches(app, [post_id])
    assert d.status == outcome, d.error
    if outcome == "published":
        assert d.url == f"https://mp.weixin.qq.com/s/mass{d.platform_ref.removeprefix('mass:')}"
    else:
        assert "被判定为转载" in d.error


def test_review_page_says_when_the_quota_is_already_used(app, world, mass, client):
    import re

    from support import PASSWORD

    _sim, make = mass
    account_id = make("subscription", "subscription")
    assert _publish(app, _mass_post(world, account_id)).status == "sending"
    r = world["api"]["editor"].post("/posts", json={
        "title": "关于第二次群发的通知", "content": "<p>第二条群发。</p>", "account_ids": [account_id],
        "variants": {"wechat": {"mass_send": "1"}}})
    post_id = r.get_json()["id"]
    assert world["api"]["editor"].post(f"/posts/{post_id}/submit").status_code == 200
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    client.post("/login", data={"username": "r1", "password": PASSWORD, "csrf_token": token})
    page = client.get(f"/review/{post_id}").get_data(as_text=True)
    assert "现在发送将被拒绝：订阅号每天只能群发 1 次，今天已群发，明天 0 点（北京时间）后可再群发" in page
