"""Dispatches on the web: the attempt history (page and live JSON), the attention list, the
WeChat PUBLISHJOBFINISH callback (plain and encrypted), the Atom feed, and other platforms
through the whole engine."""

from __future__ import annotations

import hashlib
import re
import threading
import time
from xml.etree import ElementTree as ET

import requests
from dispatch_helpers import approve_post, dispatches
from support import PASSWORD, run_burst_worker

from hub.db import db

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as WeChat issues them
CALLBACK_TOKEN = "cb-token-123"


def _login(client, username):
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html)
    r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)})
    assert r.status_code == 302


def test_attempt_history_page_live_json_and_attention_list(app, world, client):
    post_id = approve_post(world["api"], world["accounts"][:1], content="<p>内容 SIM-FAIL-CHECK</p>")
    run_burst_worker(app)
    (d,) = dispatches(app, [post_id])
    assert d.status == "failed"
    _login(client, "admin")
    page = client.get(f"/dispatches/{d.id}").get_data(as_text=True)
    assert "尝试记录" in page and "未通过微信发布检查" in page and "可以安全重试" in page
    assert 'id="retry-btn"' in page
    live = client.get(f"/posts/{post_id}/status.json").get_json()
    row = live["dispatches"][0]
    assert row["detail_url"] == f"/dispatches/{d.id}"
    assert [a["kind"] for a in row["attempts_log"]][:1] == ["publish"]
    assert row["attempts_log"][0]["outcome"] == "failed"
    attention = client.get("/dispatches").get_data(as_text=True)
    assert f'data-dispatch="{d.id}"' in attention
    # Retry from the page (CSRF token from the page itself).
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post(f"/dispatches/{d.id}/retry", data={"csrf_token": token})
    assert r.status_code == 302
    assert dispatches(app, [post_id])[0].status == "pending"


def test_attention_list_is_for_admins_and_supervisors(app, world, client):
    _login(client, "editor")
    assert client.get("/dispatches").status_code == 404


def _submitted_dispatch(app, world, publish_id):
    from hub.accounts.service import set_credentials
    from hub.models import Dispatch

    post_id = approve_post(world["api"], world["accounts"][:1])
    (d,) = dispatches(app, [post_id])
    with app.app_context():
        with db.transaction() as s:
            row = s.get(Dispatch, d.id)
            row.status, row.stage, row.platform_ref, row.attempts = "sending", "submitted", publish_id, 1
            set_credentials(s, None, row.account, {"callback_token": CALLBACK_TOKEN, "encoding_aes_key": AES_KEY})
        db.session.remove()
    return post_id, d.id


def _event(publish_id, status=0):
    return (f"<xml><ToUserName><![CDATA[gh_cbeh]]></ToUserName><FromUserName><![CDATA[oSys]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[PUBLISHJOBFINISH]]></Event><PublishEventInfo><publish_id>{publish_id}</publish_id>"
            f"<publish_status>{status}</publish_status><article_id><![CDATA[ART_{publish_id}]]></article_id>"
            f"<article_detail><count>1</count><item><idx>1</idx><article_url><![CDATA[https://mp.weixin.qq.com/s/"
            f"{publish_id}]]></article_url></item></article_detail><fail_idx></fail_idx></PublishEventInfo></xml>")


def _sig(*parts):
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def test_publishjobfinish_callback_plain_mode(app, world, client):
    post_id, did = _submitted_dispatch(app, world, "2247483999")
    account_id = world["accounts"][0]
    ts, nonce = str(int(time.time())), "n0nce"
    r = client.get(f"/wechat/callback/{account_id}", query_string={
        "signature": _sig(CALLBACK_TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce, "echostr": "hello"})
    assert r.status_code == 200 and r.get_data(as_text=True) == "hello"
    r = client.post(f"/wechat/callback/{account_id}", data=_event("2247483999"),
                    query_string={"signature": "forged", "timestamp": ts, "nonce": nonce})
    assert r.status_code == 403
    assert dispatches(app, [post_id])[0].status == "sending"
    r = client.post(f"/wechat/callback/{account_id}", data=_event("2247483999"),
                    query_string={"signature": _sig(CALLBACK_TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce})
    assert r.status_code == 200 and r.get_data(as_text=True) == "success"
    (d,) = dispatches(app, [post_id])
    assert d.status == "published" and d.url == "https://mp.weixin.qq.com/s/2247483999"
    assert world["api"]["editor"].get(f"/posts/{post_id}").get_json()["status"] == "published"
    r = client.post(f"/wechat/callback/{account_id}", data=b"<xml>broken",
                    query_string={"signature": _sig(CALLBACK_TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce})
    assert r.status_code in (200, 400)


def test_publishjobfinish_callback_encrypted_mode(app, world, client):
    from wechatpy.crypto import WeChatCrypto

    post_id, did = _submitted_dispatch(app, world, "2247484000")
    account_id = world["accounts"][0]
    ts, nonce = str(int(time.time())), "n0nce2"
    envelope = WeChatCrypto(CALLBACK_TOKEN, AES_KEY, "wx_main").encrypt_message(_event("2247484000", 3), nonce, ts)
    msg_sig = ET.fromstring(envelope).findtext("MsgSignature")
    r = client.post(f"/wechat/callback/{account_id}", data=envelope, query_string={
        "encrypt_type": "aes", "msg_signature": msg_sig, "timestamp": ts, "nonce": nonce,
        "signature": _sig(CALLBACK_TOKEN, ts, nonce)})
    assert r.status_code == 200
    (d,) = dispatches(app, [post_id])
    assert d.status == "failed" and "常规失败" in d.error
    r = client.post(f"/wechat/callback/{account_id}", data=envelope, query_string={
        "encrypt_type": "aes", "msg_signature": "0" * 40, "timestamp": ts, "nonce": nonce})
    assert r.status_code == 403
    assert client.post("/wechat/callback/999999", data=b"").status_code == 404


def test_atom_feed_lists_what_was_published(app, world, client):
    post_id = approve_post(world["api"], world["accounts"][:1], title="关于冬季供暖的公告")
    run_burst_worker(app)
    (d,) = dispatches(app, [post_id])
    r = client.get(f"/feeds/accounts/{world['accounts'][0]}.atom")
    assert r.status_code == 200 and r.mimetype == "application/atom+xml"
    ns = {"a": "http://www.w3.org/2005/Atom"}
    feed = ET.fromstring(r.data)
    (entry,) = feed.findall("a:entry", ns)
    assert entry.findtext("a:title", namespaces=ns) == "关于冬季供暖的公告"
    assert entry.find("a:link", ns).get("href") == d.url
    assert client.get("/feeds/accounts/999999.atom").status_code == 404


def _serve(module):
    server = module.make_server("127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def _account(app, platform, name, base, creds):
    from hub import audit
    from hub.accounts.filing import approve_through_chain
    from hub.accounts.service import create_account, set_credentials

    with app.app_context():
        with db.transaction() as s:
            token = audit.current_actor.set(audit.Actor.system("test"))
            try:
                acc = create_account(s, None, {"platform": platform, "name": name, "unit": "cbeh", "api_base": base})
                set_credentials(s, None, acc, creds)
                approve_through_chain(s, acc)
                return acc.id
            finally:
                audit.current_actor.reset(token)


def test_weibo_and_website_through_the_engine_with_lost_answers(app, world):
    from adapters.simulators import website as website_sim
    from adapters.simulators import weibo as weibo_sim

    wb_server, wb_base = _serve(weibo_sim)
    ws_server, ws_base = _serve(website_sim)
    try:
        token = requests.post(wb_base + "/_sim/apps", json={"appid": "wbk", "secret": "wbs",
                                                            "safe_domain": "cbeh.gov.cn"}, timeout=5).json()["access_token"]
        requests.post(ws_base + "/_sim/apps", json={"appid": "cbeh", "secret": "push-key"}, timeout=5)
        wb = _account(app, "weibo", "陈巴尔虎旗发布微博", wb_base,
                      {"app_key": "wbk", "app_secret": "wbs", "access_token": token,
                       "safe_url": "https://www.cbeh.gov.cn/"})
        ws = _account(app, "website", "陈巴尔虎旗人民政府网站", ws_base, {"site_id": "cbeh", "api_token": "push-key"})
        for base in (wb_base, ws_base):  # every answer to a publish call is lost once acted on
            requests.post(base + "/_sim/faults", json={"drop_after_commit_rate": 1.0}, timeout=5).raise_for_status()
        post_id = approve_post(world["api"], [wb, ws], source_url="https://www.cbeh.gov.cn/art/2026/1.html")
        from hub.dispatch.jobs.publish import publish_dispatch

        for d in dispatches(app, [post_id]):
            assert publish_dispatch(d.id) == "unconfirmed"
        for base in (wb_base, ws_base):
            requests.post(base + "/_sim/faults", json={}, timeout=5).raise_for_status()
        run_burst_worker(app)
        rows = dispatches(app, [post_id])
        assert [d.status for d in rows] == ["published", "published"], [(d.status, d.error) for d in rows]
        assert len(wb_server.simulator.state()["published"]) == 1
        (art,) = ws_server.simulator.state()["published"]
        assert art["puts"] == 1  # reconciliation asked; it did not push again
    finally:
        for server in (wb_server, ws_server):
            server.shutdown()
            server.server_close()
