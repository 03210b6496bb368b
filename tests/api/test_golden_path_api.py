"""The golden path through the API: editor → 三审 → WeChat simulator, exactly one publication."""

from __future__ import annotations

from support import ALL_CONFIRMATIONS, run_burst_worker, wait_for


def _create(api, accounts, **kw):
    body = {"title": "关于开展2026年冬季防火工作的通知", "content": "<p>各苏木镇人民政府：</p><p>请做好防火工作。</p>",
            "summary": "冬季防火", "author": "旗政府办", "account_ids": accounts[:1]}
    body.update(kw)
    return api.post("/posts", json=body)


def _approve(api, post_id, h, **kw):
    return api.post(f"/posts/{post_id}/approve", json={"revision_hash": h, "checks": ALL_CONFIRMATIONS, **kw})


def test_golden_path_publishes_exactly_once(world, app):
    api = world["api"]
    r = _create(api["editor"], world["accounts"])
    assert r.status_code == 201, r.get_json()
    post = r.get_json()
    assert post["status"] == "draft"
    h = post["revision"]["hash"]
    assert len(h) == 64

    assert api["editor"].post(f"/posts/{post['id']}/submit").status_code == 200
    for i, reviewer in enumerate(["r1", "r2", "r3"]):
        r = _approve(api[reviewer], post["id"], h, comment=f"第{i + 1}审通过")
        assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == "publishing"
    assert [a["step_name"] for a in body["approvals"]] == ["初审", "复审", "终审"]
    assert {a["reviewer"]["username"] for a in body["approvals"]} == {"r1", "r2", "r3"}
    assert all(a["revision_hash"] == h and a["decision"] == "approved" for a in body["approvals"])
    assert len(body["dispatches"]) == 1

    run_burst_worker(app)
    final = api["editor"].get(f"/posts/{post['id']}").get_json()
    assert final["status"] == "published", final
    d = final["dispatches"][0]
    assert d["status"] == "published" and d["url"] and d["attempts"] == 1

    published = world["sim"].state()["published"]
    assert len(published) == 1
    assert published[0]["title"] == "关于开展2026年冬季防火工作的通知"
    assert published[0]["url"] == d["url"]


def test_golden_path_with_real_worker_process(world, worker_process):
    api = world["api"]
    post = _create(api["editor"], world["accounts"], account_ids=world["accounts"]).get_json()
    h = post["revision"]["hash"]
    api["editor"].post(f"/posts/{post['id']}/submit")
    for reviewer in ["r1", "r2", "r3"]:
        assert _approve(api[reviewer], post["id"], h).status_code == 200

    final = wait_for(lambda: (lambda p: p if p["status"] == "published" else None)(
        api["editor"].get(f"/posts/{post['id']}").get_json()), timeout=60)
    assert {d["status"] for d in final["dispatches"]} == {"published"}
    published = world["sim"].state()["published"]
    assert sorted(p["appid"] for p in published) == ["wx_main", "wx_second"]


def test_edit_voids_approvals_and_returns_to_draft(world):
    api = world["api"]
    post = _create(api["editor"], world["accounts"]).get_json()
    h = post["revision"]["hash"]
    api["editor"].post(f"/posts/{post['id']}/submit")
    assert _approve(api["r1"], post["id"], h).status_code == 200
    r = api["editor"].patch(f"/posts/{post['id']}", json={"title": "关于开展冬季防火工作的通知（修订）"})
    assert r.status_code == 200
    edited = r.get_json()
    assert edited["status"] == "draft"
    assert edited["revision"]["number"] == 2 and edited["revision"]["hash"] != h
    assert edited["approvals"] == []
    # The old hash is now stale, even after resubmission.
    api["editor"].post(f"/posts/{post['id']}/submit")
    r = _approve(api["r2"], post["id"], h)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "stale_revision"


def test_reschedule_does_not_change_revision(world):
    api = world["api"]
    post = _create(api["editor"], world["accounts"]).get_json()
    r = api["editor"].patch(f"/posts/{post['id']}", json={"publish_at": "2030-01-01T09:00:00"})
    assert r.status_code == 200
    body = r.get_json()
    assert body["revision"]["hash"] == post["revision"]["hash"]
    assert body["publish_at"] == "2030-01-01T01:00:00Z"  # Asia/Shanghai → UTC
