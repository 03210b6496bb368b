"""The rules of 分级审核、先审后发: order, separation of duties, hashes, quorum, defence in depth."""

from __future__ import annotations

from review_helpers import approve, create, err, submit, through
from support import ALL_CONFIRMATIONS, Api, run_burst_worker


def test_no_step_before_submission_and_none_skipped(world):
    api = world["api"]
    post = create(api["editor"], world["accounts"])
    h = post["revision"]["hash"]
    assert err(approve(api["r1"], post["id"], h)) == (409, "not_in_review")
    submit(api["editor"], post["id"])
    # Naming a later step than the current one is refused: steps are taken in order.
    assert err(approve(api["r1"], post["id"], h, step=1)) == (409, "step_taken")
    assert err(approve(api["r1"], post["id"], h, step="x")) == (400, "invalid_step")
    assert approve(api["r1"], post["id"], h, step=0).status_code == 200
    # The step the caller names has been taken by someone else meanwhile.
    assert err(approve(api["r2"], post["id"], h, step=0)) == (409, "step_taken")
    body = approve(api["r2"], post["id"], h, step=1).get_json()
    assert body["step"] == {"index": 2, "name": "终审", "total": 3}


def test_separation_of_duties(world):
    api = world["api"]
    post = create(api["editor"], world["accounts"])
    h = post["revision"]["hash"]
    submit(api["editor"], post["id"])
    assert err(approve(api["editor"], post["id"], h)) == (403, "not_reviewer")
    assert err(approve(api["admin"], post["id"], h)) == (403, "not_reviewer")
    assert err(approve(api["outsider_rev"], post["id"], h)) == (404, "post_not_found")
    assert approve(api["r1"], post["id"], h).status_code == 200
    # One person, one step of the same revision.
    assert err(approve(api["r1"], post["id"], h)) == (409, "already_acted")
    # A reviewer who edits becomes an editor of the post and may never approve it.
    r = api["r2"].patch(f"/posts/{post['id']}", json={"summary": "春季防火（复审修改）"})
    assert r.status_code == 200 and r.get_json()["status"] == "draft"
    h2 = r.get_json()["revision"]["hash"]
    submit(api["editor"], post["id"])
    assert err(approve(api["r2"], post["id"], h2)) == (403, "own_revision")


def test_stale_hash_and_missing_fields(world):
    api = world["api"]
    post = create(api["editor"], world["accounts"])
    h = post["revision"]["hash"]
    submit(api["editor"], post["id"])
    pid = post["id"]
    assert err(api["r1"].post(f"/posts/{pid}/approve", json={"checks": ALL_CONFIRMATIONS})) == (400, "missing_revision_hash")
    assert err(api["r1"].post(f"/posts/{pid}/approve", json={"revision_hash": h})) == (400, "missing_checks")
    partial = {k: v for k, v in ALL_CONFIRMATIONS.items() if k != "secrecy"}
    r = api["r1"].post(f"/posts/{pid}/approve", json={"revision_hash": h, "checks": partial})
    assert err(r) == (400, "missing_checks") and "保密关" in r.get_json()["error"]["message"]
    r = api["r1"].post(f"/posts/{pid}/approve", json={"revision_hash": h, "checks": {**ALL_CONFIRMATIONS, "legal": False}})
    assert err(r) == (422, "checks_not_confirmed")
    assert err(approve(api["r1"], pid, "0" * 64)) == (409, "stale_revision")
    assert api["r1"].get(f"/posts/{pid}").get_json()["approvals"] == []


def test_every_hashed_field_voids_approvals(world, factory, client):
    api = world["api"]
    changes = [{"title": "关于做好春季防火工作的通知（修订）"}, {"content": "<p>请做好防火。</p>"},
               {"summary": "新摘要"}, {"author": "旗应急局"}, {"variants": {"wechat": {"title": "春季防火"}}},
               {"account_ids": world["accounts"]}, {"category": "通知公告"}]
    for change in changes:
        post = create(api["editor"], world["accounts"])
        h = post["revision"]["hash"]
        submit(api["editor"], post["id"])
        assert approve(api["r1"], post["id"], h).status_code == 200
        edited = api["editor"].patch(f"/posts/{post['id']}", json=change).get_json()
        assert edited["status"] == "draft" and edited["approvals"] == [], change
        assert edited["revision"]["hash"] != h, change
        # Resubmission starts again at step 1, and r1 may act again on the new revision.
        again = submit(api["editor"], post["id"])
        assert again["step"]["index"] == 0
        assert approve(api["r1"], post["id"], edited["revision"]["hash"]).status_code == 200


def test_reject_needs_reason_and_returns_to_editor_with_comments(world):
    api = world["api"]
    post = create(api["editor"], world["accounts"])
    h = post["revision"]["hash"]
    submit(api["editor"], post["id"])
    assert approve(api["r1"], post["id"], h, comment="文字通顺").status_code == 200
    assert err(api["r2"].post(f"/posts/{post['id']}/reject", json={"reason": "  "})) == (400, "missing_reason")
    assert err(api["r2"].post(f"/posts/{post['id']}/reject", json={})) == (400, "missing_reason")
    r = api["r2"].post(f"/posts/{post['id']}/reject", json={"reason": "第二段时间表述不准确", "revision_hash": h})
    assert r.status_code == 200
    body = api["editor"].get(f"/posts/{post['id']}").get_json()
    assert body["status"] == "rejected" and body["approvals"][-1]["decision"] == "rejected"
    assert body["approvals"][-1]["comment"] == "第二段时间表述不准确"
    assert [a["decision"] for a in body["approval_history"]] == ["approved", "rejected"]
    assert body["approval_history"][0]["voided"] is True
    # Resubmitting the same revision starts at step 1 and nobody's earlier decision counts.
    again = submit(api["editor"], post["id"])
    assert again["step"]["index"] == 0 and again["approvals"] == []
    final = [approve(api[n], post["id"], h).get_json() for n in ("r3", "r1", "r2")][-1]
    assert final["status"] == "publishing"


def test_quorum_all_needs_every_named_reviewer(world):
    api = world["api"]
    steps = [{"name": "联审", "users": ["r1", "r2"], "quorum": "all"}, {"name": "终审", "quorum": "any"}]
    assert api["admin"].put("/units/cbeh/chain", json={"steps": steps}).status_code == 200
    post = create(api["editor"], world["accounts"])
    h = post["revision"]["hash"]
    submit(api["editor"], post["id"])
    assert err(approve(api["r3"], post["id"], h)) == (409, "not_your_step")
    body = approve(api["r1"], post["id"], h).get_json()
    assert body["step"]["index"] == 0  # still waiting for r2
    assert [p["id"] for p in api["r2"].get("/review/queue").get_json()["posts"]] == [post["id"]]
    assert api["r1"].get("/review/queue").get_json()["posts"] == []
    body = approve(api["r2"], post["id"], h).get_json()
    assert body["step"]["index"] == 1
    # r1 and r2 acted on the first step; only r3 can take the last one.
    assert err(approve(api["r1"], post["id"], h)) == (409, "already_acted")
    body = approve(api["r3"], post["id"], h).get_json()
    assert body["status"] == "publishing"
    assert sorted(a["reviewer"]["username"] for a in body["approvals"]) == ["r1", "r2", "r3"]


def test_quorum_all_by_role_and_reject_by_one(world, factory, client):
    api = world["api"]
    steps = [{"name": "初审"}, {"name": "集体审", "quorum": "all"}]
    assert api["admin"].put("/units/cbeh/chain", json={"steps": steps}).status_code == 200
    post = create(api["editor"], world["accounts"])
    h = post["revision"]["hash"]
    submit(api["editor"], post["id"])
    assert approve(api["r1"], post["id"], h).status_code == 200
    # "all" is everyone eligible: r2 and r3 (r1 took 初审, the editors wrote it).
    assert approve(api["r2"], post["id"], h).get_json()["status"] == "in_review"
    r = api["r3"].post(f"/posts/{post['id']}/reject", json={"reason": "数据需核实"})
    assert r.get_json()["status"] == "rejected"


def test_worker_refuses_a_revision_without_a_valid_approval_set(world, app):
    """Defence in depth: a tampered approval (here: its confirmations) makes the worker refuse."""
    from sqlalchemy import update

    from hub.db import db
    from hub.models import Approval

    api = world["api"]
    post = create(api["editor"], world["accounts"])
    final = through(api, post, ["r1", "r2", "r3"])
    assert final["status"] == "publishing"
    with db.transaction() as s:
        s.execute(update(Approval).where(Approval.post_id == post["id"], Approval.step == 1)
                  .values(checks={**ALL_CONFIRMATIONS, "secrecy": False}))
    run_burst_worker(app)
    body = api["editor"].get(f"/posts/{post['id']}").get_json()
    assert body["dispatches"][0]["status"] == "failed"
    assert "拒绝发布" in body["dispatches"][0]["error"] and "复审" in body["dispatches"][0]["error"]
    assert world["sim"].state()["published"] == []
    history = api["editor"].get(f"/posts/{post['id']}/history").get_json()["entries"]
    assert any(e["action"] == "dispatch.refused" for e in history)


def test_worker_refuses_when_a_reviewer_lost_the_role(world, app, factory, client):
    from sqlalchemy import delete, select

    from hub.db import db
    from hub.models import RoleGrant, User

    api = world["api"]
    post = create(api["editor"], world["accounts"])
    through(api, post, ["r1", "r2", "r3"])
    with db.transaction() as s:
        uid = s.scalars(select(User.id).where(User.username == "r3")).one()
        s.execute(delete(RoleGrant).where(RoleGrant.user_id == uid))
    run_burst_worker(app)
    assert api["editor"].get(f"/posts/{post['id']}").get_json()["dispatches"][0]["status"] == "failed"
    assert world["sim"].state()["published"] == []


def test_comments_thread(world):
    api = world["api"]
    post = create(api["editor"], world["accounts"])
    pid = post["id"]
    assert err(api["r1"].post(f"/posts/{pid}/comments", json={"body": ""})) == (400, "missing_comment")
    assert err(api["outsider"].post(f"/posts/{pid}/comments", json={"body": "看看"})) == (404, "post_not_found")
    assert api["r1"].post(f"/posts/{pid}/comments", json={"body": "标题可否更简洁？"}).status_code == 201
    assert api["editor"].post(f"/posts/{pid}/comments", json={"body": "已修改"}).status_code == 201
    thread = api["editor"].get(f"/posts/{pid}/comments").get_json()["comments"]
    assert [(c["user"]["username"], c["body"], c["revision"]) for c in thread] == [
        ("r1", "标题可否更简洁？", 1), ("editor", "已修改", 1)]


def test_queue_filters_and_counts(world, factory, client):
    api = world["api"]
    a = create(api["editor"], world["accounts"], category="政策文件")
    b = create(api["editor"], world["accounts"], account_ids=[world["accounts"][1]], title="第二篇稿件")
    for p in (a, b):
        submit(api["editor"], p["id"])
    q = api["r1"].get("/review/queue").get_json()
    assert q["total"] == 2 and q["by_unit"] == {"cbeh": 2}
    assert [p["id"] for p in api["r1"].get("/review/queue?category=政策文件").get_json()["posts"]] == [a["id"]]
    assert [p["id"] for p in api["r1"].get(f"/review/queue?account={world['accounts'][1]}").get_json()["posts"]] \
        == [b["id"]]
    assert api["r1"].get("/review/queue?age=3").get_json()["posts"] == []
    assert api["r1"].get("/review/queue?unit=other").get_json()["posts"] == []
    assert api["editor"].get("/review/queue").get_json()["total"] == 0


def test_diffs_against_seen_and_last_approved(world, app):
    api = world["api"]
    # Approved for a later time: the editor may still correct it; that needs a new review round.
    post = create(api["editor"], world["accounts"], publish_at="2099-01-01T09:00:00")
    pid = post["id"]
    assert through(api, post, ["r1", "r2", "r3"])["status"] == "approved"
    r = api["editor"].patch(f"/posts/{pid}", json={"content": "<p>各苏木镇：</p><p>请切实做好春季防火。</p>"})
    assert r.status_code == 200 and r.get_json()["status"] == "draft"
    assert [d["status"] for d in r.get_json()["dispatches"]] == ["cancelled"]
    d = api["r1"].get(f"/posts/{pid}/diff?against=approved").get_json()
    assert d["base"] == 1 and d["current"] == 2
    fields = {c["field"]: c for c in d["changes"]}
    assert set(fields) == {"正文"}
    assert {"op": "+", "text": "各苏木镇："} in fields["正文"]["lines"]
    assert {"op": "-", "text": "各苏木镇人民政府、旗直各部门："} in fields["正文"]["lines"]
    # r1 decided on revision 1, so that is what r1 last saw; the admin never looked.
    assert api["r1"].get(f"/posts/{pid}/diff").get_json()["base"] == 1
    assert api["admin"].get(f"/posts/{pid}/diff?against=seen").get_json() == {"base": None, "current": 2,
                                                                               "changes": []}
    assert api["r1"].get(f"/posts/{pid}/diff?against=1").get_json()["base"] == 1
    assert err(api["r1"].get(f"/posts/{pid}/diff?against=9")) == (404, "revision_not_found")
    assert err(api["r1"].get(f"/posts/{pid}/diff?against=x")) == (400, "invalid_against")
    # The corrected revision goes through the whole chain again and is the one that goes out.
    final = through(api, {"id": pid, "revision": r.get_json()["revision"]}, ["r1", "r2", "r3"])
    assert final["status"] == "approved"
    assert api["editor"].post(f"/posts/{pid}/schedule", json={"publish_at": None}).status_code == 200
    run_burst_worker(app)
    published = world["sim"].state()["published"]
    assert len(published) == 1


def test_ancestor_named_user_sees_post_only_via_chain(world, factory, client):
    api = world["api"]
    factory.user("hlbe_chief", "hlbe", "reviewer")
    chief = Api(client, factory.token("hlbe_chief"))
    post = create(api["editor"], world["accounts"])
    assert chief.get(f"/posts/{post['id']}").status_code == 404
    steps = [{"name": "初审"}, {"name": "终审", "users": ["hlbe_chief"]}]
    assert api["admin"].put("/units/cbeh/chain", json={"steps": steps}).status_code == 200
    submit(api["editor"], post["id"])
    assert chief.get(f"/posts/{post['id']}").status_code == 200
    h = post["revision"]["hash"]
    assert err(approve(chief, post["id"], h)) == (409, "not_your_step")
    assert approve(api["r1"], post["id"], h).status_code == 200
    assert approve(chief, post["id"], h).get_json()["status"] == "publishing"
