"""Notifications end to end: a real `hub worker`, webhook receivers and an SMTP server on loopback.

Submitting a post makes one 企业微信-format and one 钉钉-format (signed) message arrive, naming the
post and linking to its review page; a receiver answering 500 neither stops the submit nor gets a
duplicate — it is retried until it takes the message, and exactly one delivery is recorded as sent."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from notify_helpers import Mailbox, Receiver
from sqlalchemy import select
from support import wait_for

from hub.db import db
from hub.models import NotifyDelivery

EXTERNAL = "https://hub.cbeh.gov.cn"
DING_SECRET = "SECexample-ding-signing-secret"
TITLE = "关于开展冬季安全生产检查的通知"


@pytest.fixture
def receivers() -> Iterator[dict[str, Receiver]]:
    rs = {"wecom": Receiver(), "dingtalk": Receiver()}
    yield rs
    for r in rs.values():
        r.close()


@pytest.fixture
def fast_worker(instance: dict[str, str], app: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[subprocess.Popen[bytes]]:
    """A real `hub worker` whose sweeper runs every second and re-enqueues after one second."""
    hold_daily(app)
    env = dict(os.environ, **instance, HUB_SWEEP_SECONDS="1", HUB_PENDING_GRACE="1", HUB_EXTERNAL_URL=EXTERNAL)
    log = open(Path(instance["HUB_INSTANCE_DIR"]) / "worker.log", "wb")
    p = subprocess.Popen([sys.executable, "-m", "hub", "worker"], env=env, stdout=log, stderr=subprocess.STDOUT)
    yield p
    p.terminate()
    try:
        p.wait(timeout=15)
    except subprocess.TimeoutExpired:
        p.kill()
    log.close()


def hold_daily(app: Any) -> None:
    """Mark today's daily run (digest, credential alerts) as done, so a worker started now does not run it
    behind the test's back; the tests call it themselves."""
    from hub.notify import jobs
    from hub.queue import get_redis

    key = jobs.DAY_KEY.format(queue=app.config["HUB_QUEUE"], day=jobs.beijing_now().date().isoformat())
    get_redis(app.config).set(key, "1", ex=86400)


def configure(api: Any, receivers: dict[str, Receiver], **extra: Any) -> dict[str, Any]:
    channels = [
        {"kind": "wecom", "name": "审核群", "url": receivers["wecom"].base + "/cgi-bin/webhook/send?key=wecom-key-123"},
        {"kind": "dingtalk", "name": "值班群", "url": receivers["dingtalk"].base + "/robot/send?access_token=tok-456",
         "secret": DING_SECRET, "msgtype": "markdown"},
    ] + extra.get("more", [])
    r = api.put("/units/cbeh/notifications", json={"channels": channels})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def submit(world: dict[str, Any], title: str = TITLE) -> int:
    api = world["api"]
    r = api["editor"].post("/posts", json={"title": title, "content": "<p>请各单位认真开展检查。</p>",
                                           "account_ids": world["accounts"][:1]})
    assert r.status_code == 201, r.get_json()
    pid = r.get_json()["id"]
    r = api["editor"].post(f"/posts/{pid}/submit")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == "in_review"
    return int(pid)


def deliveries(app: Any) -> list[NotifyDelivery]:
    with app.app_context():
        rows = list(db.session().scalars(select(NotifyDelivery).order_by(NotifyDelivery.id)))
        db.session.remove()
        return rows


def test_submit_sends_wecom_and_signed_dingtalk_messages_linking_to_the_review_page(
        world, receivers, fast_worker, monkeypatch):
    monkeypatch.setenv("HUB_EXTERNAL_URL", EXTERNAL)
    api = world["api"]
    shown = configure(api["admin"], receivers)
    assert all("key" not in (c["url"] or "") and "tok-456" not in (c["url"] or "") for c in shown["channels"])
    assert DING_SECRET not in str(shown)
    pid = submit(world)
    review_link = f"{EXTERNAL}/review/{pid}"

    wait_for(lambda: receivers["wecom"].ok() and receivers["dingtalk"].ok(), timeout=30)
    wecom = receivers["wecom"].ok()
    assert len(wecom) == 1
    msg = wecom[0]
    assert msg["path"] == "/cgi-bin/webhook/send" and msg["query"] == {"key": ["wecom-key-123"]}
    assert msg["content_type"].startswith("application/json")
    assert msg["body"]["msgtype"] == "markdown"
    content = msg["body"]["markdown"]["content"]
    assert TITLE in content and review_link in content

    ding = receivers["dingtalk"].ok()
    assert len(ding) == 1
    q = ding[0]["query"]
    assert q["access_token"] == ["tok-456"]
    ts = q["timestamp"][0]
    expected = base64.b64encode(hmac.new(DING_SECRET.encode(), f"{ts}\n{DING_SECRET}".encode(),
                                         hashlib.sha256).digest()).decode()
    assert q["sign"] == [expected]  # parse_qs undid the URL-encoding the hub applied
    assert "sign=" + urllib.parse.quote_plus(expected) in ding[0]["raw_query"]
    body = ding[0]["body"]
    assert body["msgtype"] == "markdown"
    assert TITLE in body["markdown"]["title"] and review_link in body["markdown"]["text"]
    # The secret never travels in the message itself.
    assert DING_SECRET not in str(body) and DING_SECRET not in str(msg["body"])

    # In-app: each reviewer of step 1 has it, linking to the review page; the editor does not.
    for who in ("r1", "r2", "r3"):
        got = api[who].get("/notifications").get_json()
        assert got["unread"] == 1
        assert got["notifications"][0]["link"] == review_link and TITLE in got["notifications"][0]["text"]
    assert api["editor"].get("/notifications").get_json()["unread"] == 0


def test_a_receiver_answering_500_does_not_stop_the_submit_and_is_retried_once_to_success(
        app, world, receivers, fast_worker, monkeypatch):
    monkeypatch.setenv("HUB_EXTERNAL_URL", EXTERNAL)
    receivers["dingtalk"].fail_with = [500, 500]
    configure(world["api"]["admin"], receivers)
    pid = submit(world)  # answered 200 at once: the channel is not in the way

    wait_for(lambda: receivers["dingtalk"].ok(), timeout=60)
    wait_for(lambda: all(d.status == "sent" for d in deliveries(app)), timeout=30)
    ding_calls = receivers["dingtalk"].requests
    assert [c["status"] for c in ding_calls] == [500, 500, 200]
    assert len(receivers["wecom"].ok()) == 1
    rows = deliveries(app)
    sent = [d for d in rows if d.status == "sent"]
    assert len(sent) == 2 and len(rows) == 2  # one per channel, no duplicates
    ding_row = next(d for d in rows if d.attempts == 3)
    assert ding_row.last_error is None and ding_row.sent_at is not None
    assert str(pid) in ding_row.link


def test_redis_down_at_the_commit_leaves_it_pending_and_the_sweeper_sends_it(
        app, world, receivers, fast_worker, monkeypatch):
    monkeypatch.setenv("HUB_EXTERNAL_URL", EXTERNAL)
    configure(world["api"]["admin"], receivers)
    real = app.config["HUB_REDIS_URL"]
    app.config["HUB_REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens there: every enqueue fails
    try:
        submit(world)
    finally:
        app.config["HUB_REDIS_URL"] = real
    assert {d.status for d in deliveries(app)} == {"pending"}
    wait_for(lambda: receivers["wecom"].ok() and receivers["dingtalk"].ok(), timeout=60)
    wait_for(lambda: all(d.status == "sent" for d in deliveries(app)), timeout=30)
    assert len(receivers["wecom"].ok()) == 1 and len(receivers["dingtalk"].ok()) == 1


def test_email_reaches_a_reviewer_who_chose_it_through_a_real_smtp_server(
        app, world, receivers, instance, monkeypatch, factory):
    box = Mailbox()
    hold_daily(app)
    try:
        env = dict(os.environ, **instance, HUB_SWEEP_SECONDS="1", HUB_PENDING_GRACE="1",
                   HUB_EXTERNAL_URL=EXTERNAL, HUB_SMTP_HOST="127.0.0.1", HUB_SMTP_PORT=str(box.port),
                   HUB_SMTP_FROM="hub@cbeh.gov.cn")
        log = open(Path(instance["HUB_INSTANCE_DIR"]) / "worker-mail.log", "wb")
        worker = subprocess.Popen([sys.executable, "-m", "hub", "worker"], env=env, stdout=log,
                                  stderr=subprocess.STDOUT)
        try:
            monkeypatch.setenv("HUB_EXTERNAL_URL", EXTERNAL)
            api = world["api"]
            r = api["admin"].put("/units/cbeh/notifications", json={"channels": [
                {"kind": "email", "name": "邮件", "to": ["office@cbeh.gov.cn"]}]})
            assert r.status_code == 200, r.get_json()
            with app.app_context():
                from hub.models import User
                from hub.notify import inbox

                with db.transaction() as s:
                    r1 = s.scalars(select(User).where(User.username == "r1")).one()
                    inbox.set_preferences(s, r1, email="r1@cbeh.gov.cn", email_on=True, wecom_on=True,
                                          dingtalk_on=True, digest=False)
                    r2 = s.scalars(select(User).where(User.username == "r2")).one()
                    inbox.set_preferences(s, r2, email="r2@cbeh.gov.cn", email_on=True, wecom_on=True,
                                          dingtalk_on=True, digest=True)  # one message a day: not now
                db.session.remove()
            pid = submit(world)
            wait_for(lambda: len(box.messages) >= 2, timeout=30)
            wait_for(lambda: not [d for d in deliveries(app) if d.status in ("pending", "sending")], timeout=30)
            rcpts = sorted(a for m in box.messages for a in m["to"])
            assert rcpts == ["office@cbeh.gov.cn", "r1@cbeh.gov.cn"]
            m = next(m for m in box.messages if m["to"] == ["r1@cbeh.gov.cn"])
            assert m["from"] == "hub@cbeh.gov.cn" and TITLE in m["subject"]
            assert f"{EXTERNAL}/review/{pid}" in m["body"]
            held = [d for d in deliveries(app) if d.status == "held"]
            assert len(held) == 1  # r2's waits for the daily digest

            # The digest: r2's held messages become one e-mail.
            from hub.notify import jobs

            assert jobs.daily(app, "2026-12-04")["digests"] == 1
            wait_for(lambda: any(m["to"] == ["r2@cbeh.gov.cn"] for m in box.messages), timeout=30)
            digest = next(m for m in box.messages if m["to"] == ["r2@cbeh.gov.cn"])
            assert "今日通知汇总" in digest["subject"] and f"{EXTERNAL}/notifications" in digest["body"]
        finally:
            worker.terminate()
            worker.wait(timeout=15)
            log.close()
    finally:
        box.close()


def test_wecom_application_message_reaches_the_reviewer_with_a_fresh_token(app, world, fast_worker, monkeypatch):
    from notify_helpers import WeComApi

    monkeypatch.setenv("HUB_EXTERNAL_URL", EXTERNAL)
    wecom = WeComApi("ww0123456789", "app-secret-canary", expire_first=True)
    try:
        api = world["api"]
        r = api["admin"].put("/units/cbeh/notifications", json={"channels": [
            {"kind": "wecom_app", "corpid": "ww0123456789", "agentid": 1000002, "secret": "app-secret-canary",
             "api_base": wecom.base}]})
        assert r.status_code == 200, r.get_json()
        assert "app-secret-canary" not in r.get_data(as_text=True)
        assert r.get_json()["channels"][0]["secret_set"] is True
        with app.app_context():
            from hub.models import User
            from hub.notify import inbox

            with db.transaction() as s:
                r1 = s.scalars(select(User).where(User.username == "r1")).one()
                inbox.set_preferences(s, r1, email="", email_on=False, wecom_on=True, dingtalk_on=True,
                                      digest=False, wecom_userid="ZhangChuShen")
            db.session.remove()
        pid = submit(world)
        wait_for(lambda: wecom.accepted(), timeout=30)
        wait_for(lambda: all(d.status == "sent" for d in deliveries(app)), timeout=30)
        (sent,) = wecom.accepted()
        body = sent["body"]
        assert body["touser"] == "ZhangChuShen" and body["agentid"] == 1000002 and body["msgtype"] == "textcard"
        assert TITLE in body["textcard"]["title"] and body["textcard"]["url"] == f"{EXTERNAL}/review/{pid}"
        # The first token had expired: the worker fetched a new one once and sent once more.
        assert [c["corpid"] for c in wecom.token_calls] == [["ww0123456789"], ["ww0123456789"]]
        assert [s["errcode"] for s in wecom.sends] == [42001, 0]
        assert len(deliveries(app)) == 1  # only r1 gave a 企业微信 account
    finally:
        wecom.close()
