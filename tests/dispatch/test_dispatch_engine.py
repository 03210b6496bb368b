"""The dispatch engine against the real WeChat simulator: classified errors, lost answers
reconciled (never resent), worker death recovered, admin retry only after verification."""

from __future__ import annotations

from datetime import timedelta

import pytest
from dispatch_helpers import LosingWeChat, RunningSim, approve_post, assert_no_duplicates, dispatches
from sqlalchemy import select
from support import run_burst_worker

from hub.db import db


@pytest.fixture
def lossy(factory, world):
    """A second simulator whose chosen answers get lost, with one account of cbeh on it."""
    made = []

    def make(lose: dict[str, int], appid: str = "wx_lossy") -> tuple[RunningSim, int]:
        sim = RunningSim(LosingWeChat(lose, publish_delay=0.3))
        made.append(sim)
        sim.register(appid, "secret-lossy")
        acc = factory.account("cbeh", f"陈巴尔虎旗融媒{len(made)}", sim.base, appid=appid, secret="secret-lossy",
                              is_main=False, justification="融媒体中心")
        return sim, acc.id

    yield make
    for sim in made:
        sim.close()


def _audit_actions(app, dispatch_id):
    from hub.models import AuditEntry

    with app.app_context():
        s = db.session()
        rows = s.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "dispatch",
                                                         AuditEntry.object_id == str(dispatch_id))
                         .order_by(AuditEntry.seq)).all()
        db.session.remove()
        return list(rows)


def _attempt_kinds(world, dispatch_id):
    r = world["api"]["editor"].get(f"/dispatches/{dispatch_id}")
    assert r.status_code == 200, r.get_json()
    return [(a["kind"], a["outcome"]) for a in r.get_json()["attempts_log"]]


def test_lost_draft_answer_resumes_from_the_same_draft(app, world, lossy):
    sim, account_id = lossy({"draft/add": 1})
    post_id = approve_post(world["api"], [account_id])
    run_burst_worker(app, timeout=90)
    (d,) = dispatches(app, [post_id])
    assert d.status == "published", d.error
    assert sim.sim.seen["draft/add"] == 1  # the draft was never added twice
    state = sim.state()
    assert len(state["published"]) == 1 and state["drafts"] == []
    assert_no_duplicates(state, [d])
    kinds = _attempt_kinds(world, d.id)
    assert kinds[0] == ("publish", "unconfirmed")
    assert ("reconcile", "requeued") in kinds and kinds[-1] == ("publish", "published")
    actions = _audit_actions(app, d.id)
    for action in ("dispatch.attempt", "dispatch.unconfirmed", "dispatch.requeued", "dispatch.published"):
        assert action in actions


def test_lost_submit_answer_is_confirmed_not_resent(app, world, lossy):
    sim, account_id = lossy({"freepublish/submit": 1})
    post_id = approve_post(world["api"], [account_id])
    run_burst_worker(app, timeout=90)
    (d,) = dispatches(app, [post_id])
    assert d.status == "published", d.error
    assert sim.sim.seen["freepublish/submit"] == 1
    state = sim.state()
    assert len(state["published"]) == 1
    assert d.url == state["published"][0]["url"]
    assert "dispatch.reconciled" in _audit_actions(app, d.id)
    post = world["api"]["editor"].get(f"/posts/{post_id}").get_json()
    assert post["status"] == "published"


def test_busy_answers_and_stale_tokens_are_retried(app, world):
    api, sim = world["api"], world["sim"]
    first = approve_post(api, world["accounts"][:1])
    run_burst_worker(app)
    sim.faults(busy_rate=0.3, seed=11)
    requests_post = __import__("requests").post
    requests_post(sim.base + "/_sim/expire_tokens", timeout=5).raise_for_status()
    second = approve_post(api, world["accounts"], title="关于冬季防火的补充通知")
    run_burst_worker(app, timeout=120)
    rows = dispatches(app, [first, second])
    assert [d.status for d in rows] == ["published"] * 3, [(d.status, d.error) for d in rows]
    sim.faults()
    assert_no_duplicates(sim.state(), rows)


def test_dead_worker_is_recovered_through_reconciliation(app, world):
    from hub.dispatch.jobs.reconcile import recover
    from hub.models import Dispatch, utcnow

    post_id = approve_post(world["api"], world["accounts"][:1])
    (d,) = dispatches(app, [post_id])
    with app.app_context():
        with db.transaction() as s:  # as if a worker claimed it and died before any platform call
            row = s.get(Dispatch, d.id)
            row.status, row.claim, row.attempts = "sending", "dead-worker", 1
            row.lease_until = utcnow() - timedelta(seconds=1)
        assert recover(app) >= 1
        db.session.remove()
    (d,) = dispatches(app, [post_id])
    assert d.status == "unconfirmed" and "中断" in d.error
    run_burst_worker(app, timeout=60)
    (d,) = dispatches(app, [post_id])
    assert d.status == "published"
    assert len(world["sim"].state()["published"]) == 1
    kinds = _attempt_kinds(world, d.id)
    assert ("recover", "unconfirmed") in kinds and ("reconcile", "requeued") in kinds
    assert "dispatch.recovered" in _audit_actions(app, d.id)


def test_unreachable_platform_keeps_unconfirmed_with_reason_and_alerts_admins(app, world, lossy, monkeypatch):
    from hub.dispatch.jobs.publish import publish_dispatch
    from hub.dispatch.jobs.reconcile import reconcile_dispatch
    from hub.models import AuditEntry

    monkeypatch.setenv("HUB_UNCONFIRMED_ALERT", "0")
    sim, account_id = lossy({"draft/add": 1})
    post_id = approve_post(world["api"], [account_id])
    (d,) = dispatches(app, [post_id])
    assert publish_dispatch(d.id) == "unconfirmed"
    sim.close()  # the platform can no longer be asked
    assert reconcile_dispatch(d.id) == "unconfirmed"
    (d,) = dispatches(app, [post_id])
    assert d.status == "unconfirmed" and d.error.startswith("无法向平台核实") and d.alerted_at is not None
    with app.app_context():
        alert = db.session().scalars(select(AuditEntry).where(AuditEntry.action == "dispatch.alert")).one()
        assert "admin" in alert.details and "无法核实" in alert.summary
        db.session.remove()
    assert world["api"]["editor"].get(f"/posts/{post_id}").get_json()["status"] == "publishing"
    # Nobody may retry what might have happened.
    r = world["api"]["admin"].post(f"/dispatches/{d.id}/retry")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_failed"


def test_permanent_error_fails_and_admin_retries_only_after_verification(app, world):
    from hub.dispatch.jobs.publish import publish_dispatch
    from hub.dispatch.jobs.reconcile import reconcile_dispatch

    api = world["api"]
    post_id = approve_post(api, world["accounts"][:1], content="<p>测试内容 SIM-FAIL-CHECK</p>")
    (d,) = dispatches(app, [post_id])
    assert publish_dispatch(d.id) == "failed"
    (d,) = dispatches(app, [post_id])
    assert d.status == "failed" and "未通过微信发布检查" in d.error and d.absent_at is None
    assert api["editor"].get(f"/posts/{post_id}").get_json()["status"] == "failed"

    r = api["admin"].post(f"/dispatches/{d.id}/retry")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_reconciled"
    assert reconcile_dispatch(d.id) == "absent"
    assert api["editor"].post(f"/dispatches/{d.id}/retry").status_code == 403
    assert api["outsider"].post(f"/dispatches/{d.id}/retry").status_code == 404
    assert api["admin"].post(f"/dispatches/{d.id}/retry", data=b"not json",
                             content_type="application/json").status_code == 400
    r = api["admin"].post(f"/dispatches/{d.id}/retry")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == "pending"
    assert api["editor"].get(f"/posts/{post_id}").get_json()["status"] == "publishing"
    assert "dispatch.retry" in _audit_actions(app, d.id)
    # The retry resumes from the draft already in the draft box: still no second draft.
    assert publish_dispatch(d.id) == "failed"
    assert len(world["sim"].state()["drafts"]) == 1
    assert world["sim"].state()["published"] == []


def test_retry_of_a_published_dispatch_is_refused(app, world):
    post_id = approve_post(world["api"], world["accounts"][:1])
    run_burst_worker(app)
    (d,) = dispatches(app, [post_id])
    r = world["api"]["admin"].post(f"/dispatches/{d.id}/retry", json={})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_failed"


def test_quota_waits_for_the_next_day(app, world):
    from hub.dispatch.jobs.publish import publish_dispatch

    world["sim"].faults(quota_exhausted=True)
    post_id = approve_post(world["api"], world["accounts"][:1])
    (d,) = dispatches(app, [post_id])
    assert publish_dispatch(d.id) == "retry"
    from hub.models import Dispatch

    with app.app_context():
        row = db.session().get(Dispatch, d.id)
        assert row.status == "pending" and "明日" in row.error
        assert row.not_before.hour == 16 and row.not_before.minute == 5  # 00:05 Asia/Shanghai
        db.session.remove()


def test_one_dispatch_per_account_at_a_time(app, world):
    from hub.dispatch.jobs.publish import publish_dispatch
    from hub.models import Dispatch, utcnow

    first = approve_post(world["api"], world["accounts"][:1])
    second = approve_post(world["api"], world["accounts"][:1], title="第二篇通知")
    a, b = dispatches(app, [first, second])
    with app.app_context():
        with db.transaction() as s:
            row = s.get(Dispatch, a.id)
            row.status, row.claim, row.lease_until = "sending", "live-worker", utcnow() + timedelta(seconds=30)
        db.session.remove()
    assert publish_dispatch(b.id) == "account-busy"
    assert dispatches(app, [second])[0].status == "pending"


def test_platforms_endpoint_lists_limits_and_credential_fields(world):
    r = world["api"]["editor"].get("/platforms")
    assert r.status_code == 200
    by = {p["platform"]: p for p in r.get_json()["platforms"]}
    assert by["wechat"]["limits"]["title"] == 64 and by["weibo"]["limits"]["text"] == 140
    assert any(f["name"] == "api_token" and f["secret"] for f in by["website"]["credentials"])
