"""Scheduling, cancel, withdraw (撤稿) and the per-unit pause switch."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from review_helpers import approve, create, err, submit, through
from sqlalchemy import select
from support import Api, run_burst_worker

from hub.db import db
from hub.models import AuditEntry, Dispatch


def _iso_in(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def test_scheduled_post_publishes_at_its_time_via_rq(world, app):
    api = world["api"]
    post = create(api["editor"], world["accounts"])
    submit(api["editor"], post["id"])
    h = post["revision"]["hash"]
    approve(api["r1"], post["id"], h)
    approve(api["r2"], post["id"], h)
    at = _iso_in(3)
    r = api["editor"].post(f"/posts/{post['id']}/schedule", json={"publish_at": at})
    assert r.status_code == 200 and r.get_json()["revision"]["hash"] == h  # no new revision
    body = approve(api["r3"], post["id"], h).get_json()
    assert body["status"] == "approved" and [d["status"] for d in body["dispatches"]] == ["pending"]
    run_burst_worker(app, timeout=30)  # waits for the scheduled job
    final = api["editor"].get(f"/posts/{post['id']}").get_json()
    assert final["status"] == "published"
    published_at = datetime.fromisoformat(final["dispatches"][0]["published_at"].replace("Z", "+00:00"))
    assert published_at >= datetime.fromisoformat(at)
    history = [e["action"] for e in api["editor"].get(f"/posts/{post['id']}/history").get_json()["entries"]]
    assert "post.reschedule" in history and "post.scheduled" in history


def test_missed_time_waits_for_the_editor(world, app):
    api = world["api"]
    post = create(api["editor"], world["accounts"], publish_at=_iso_in(3600))
    submit(api["editor"], post["id"])
    h = post["revision"]["hash"]
    approve(api["r1"], post["id"], h)
    approve(api["r2"], post["id"], h)
    # The time passes before the final approval (set directly: the API refuses past times).
    from sqlalchemy import update

    from hub.db import db
    from hub.models import Post

    with db.transaction() as s:
        s.execute(update(Post).where(Post.id == post["id"]).values(publish_at=datetime(2020, 1, 1)))
    body = approve(api["r3"], post["id"], h).get_json()
    assert body["status"] == "approved" and body["dispatches"] == []
    run_burst_worker(app)
    assert world["sim"].state()["published"] == []  # never a surprise late publication
    assert err(api["editor"].post(f"/posts/{post['id']}/schedule", json={"publish_at": "2020-01-02T08:00:00"})) \
        == (422, "publish_at_past")
    assert err(api["editor"].post(f"/posts/{post['id']}/schedule", json={})) == (400, "missing_publish_at")
    assert err(api["editor"].post(f"/posts/{post['id']}/schedule", json={"publish_at": "明天"})) \
        == (400, "invalid_publish_at")
    assert err(api["r1"].post(f"/posts/{post['id']}/schedule", json={"publish_at": None})) == (403, "not_editor")
    r = api["editor"].post(f"/posts/{post['id']}/schedule", json={"publish_at": None})
    assert r.status_code == 200 and r.get_json()["status"] == "publishing"
    run_burst_worker(app)
    assert api["editor"].get(f"/posts/{post['id']}").get_json()["status"] == "published"


def test_cancel_and_reschedule_without_reapproval(world, app):
    api = world["api"]
    post = create(api["editor"], world["accounts"], publish_at=_iso_in(7200))
    body = through(api, post, ["r1", "r2", "r3"])
    assert body["status"] == "approved"
    r = api["editor"].post(f"/posts/{post['id']}/schedule/cancel")
    assert r.status_code == 200
    body = r.get_json()
    assert body["status"] == "approved" and body["publish_at"] is None
    assert [d["status"] for d in body["dispatches"]] == ["cancelled"]
    assert err(api["editor"].post(f"/posts/{post['id']}/schedule/cancel")) == (409, "not_scheduled")
    # Reschedule: the same approved revision is armed again, no new review.
    r = api["editor"].post(f"/posts/{post['id']}/schedule", json={"publish_at": _iso_in(5400)})
    body = r.get_json()
    assert r.status_code == 200 and body["status"] == "approved"
    assert [d["status"] for d in body["dispatches"]] == ["pending"]
    assert body["revision"]["hash"] == post["revision"]["hash"] and len(body["approvals"]) == 3
    # PATCHing only the time of an approved post is the same reschedule.
    r = api["editor"].patch(f"/posts/{post['id']}", json={"publish_at": None})
    assert r.status_code == 200 and r.get_json()["status"] == "publishing"
    draft = create(api["editor"], world["accounts"])
    assert err(api["editor"].post(f"/posts/{draft['id']}/schedule/cancel")) == (409, "not_scheduled")


def test_withdraw_takes_the_post_down_everywhere(world, app):
    api = world["api"]
    post = create(api["editor"], world["accounts"], account_ids=world["accounts"])
    through(api, post, ["r1", "r2", "r3"])
    run_burst_worker(app)
    assert api["editor"].get(f"/posts/{post['id']}").get_json()["status"] == "published"
    pid = post["id"]
    assert err(api["outsider"].post(f"/posts/{pid}/withdraw", json={"reason": "x"})) == (404, "post_not_found")
    assert err(api["editor"].post(f"/posts/{pid}/withdraw", json={"reason": "x"})) == (403, "not_allowed_to_withdraw")
    assert err(api["admin"].post(f"/posts/{pid}/withdraw", json={})) == (400, "missing_reason")
    assert err(api["admin"].post(f"/posts/{pid}/withdraw", json={"reason": " "})) == (400, "missing_reason")
    r = api["admin"].post(f"/posts/{pid}/withdraw", json={"reason": "数据有误，撤回更正"})
    assert r.status_code == 200 and r.get_json()["status"] == "withdrawn"
    run_burst_worker(app)
    body = api["editor"].get(f"/posts/{pid}").get_json()
    assert [d["status"] for d in body["dispatches"]] == ["withdrawn", "withdrawn"]
    assert {p["status"] for p in world["sim"].state()["published"]} == {"deleted"}
    history = [e["action"] for e in api["editor"].get(f"/posts/{pid}/history").get_json()["entries"]]
    assert "post.withdraw" in history and history.count("dispatch.withdrawn") == 2
    assert err(api["admin"].post(f"/posts/{pid}/withdraw", json={"reason": "再次"})) == (409, "not_withdrawable")


def test_withdraw_of_an_article_already_deleted_on_the_platform_is_recorded_as_such(world, app):
    from adapters.wechat import WeChatAdapter

    api = world["api"]
    post = create(api["editor"], world["accounts"], account_ids=world["accounts"])
    through(api, post, ["r1", "r2", "r3"])
    run_burst_worker(app)
    pid = post["id"]
    with db.transaction() as s:
        rows = s.scalars(select(Dispatch).where(Dispatch.post_id == pid).order_by(Dispatch.account_id)).all()
        first, second = ({"id": d.id, "platform_ref": d.platform_ref, "article_id": d.article_id} for d in rows)
    assert rows[0].account_id == world["accounts"][0]  # the account of wx_main
    # Someone deletes that account's article in the WeChat backend before the hub withdraws it.
    own = WeChatAdapter(world["sim"].base, {"app_id": "wx_main", "app_secret": "secret-main"}, None)
    assert own.withdraw(first["platform_ref"], first["article_id"]) is True
    r = api["admin"].post(f"/posts/{pid}/withdraw", json={"reason": "数据有误，撤回更正"})
    assert r.status_code == 200
    run_burst_worker(app)
    got = {d["id"]: d for d in api["editor"].get(f"/posts/{pid}").get_json()["dispatches"]}
    assert got[first["id"]]["status"] == got[second["id"]]["status"] == "withdrawn"
    assert "平台上已没有该内容" in got[first["id"]]["error"]
    assert not got[second["id"]]["error"]
    entries = [e for e in api["editor"].get(f"/posts/{pid}/history").get_json()["entries"]
               if e["action"] == "dispatch.withdrawn"]
    summaries = {e["object_id"]: e["summary"] for e in entries}
    assert "已没有该内容" in summaries[str(first["id"])] and "已从" in summaries[str(second["id"])]
    details = {e.object_id: json.loads(e.details) for e in db.session().scalars(
        select(AuditEntry).where(AuditEntry.action == "dispatch.withdrawn"))}
    assert details[str(first["id"])]["already_gone"] is True
    assert details[str(first["id"])]["deleted_on_platform"] is False
    assert details[str(second["id"])]["deleted_on_platform"] is True
    assert details[str(second["id"])]["already_gone"] is False


def test_final_step_reviewers_may_withdraw_and_scheduled_posts_are_cancelled(world, app):
    api = world["api"]
    post = create(api["editor"], world["accounts"], publish_at=_iso_in(7200))
    through(api, post, ["r1", "r2", "r3"])
    draft = create(api["editor"], world["accounts"])
    assert err(api["r1"].post(f"/posts/{draft['id']}/withdraw", json={"reason": "x"})) == (409, "not_withdrawable")
    # Under the default chain every unit reviewer is a final-step reviewer.
    r = api["r1"].post(f"/posts/{post['id']}/withdraw", json={"reason": "暂缓发布"})
    assert r.status_code == 200
    body = r.get_json()
    assert body["status"] == "withdrawn" and [d["status"] for d in body["dispatches"]] == ["cancelled"]
    run_burst_worker(app)
    assert world["sim"].state()["published"] == []


def test_pause_holds_dispatches_until_resumed(world, app):
    api = world["api"]
    assert err(api["editor"].post("/units/cbeh/pause", json={"reason": "x"})) == (403, "not_allowed_to_pause")
    assert err(api["admin"].post("/units/cbeh/pause", json={})) == (400, "missing_reason")
    assert err(api["admin"].post("/units/other/pause", json={"reason": "x"})) == (404, "unit_not_found")
    r = api["admin"].post("/units/cbeh/pause", json={"reason": "重大活动期间暂停发布"})
    assert r.status_code == 200 and r.get_json()["paused"] is True
    assert err(api["admin"].post("/units/cbeh/pause", json={"reason": "again"})) == (409, "already_paused")
    post = create(api["editor"], world["accounts"])
    assert through(api, post, ["r1", "r2", "r3"])["status"] == "publishing"
    run_burst_worker(app)
    body = api["editor"].get(f"/posts/{post['id']}").get_json()
    assert [d["status"] for d in body["dispatches"]] == ["pending"]
    assert world["sim"].state()["published"] == []
    r = api["admin"].post("/units/cbeh/resume")
    assert r.status_code == 200 and r.get_json()["released"] == 1 and r.get_json()["paused"] is False
    assert err(api["admin"].post("/units/cbeh/resume")) == (409, "not_paused")
    run_burst_worker(app)
    assert api["editor"].get(f"/posts/{post['id']}").get_json()["status"] == "published"
    actions = [e["action"] for e in api["admin"].get("/audit?limit=1000").get_json()["entries"]]
    assert "unit.pause" in actions and "unit.resume" in actions


def test_supervisor_pauses_a_subtree(world, app, factory, client):
    api = world["api"]
    r = api["supervisor"].post("/units/hlbe/pause", json={"reason": "全市暂停"})
    assert r.status_code == 200
    state = api["admin"].get("/units/cbeh/pause").get_json()
    assert state["paused"] is True and state["own"] is False and state["pause"]["unit"] == "hlbe"
    # The banner admin cannot lift the league's pause (not visible to them as a unit they run).
    assert err(api["admin"].post("/units/hlbe/resume"))[0] == 404
    assert err(api["admin"].post("/units/cbeh/resume")) == (409, "not_paused")
    post = create(api["editor"], world["accounts"])
    through(api, post, ["r1", "r2", "r3"])
    run_burst_worker(app)
    assert world["sim"].state()["published"] == []
    assert api["supervisor"].post("/units/hlbe/resume", json={"reason": "活动结束"}).status_code == 200
    run_burst_worker(app)
    assert len(world["sim"].state()["published"]) == 1
    factory.user("nmg_sup", "nmg", "supervisor")
    top = Api(client, factory.token("nmg_sup"))
    assert top.post("/units/cbeh/pause", json={"reason": "自治区直接暂停旗县"}).status_code == 200
