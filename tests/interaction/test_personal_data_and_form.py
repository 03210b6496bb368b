"""Personal data (field registry, sealed contact data, retention, nothing personal in the audit
trail or logs), the public 留言 form (challenge, rate limit), the 48-hour window, concurrent
deliveries, forwarding, and the staff pages."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

import requests
from checks.checks_helpers import csrf_token, login
from interaction_helpers import follower_says, inbox
from support import run_burst_worker, wait_for

from hub.db import db

PHONE, NAME = "13987654321", "李建国"


def _ip() -> dict[str, str]:
    """A client address of its own (the limiter's counters live in the shared Redis)."""
    import secrets

    return {"REMOTE_ADDR": "10." + ".".join(str(secrets.randbelow(250) + 1) for _ in range(3))}


def _form(client: Any, code: str = "cbeh") -> tuple[str, str, int]:
    html = client.get(f"/public/units/{code}/messages/new").get_data(as_text=True)
    token = re.search(r'name="challenge_token" value="([^"]+)"', html).group(1)
    a, b = map(int, re.search(r"(\d) 加 (\d) 等于多少", html).groups())
    return csrf_token(html), token, a + b


def test_every_stored_field_is_registered_with_a_reason(app):
    from hub.interaction.fields import REGISTRY
    from hub.models import Base

    for table in ("interaction_messages", "interaction_contacts"):
        cols = {c.name for c in Base.metadata.tables[table].columns}
        assert cols == set(REGISTRY[table]), (table, cols ^ set(REGISTRY[table]))
        assert all(REGISTRY[table].values())


def test_the_form_seals_contact_data_masks_the_name_and_keeps_it_out_of_audit_and_logs(app, client, factory, caplog):
    from hub.interaction import jobs
    from hub.models import AuditEntry, ContactSecret, InboxMessage

    caplog.set_level(logging.DEBUG)
    factory.unit("cbeh", "陈巴尔虎旗")
    csrf, token, answer = _form(client)
    me = _ip()
    bad = client.post("/public/units/cbeh/messages/new", data={
        "csrf_token": csrf, "challenge_token": token, "challenge": str(answer + 1), "content": "路灯不亮"}, environ_base=me)
    assert bad.status_code == 400 and "验证题答案不正确" in bad.get_data(as_text=True)
    forged = client.post("/public/units/cbeh/messages/new", data={
        "csrf_token": csrf, "challenge_token": token + "x", "challenge": str(answer), "content": "路灯不亮"}, environ_base=me)
    assert forged.status_code == 400
    ok = client.post("/public/units/cbeh/messages/new", data={
        "csrf_token": csrf, "challenge_token": token, "challenge": str(answer),
        "content": f"我是{NAME}，小区路灯坏了，电话 {PHONE}", "name": NAME, "phone": PHONE}, environ_base=me)
    assert ok.status_code == 200 and "将在" in ok.get_data(as_text=True)
    with app.app_context():
        s = db.session()
        (m,) = s.query(InboxMessage).all()
        assert m.channel == "form" and NAME not in m.public_text and PHONE not in m.public_text
        rows = s.query(ContactSecret).filter_by(message_id=m.id).all()
        assert sorted(r.field for r in rows) == ["contact:name", "contact:phone"]
        assert all(PHONE.encode() not in r.ciphertext and NAME.encode() not in r.ciphertext for r in rows)
        from hub.interaction.inbox import open_contact

        assert open_contact(s, m, "phone") == PHONE
        receive = s.query(AuditEntry).filter_by(action="message.receive").one()
        assert not receive.ip and not receive.user_agent
        for e in s.query(AuditEntry).all():
            assert PHONE not in (e.details or "") + (e.summary or "") and NAME not in (e.details or "") + e.summary
        # retention: closed long ago -> the contact data goes, the message stays
        m.status, m.close_reason, m.closed_at = "closed", "spam", m.received_at - timedelta(days=400)
        s.commit()
        assert jobs.erase_contacts(180) == 1
        assert s.query(ContactSecret).count() == 0
        assert s.get(InboxMessage, m.id).contact_erased_at is not None
        assert jobs.erase_contacts(180) == 0
        db.session.remove()
    assert PHONE not in caplog.text and NAME not in caplog.text


def test_the_form_is_rate_limited(app, client, factory):
    factory.unit("cbeh", "陈巴尔虎旗")
    app.config["RATELIMIT_ENABLED"] = True
    codes, me = [], _ip()
    for _ in range(7):
        csrf, token, answer = _form(client)
        codes.append(client.post("/public/units/cbeh/messages/new", data={
            "csrf_token": csrf, "challenge_token": token, "challenge": str(answer), "content": "咨询"}, environ_base=me).status_code)
    assert codes[:5] == [200] * 5 and 429 in codes[5:]


def test_outside_the_48_hour_window_the_answer_is_published_on_the_public_page(app, safe_mode, client):
    follower_says(safe_mode, "请问办理居住证要多久？", openid="o_late")
    (m,) = wait_for(lambda: inbox(safe_mode, "open") or None)
    requests.post(safe_mode["sim"].base + "/_sim/clock", json={"advance": 49 * 3600}, timeout=5).raise_for_status()
    api = safe_mode["api"]
    ans = api["editor"].post(f"/messages/{m['id']}/answer", json={"text": "一般 15 个工作日内办结。"}).get_json()
    assert api["r1"].post(f"/answers/{ans['id']}/approve", json={"revision_hash": ans["revision_hash"]}).status_code == 200
    run_burst_worker(app)
    assert not [c for c in safe_mode["sim"].state()["custom_messages"] if c["touser"] == "o_late"]
    (closed,) = inbox(safe_mode, "closed")
    assert closed["id"] == m["id"]
    pub = client.get("/api/v1/public/units/cbeh/messages").get_json()["messages"]
    assert [p["answer"] for p in pub] == ["一般 15 个工作日内办结。"]


def test_concurrent_deliveries_give_one_message(app, safe_mode):
    out = follower_says(safe_mode, "核酸检测点在哪里？", openid="o_conc", deliveries=3, concurrent=True)
    assert out["status"] in ("delivered", "replied")
    assert len(wait_for(lambda: inbox(safe_mode, "open") or None)) == 1


def test_forwarding_to_a_unit_of_the_subtree(app, world, factory, client):
    from support import Api

    factory.unit("sumu", "巴彦库仁镇", parent="cbeh", kind="department")
    factory.user("sumu_ed", "sumu", "editor")
    api = world["api"]
    mid = api["editor"].post("/messages", json={"unit": "cbeh", "channel": "transfer", "text": "镇上道路积水",
                                                "received_at": "2026-03-02T09:00:00"}).get_json()["id"]
    assert api["editor"].post(f"/messages/{mid}/forward", json={"unit": "other", "note": "x"}).status_code == 400
    r = api["editor"].post(f"/messages/{mid}/forward", json={"unit": "sumu", "note": "请镇政府核实处理"})
    assert r.status_code == 200, r.get_json()
    sumu = Api(client, factory.token("sumu_ed"))
    (got,) = sumu.get("/messages", query_string={"unit": "sumu"}).get_json()["messages"]
    assert got["id"] == mid and got["assignee"] is None
    assert api["supervisor"].get("/messages", query_string={"unit": "sumu"}).get_json()["messages"][0]["id"] == mid
    assert not api["editor"].get("/messages", query_string={"unit": "cbeh"}).get_json()["messages"]


def test_staff_pages_handle_a_message_in_chinese(app, world):
    web = app.test_client()
    api = world["api"]
    mid = api["editor"].post("/messages", json={"unit": "cbeh", "channel": "letter", "text": "来信反映供暖不达标",
                                                "received_at": "2026-03-02T09:00:00"}).get_json()["id"]
    login(web, "editor")
    page = web.get("/interaction?unit=cbeh").get_data(as_text=True)
    assert "网民留言" in page and "来信反映供暖不达标" in page and "来信" in page
    html = web.get(f"/interaction/messages/{mid}").get_data(as_text=True)
    assert "起草答复" in html and "open" not in re.sub(r"<[^>]+>", "", html).split()
    csrf = csrf_token(html)
    r = web.post(f"/interaction/messages/{mid}/answer", data={"csrf_token": csrf, "text": "已安排供热公司上门检测。"},
                 follow_redirects=True)
    assert "答复已送审" in r.get_data(as_text=True)
    assert 'data-testid="approve-answer"' not in r.get_data(as_text=True)  # not for its author
    r1 = app.test_client()
    login(r1, "r1")
    html = r1.get(f"/interaction/messages/{mid}").get_data(as_text=True)
    assert 'data-testid="approve-answer"' in html
    aid = re.search(r'name="answer_id" value="(\d+)"', html).group(1)
    rh = re.search(r'name="revision_hash" value="([0-9a-f]{64})"', html).group(1)
    r = r1.post(f"/interaction/messages/{mid}/approve", data={"csrf_token": csrf_token(html), "answer_id": aid,
                                                              "revision_hash": rh}, follow_redirects=True)
    assert "答复审核通过" in r.get_data(as_text=True)
    run_burst_worker(app)
    assert "已办结" in r1.get(f"/interaction/messages/{mid}").get_data(as_text=True)
    qa = r1.get("/interaction/qa").get_data(as_text=True)
    assert "咨询问答库" in qa


def test_a_failed_send_is_not_repeated_and_an_edit_sends_it_after_review(app, safe_mode):
    follower_says(safe_mode, "医保卡余额怎么查？", openid="o_fail")
    (m,) = wait_for(lambda: inbox(safe_mode, "open") or None)
    api = safe_mode["api"]
    ans = api["editor"].post(f"/messages/{m['id']}/answer", json={"text": "可在医保服务平台查询。"}).get_json()
    safe_mode["sim"].faults(busy_rate=1.0)
    assert api["r1"].post(f"/answers/{ans['id']}/approve", json={"revision_hash": ans["revision_hash"]}).status_code == 200
    run_burst_worker(app)
    safe_mode["sim"].faults()
    failed = api["editor"].get(f"/answers/{ans['id']}").get_json()
    assert failed["status"] == "failed"
    assert inbox(safe_mode, "open")[0]["status"] == "open"
    run_burst_worker(app)  # nothing resends it on its own
    assert not [c for c in safe_mode["sim"].state()["custom_messages"] if c["touser"] == "o_fail"]
    again = api["editor"].patch(f"/answers/{ans['id']}", json={"text": "可在医保服务平台查询。"}).get_json()
    assert again["status"] == "in_review" and again["revision_hash"] != ans["revision_hash"]
    assert api["r2"].post(f"/answers/{ans['id']}/approve", json={"revision_hash": again["revision_hash"]}).status_code == 200
    run_burst_worker(app)
    assert [c["content"] for c in safe_mode["sim"].state()["custom_messages"] if c["touser"] == "o_fail"] == [
        "可在医保服务平台查询。"]


def test_the_sweeper_sends_an_approved_answer_whose_enqueue_was_lost(app, safe_mode):
    from hub.interaction import jobs
    from hub.models import MessageAnswer
    from hub.queue import get_queue

    follower_says(safe_mode, "新生儿落户需要什么？", openid="o_lost")
    (m,) = wait_for(lambda: inbox(safe_mode, "open") or None)
    api = safe_mode["api"]
    ans = api["editor"].post(f"/messages/{m['id']}/answer", json={"text": "请携带出生医学证明到派出所办理。"}).get_json()
    assert api["r1"].post(f"/answers/{ans['id']}/approve", json={"revision_hash": ans["revision_hash"]}).status_code == 200
    get_queue(app.config).empty()  # the enqueue is lost
    with app.app_context():
        with db.transaction() as s:
            row = s.get(MessageAnswer, ans["id"])
            row.updated_at = row.updated_at - timedelta(minutes=5)
        db.session.remove()
    jobs.sweep(app)
    run_burst_worker(app)
    assert [c["content"] for c in safe_mode["sim"].state()["custom_messages"] if c["touser"] == "o_lost"] == [
        "请携带出生医学证明到派出所办理。"]
