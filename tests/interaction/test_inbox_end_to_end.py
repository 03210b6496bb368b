"""政民互动 end to end (issue 16, "Done when"): follower messages through the WeChat simulator in safe
mode reach the unit's inbox once, due in 5 working days; answers are reviewed (not by their author),
reach the follower as a customer-service message, and an edit after approval voids the approval;
the 问答库 answers a matching message automatically until its expiry; near duplicates are flagged;
the public page shows the four fields with the question masked; a Weibo comment is answered."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import requests
from interaction_helpers import follower_says, inbox
from support import run_burst_worker, wait_for

from hub.db import db


def test_a_safe_mode_message_delivered_three_times_is_one_inbox_message(app, safe_mode):
    out = follower_says(safe_mode, "请问供暖费怎么缴纳？", deliveries=3)
    assert out["status"] == "delivered" and out["reply"] in (None, "")
    msgs = wait_for(lambda: inbox(safe_mode, "open") or None)
    assert len(msgs) == 1
    m = msgs[0]
    assert m["channel"] == "wechat" and m["account_id"] == safe_mode["account_id"]
    assert m["text"] == "请问供暖费怎么缴纳？" and m["status"] == "open" and m["auto_answered"] is False
    assert m["due_on"] > m["received_at"][:10]
    # the openid is sealed, never in the API or the audit trail
    from hub.models import AuditEntry, ContactSecret

    with app.app_context():
        s = db.session()
        assert all(b"o_follower_1" not in c.ciphertext for c in s.query(ContactSecret).all())
        assert s.query(ContactSecret).count() == 1
        assert not any("o_follower_1" in (e.details or "") + (e.summary or "") for e in s.query(AuditEntry).all())
        db.session.remove()


def test_a_message_received_before_national_day_is_due_on_10_october(world):
    r = world["api"]["editor"].post("/messages", json={"unit": "cbeh", "channel": "phone", "text": "咨询低保申请",
                                                       "received_at": "2025-09-26T10:00:00"})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["due_on"] == "2025-10-10"
    bad = world["api"]["editor"].post("/messages", json={"unit": "cbeh", "channel": "fax", "text": "x",
                                                         "received_at": "2025-09-26T10:00:00"})
    assert bad.status_code == 400 and bad.get_json()["error"]["code"]
    assert world["api"]["outsider"].post("/messages", json={"unit": "cbeh", "channel": "phone", "text": "x",
                                                            "received_at": "2025-09-26T10:00:00"}).status_code == 404


def test_the_answer_is_reviewed_by_another_person_and_reaches_the_follower_once(app, safe_mode):
    follower_says(safe_mode, "老年证在哪里办理？")
    (m,) = wait_for(lambda: inbox(safe_mode, "open") or None)
    api = safe_mode["api"]
    assert api["admin"].post(f"/messages/{m['id']}/assign", json={"username": "editor"}).status_code == 200
    assert inbox(safe_mode, "open")[0]["assignee"] == "editor"
    r = api["editor"].post(f"/messages/{m['id']}/answer", json={"text": "请携带身份证到旗政务服务中心一楼窗口办理。"})
    assert r.status_code == 201, r.get_json()
    ans = r.get_json()
    assert ans["status"] == "in_review" and len(ans["revision_hash"]) == 64
    # the handler who drafted it cannot approve it; nor can an editor
    own = api["editor"].post(f"/answers/{ans['id']}/approve", json={"revision_hash": ans["revision_hash"]})
    assert own.status_code == 403
    assert api["outsider_rev"].post(f"/answers/{ans['id']}/approve",
                                    json={"revision_hash": ans["revision_hash"]}).status_code == 404
    ok = api["r1"].post(f"/answers/{ans['id']}/approve", json={"revision_hash": ans["revision_hash"]})
    assert ok.status_code == 200 and ok.get_json()["status"] == "approved"
    run_burst_worker(app)
    sent = [c for c in safe_mode["sim"].state()["custom_messages"] if c["touser"] == "o_follower_1"]
    assert [c["content"] for c in sent] == ["请携带身份证到旗政务服务中心一楼窗口办理。"]
    assert sent[0]["appid"] == "wx_main" and sent[0]["msgtype"] == "text"
    (closed,) = inbox(safe_mode, "closed")
    assert closed["id"] == m["id"] and closed["status"] == "closed"
    run_burst_worker(app)
    assert len([c for c in safe_mode["sim"].state()["custom_messages"] if c["touser"] == "o_follower_1"]) == 1


def test_an_edit_after_approval_voids_it(app, safe_mode):
    follower_says(safe_mode, "公租房申请需要什么材料？", openid="o_follower_2")
    (m,) = wait_for(lambda: inbox(safe_mode, "open") or None)
    api = safe_mode["api"]
    ans = api["editor"].post(f"/messages/{m['id']}/answer", json={"text": "请准备户口簿和收入证明。"}).get_json()
    assert api["r1"].post(f"/answers/{ans['id']}/approve", json={"revision_hash": ans["revision_hash"]}).status_code == 200
    edited = api["editor"].patch(f"/answers/{ans['id']}", json={"text": "请准备户口簿、收入证明和住房情况说明。"})
    assert edited.status_code == 200 and edited.get_json()["status"] == "in_review"
    new_hash = edited.get_json()["revision_hash"]
    assert new_hash != ans["revision_hash"]
    stale = api["r2"].post(f"/answers/{ans['id']}/approve", json={"revision_hash": ans["revision_hash"]})
    assert stale.status_code == 409
    run_burst_worker(app)  # the job queued by the first approval finds it voided
    assert not [c for c in safe_mode["sim"].state()["custom_messages"] if c["touser"] == "o_follower_2"]
    assert api["r2"].post(f"/answers/{ans['id']}/approve", json={"revision_hash": new_hash}).status_code == 200
    run_burst_worker(app)
    sent = [c["content"] for c in safe_mode["sim"].state()["custom_messages"] if c["touser"] == "o_follower_2"]
    assert sent == ["请准备户口簿、收入证明和住房情况说明。"]


def test_the_qa_library_answers_until_expiry_and_flags_near_duplicates(app, safe_mode):
    api = safe_mode["api"]
    r = api["editor"].post("/qa", json={"question": "社保卡丢失了怎么补办？", "answer": "携带身份证到社保服务大厅补办。",
                                        "category": "社保", "keywords": ["社保卡"]})
    assert r.status_code == 201, r.get_json()
    e = r.get_json()
    assert e["status"] == "in_review"
    # not served before it is approved
    follower_says(safe_mode, "社保卡怎么补？", openid="o_early")
    assert api["editor"].post(f"/qa/{e['id']}/approve", json={"revision_hash": e["revision_hash"]}).status_code == 403
    assert api["r1"].post(f"/qa/{e['id']}/approve", json={"revision_hash": e["revision_hash"]}).status_code == 200
    out = follower_says(safe_mode, "我的社保卡丢了，怎么办？", openid="o_qa")
    assert out["status"] == "replied" and out["reply"] == "携带身份证到社保服务大厅补办。"
    auto = [m for m in inbox(safe_mode) if m["text"] == "我的社保卡丢了，怎么办？"]
    assert len(auto) == 1 and auto[0]["auto_answered"] is True and auto[0]["status"] == "closed"
    early = [m for m in inbox(safe_mode) if m["text"] == "社保卡怎么补？"]
    assert early[0]["auto_answered"] is False
    assert api["editor"].get(f"/qa/{e['id']}").get_json()["served_count"] == 1
    # an entry past its expiry date is not served
    yesterday = (date.today() - timedelta(days=2)).isoformat()
    old = api["editor"].post("/qa", json={"question": "户口迁移需要哪些材料？", "answer": "请咨询派出所户籍窗口。",
                                          "category": "户籍", "keywords": ["户口迁移"], "expires_on": yesterday}).get_json()
    assert api["r1"].post(f"/qa/{old['id']}/approve", json={"revision_hash": old["revision_hash"]}).status_code == 200
    assert api["editor"].get(f"/qa/{old['id']}").get_json()["status"] == "expired"
    out = follower_says(safe_mode, "户口迁移怎么办理", openid="o_qa2")
    assert out["reply"] in (None, "")
    assert [m for m in inbox(safe_mode) if m["text"] == "户口迁移怎么办理"][0]["auto_answered"] is False
    # near-duplicate question flagged with the active entry
    dup = api["editor"].post("/qa", json={"question": "社保卡丢失了要怎么补办？", "answer": "到社保大厅。",
                                          "category": "社保", "keywords": ["补办社保卡"]}).get_json()
    assert dup["duplicate_of"] == e["id"] and dup["similarity"] >= 60
    other = api["editor"].post("/qa", json={"question": "新生儿医保如何参保登记？", "answer": "到医保窗口。",
                                            "category": "医保", "keywords": ["医保"]}).get_json()
    assert other["duplicate_of"] is None


def test_public_page_shows_four_fields_and_masks_phone_and_id(app, world, client):
    api = world["api"]
    r = api["editor"].post("/messages", json={
        "unit": "cbeh", "channel": "letter", "received_at": "2026-03-02T09:00:00",
        "text": "我叫王小明，电话13812345678，身份证150102199003071234，想问低保怎么申请。"})
    mid = r.get_json()["id"]
    ans = api["editor"].post(f"/messages/{mid}/answer", json={"text": "请到苏木乡镇民政所提出申请。"}).get_json()
    api["r1"].post(f"/answers/{ans['id']}/approve", json={"revision_hash": ans["revision_hash"]})
    run_burst_worker(app)
    pub = client.get("/api/v1/public/units/cbeh/messages")
    assert pub.status_code == 200
    (item,) = pub.get_json()["messages"]
    assert item["answer"] == "请到苏木乡镇民政所提出申请。" and item["answer_unit"] == "陈巴尔虎旗"
    assert item["received_at"].startswith("2026-03-02") and item["answered_at"]
    q = item["question"]
    assert "13812345678" not in q and "138****5678" in q
    assert "150102199003071234" not in q and "150102" in q
    assert "王小明" not in q and "王**" in q
    html = client.get("/public/units/cbeh/messages").get_data(as_text=True)
    for label in ("留言时间", "答复时间", "答复单位", "答复内容"):
        assert label in html
    assert "13812345678" not in html and "138****5678" in html and "请到苏木乡镇民政所提出申请。" in html
    stats = api["admin"].get("/messages/stats", query_string={"unit": "cbeh", "month": "2026-03"}).get_json()
    assert stats["received"] == 1 and stats["answered"] == 1


def test_spam_is_closed_with_a_reason(world):
    api = world["api"]
    mid = api["editor"].post("/messages", json={"unit": "cbeh", "channel": "phone", "text": "广告推销",
                                                "received_at": "2026-03-02T09:00:00"}).get_json()["id"]
    assert api["editor"].post(f"/messages/{mid}/close", json={"reason": "nonsense"}).status_code == 400
    r = api["editor"].post(f"/messages/{mid}/close", json={"reason": "spam", "note": "推销"})
    assert r.status_code == 200 and r.get_json()["status"] == "closed"
    assert api["editor"].post(f"/messages/{mid}/close", json={"reason": "spam"}).status_code == 409


def test_overdue_messages_are_escalated_to_the_monitor(app, world):
    from hub.interaction import jobs

    api = world["api"]
    api["editor"].post("/messages", json={"unit": "cbeh", "channel": "transfer", "text": "12345 转办：路灯不亮",
                                          "received_at": "2025-09-26T10:00:00"})
    with app.app_context():
        counts = jobs.daily(app, date(2025, 10, 13))
        db.session.remove()
    assert counts["warned"] == 1 and counts["escalated"] == 1
    r = api["supervisor"].get("/monitor", query_string={"unit": "hlbe", "as_of": "2025-10-13"})
    alerts = [a for acc in r.get_json()["accounts"] for a in acc["alerts"] if a["kind"] == "message_overdue"]
    assert len(alerts) == 1 and alerts[0]["since"] == "2025-10-11"
    from checks.checks_helpers import login

    web = app.test_client()
    login(web, "supervisor")
    page = web.get("/monitor").get_data(as_text=True)
    assert "留言逾期" in page and "本月网民留言" in page


def test_a_weibo_comment_is_answered_with_a_reply(app, world):
    from adapters.simulators import weibo as weibo_sim
    from hub import audit
    from hub.accounts.filing import approve_through_chain
    from hub.accounts.service import create_account, set_credentials
    from hub.interaction import jobs

    server = weibo_sim.make_server("127.0.0.1", 0)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        tok = requests.post(base + "/_sim/apps", json={"appid": "wbk", "secret": "wbs",
                                                       "safe_domain": "www.cbeh.gov.cn"}, timeout=5).json()["access_token"]
        requests.post(base + "/2/statuses/share.json", data={"access_token": tok,
                      "status": "供暖季服务指南 https://www.cbeh.gov.cn/", "rip": "203.0.113.5"}, timeout=5).raise_for_status()
        with db.transaction() as s:
            t = audit.current_actor.set(audit.Actor.system("test"))
            acc = create_account(s, None, {"platform": "weibo", "name": "陈巴尔虎旗发布微博", "unit": "cbeh",
                                           "api_base": base})
            set_credentials(s, None, acc, {"app_key": "wbk", "app_secret": "wbs", "access_token": tok,
                                           "safe_url": "https://www.cbeh.gov.cn/"})
            approve_through_chain(s, acc)
            audit.current_actor.reset(t)
        db.session.remove()
        requests.post(base + "/_sim/comment", json={"appid": "wbk", "text": "暖气不热找谁？"}, timeout=5).raise_for_status()
        with app.app_context():
            assert jobs.pull_weibo(app) == 1
            assert jobs.pull_weibo(app) == 0
            db.session.remove()
        (m,) = [m for m in inbox(world) if m["channel"] == "weibo"]
        api = world["api"]
        ans = api["editor"].post(f"/messages/{m['id']}/answer", json={"text": "请拨打供热服务热线。"}).get_json()
        assert api["r1"].post(f"/answers/{ans['id']}/approve", json={"revision_hash": ans["revision_hash"]}).status_code == 200
        run_burst_worker(app)
        replies = requests.get(base + "/_sim/state", timeout=5).json()["comment_replies"]
        assert [r["text"] for r in replies] == ["请拨打供热服务热线。"]
    finally:
        server.shutdown()
        server.server_close()
