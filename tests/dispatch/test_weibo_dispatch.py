"""Weibo through the whole engine: the rendering is what goes out, ``rip`` is the acting user's IP
from the audit trail (or HUB_WEIBO_RIP for scheduled sends), and Weibo's hourly limit waits an hour."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests
from dispatch_helpers import approve_post, dispatches
from support import ALL_CONFIRMATIONS, run_burst_worker

from hub.db import db

SAFE_URL = "https://www.cbeh.gov.cn/"
GOV_CN = "https://www.gov.cn/zhengce/content/2026-01/01/content_1.htm"


class Weibo:
    def __init__(self) -> None:
        from adapters.simulators import weibo as weibo_sim

        self.server = weibo_sim.make_server("127.0.0.1", 0)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        r = requests.post(self.base + "/_sim/apps", json={"appid": "wbk", "secret": "wbs",
                                                          "safe_domain": "www.cbeh.gov.cn"}, timeout=5)
        self.token = r.json()["access_token"]

    def state(self) -> dict[str, Any]:
        return requests.get(self.base + "/_sim/state", timeout=5).json()

    def faults(self, **kw: Any) -> None:
        requests.post(self.base + "/_sim/faults", json=kw, timeout=5).raise_for_status()


@pytest.fixture
def weibo(app: Any, world: dict[str, Any]) -> Iterator[tuple[Weibo, int]]:
    from hub import audit
    from hub.accounts.filing import approve_through_chain
    from hub.accounts.service import create_account, set_credentials

    sim = Weibo()
    with db.transaction() as s:
        token = audit.current_actor.set(audit.Actor.system("test"))
        try:
            acc = create_account(s, None, {"platform": "weibo", "name": "陈巴尔虎旗发布微博", "unit": "cbeh",
                                           "api_base": sim.base})
            set_credentials(s, None, acc, {"app_key": "wbk", "app_secret": "wbs", "access_token": sim.token,
                                           "safe_url": SAFE_URL})
            approve_through_chain(s, acc)
            account_id = acc.id
        finally:
            audit.current_actor.reset(token)
    yield sim, account_id
    sim.server.shutdown()
    sim.server.server_close()


def _publication(app: Any, dispatch_id: int) -> Any:
    from hub.dispatch.publication import build_publication
    from hub.models import Dispatch

    with app.app_context():
        s = db.session()
        pub = build_publication(s, s.get(Dispatch, dispatch_id))
        s.rollback()
        db.session.remove()
        return pub


def test_a_gov_cn_source_and_topics_publish_with_a_safe_link_and_the_approvers_ip(app, world, weibo):
    """Done when: the status the simulator holds has a safe-domain link, no #…#, and a rip."""
    sim, account_id = weibo
    post_id = approve_post(world["api"], [account_id], source_url=GOV_CN,
                           variants={"weibo": {"text": "#政务公开# 国务院关于做好冬季供暖保障工作的通知"}})
    run_burst_worker(app)
    (d,) = dispatches(app, [post_id])
    assert d.status == "published", d.error
    (st,) = sim.state()["published"]
    assert st["text"] == "政务公开 国务院关于做好冬季供暖保障工作的通知 " + SAFE_URL
    assert "#" not in st["text"] and "gov.cn/zhengce" not in st["text"]
    assert st["rip"] == "127.0.0.1"  # the final approver's request, as the audit trail recorded it


def test_rip_is_the_final_approvers_recorded_ip(app, world, weibo):
    sim, account_id = weibo
    api = world["api"]
    r = api["editor"].post("/posts", json={"title": "关于冬季供暖的通知", "content": "<p>请做好供暖保障。</p>",
                                           "account_ids": [account_id]})
    post = r.get_json()
    assert api["editor"].post(f"/posts/{post['id']}/submit").status_code == 200
    for reviewer, ip in (("r1", "202.96.1.1"), ("r2", "202.96.1.2"), ("r3", "202.96.1.3")):
        r = api[reviewer].post(f"/posts/{post['id']}/approve", environ_base={"REMOTE_ADDR": ip},
                               json={"revision_hash": post["revision"]["hash"], "checks": ALL_CONFIRMATIONS})
        assert r.status_code == 200, r.get_json()
    (d,) = dispatches(app, [post["id"]])
    assert _publication(app, d.id).rip == "202.96.1.3"
    run_burst_worker(app)
    assert sim.state()["published"][0]["rip"] == "202.96.1.3"


def test_scheduled_sends_use_the_configured_address_and_publish_now_the_users(app, world, weibo):
    sim, account_id = weibo
    app.config["HUB_WEIBO_RIP"] = "203.0.113.7"
    try:
        at = (datetime.now() + timedelta(days=2)).replace(microsecond=0).isoformat()
        post_id = approve_post(world["api"], [account_id], publish_at=at)
        (d,) = dispatches(app, [post_id])
        assert _publication(app, d.id).rip == "203.0.113.7"  # no one acts when it goes out
        # "Publish now" by an editor from a public address: that user is the one acting.
        r = world["api"]["editor"].post(f"/posts/{post_id}/schedule", json={"publish_at": None},
                                        environ_base={"REMOTE_ADDR": "202.96.8.8"})
        assert r.status_code == 200, r.get_json()
        assert _publication(app, d.id).rip == "202.96.8.8"
        # An approver whose recorded address is not public (here loopback; an intranet address behind
        # the unit's NAT alike): the configured public address.
        post_id = approve_post(world["api"], [account_id], title="关于冬季供暖的第二份通知")
        (d,) = dispatches(app, [post_id])
        assert _publication(app, d.id).rip == "203.0.113.7"
    finally:
        app.config.pop("HUB_WEIBO_RIP")


def test_the_hourly_limit_waits_for_the_next_hour_not_the_next_day(app, world, weibo):
    from hub.dispatch.jobs.publish import publish_dispatch
    from hub.models import Dispatch, utcnow

    sim, account_id = weibo
    sim.faults(quota_exhausted=True)
    post_id = approve_post(world["api"], [account_id], source_url="https://www.cbeh.gov.cn/art/1.html")
    (d,) = dispatches(app, [post_id])
    assert publish_dispatch(d.id) == "retry"
    with app.app_context():
        row = db.session().get(Dispatch, d.id)
        assert row.status == "pending" and "整点" in row.error
        wait = (row.not_before - utcnow()).total_seconds()
        assert 50 <= wait <= 3661 and row.not_before.minute == 1  # a minute past the next full hour
        db.session.remove()
    assert sim.state()["published"] == []


def test_no_known_ip_fails_clearly_and_an_admin_retry_sends_the_admins(app, world, weibo):
    sim, account_id = weibo
    api = world["api"]
    post = api["editor"].post("/posts", json={"title": "关于冬季供暖的通知", "content": "<p>请做好供暖保障。</p>",
                                              "account_ids": [account_id]}).get_json()
    assert api["editor"].post(f"/posts/{post['id']}/submit").status_code == 200
    for reviewer in ("r1", "r2", "r3"):  # the last approval comes with no recorded address
        r = api[reviewer].post(f"/posts/{post['id']}/approve", environ_base={"REMOTE_ADDR": ""},
                               json={"revision_hash": post["revision"]["hash"], "checks": ALL_CONFIRMATIONS})
        assert r.status_code == 200, r.get_json()
    run_burst_worker(app)
    (d,) = dispatches(app, [post["id"]])
    assert d.status == "failed" and "rip" in d.error and "HUB_WEIBO_RIP" in d.error
    assert d.absent_at is not None and sim.state()["published"] == []  # nothing was sent
    r = api["admin"].post(f"/dispatches/{d.id}/retry", json={}, environ_base={"REMOTE_ADDR": "202.96.9.9"})
    assert r.status_code == 200, r.get_json()
    run_burst_worker(app)
    (d,) = dispatches(app, [post["id"]])
    assert d.status == "published", d.error
    assert sim.state()["published"][0]["rip"] == "202.96.9.9"
