"""Review chains: configured per unit, inherited, per category, versioned, audited, snapshotted."""

from __future__ import annotations

from review_helpers import approve, create, err, submit, through
from support import Api

TWO_STEPS = [{"name": "初审", "role": "reviewer", "quorum": "any"},
             {"name": "终审", "role": "reviewer", "quorum": "any"}]


def _user(factory, client, name, unit, *roles):
    factory.user(name, unit, *roles)
    return Api(client, factory.token(name))


def test_default_chain_is_three_reviews_by_unit_reviewers(world):
    r = world["api"]["editor"].get("/units/cbeh/chain")
    assert r.status_code == 200
    body = r.get_json()
    assert body["effective"]["source"] is None
    assert [s["name"] for s in body["effective"]["steps"]] == ["初审", "复审", "终审"]
    assert all(s["role"] == "reviewer" and s["levels_up"] == 0 and s["quorum"] == "any"
               for s in body["effective"]["steps"])
    assert body["can_edit"] is False
    assert world["api"]["admin"].get("/units/cbeh/chain").get_json()["can_edit"] is True


def test_admin_saves_versions_and_every_change_is_audited(world):
    admin = world["api"]["admin"]
    r = admin.put("/units/cbeh/chain", json={"steps": TWO_STEPS, "note": "精简为两审"})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["effective"]["source"]["version"] == 1
    assert [s["name"] for s in body["effective"]["steps"]] == ["初审", "终审"]
    r = admin.put("/units/cbeh/chain", json={"steps": TWO_STEPS + [{"name": "核发", "quorum": "any"}],
                                             "base_version": 1})
    assert r.status_code == 200
    assert [h["version"] for h in r.get_json()["history"]] == [2, 1]
    # A stale base version is refused and changes nothing.
    assert err(admin.put("/units/cbeh/chain", json={"steps": TWO_STEPS, "base_version": 1})) == (409, "chain_changed")
    entries = admin.get("/audit?limit=1000").get_json()["entries"]
    updates = [e for e in entries if e["action"] == "chain.update"]
    assert len(updates) == 2 and "第 2 版" in updates[-1]["summary"]


def test_only_admins_edit_and_other_units_do_not_see(world):
    api = world["api"]
    for name in ("editor", "r1", "supervisor"):
        assert err(api[name].put("/units/cbeh/chain", json={"steps": TWO_STEPS}))[0] == 403
    assert err(api["outsider"].get("/units/cbeh/chain")) == (404, "unit_not_found")
    assert err(api["outsider"].put("/units/cbeh/chain", json={"steps": TWO_STEPS})) == (404, "unit_not_found")
    assert err(api["admin"].get("/units/nowhere/chain")) == (404, "unit_not_found")


def test_bad_chains_get_specific_errors_and_change_nothing(world):
    admin = world["api"]["admin"]
    cases = [
        ({"steps": []}, "invalid_steps"),
        ({"steps": "初审"}, "invalid_steps"),
        ({"steps": [{"name": ""}]}, "invalid_step_name"),
        ({"steps": [{"name": "初审"}, {"name": "初审"}]}, "duplicate_step_name"),
        ({"steps": [{"name": "初审", "quorum": "most"}]}, "invalid_quorum"),
        ({"steps": [{"name": "初审", "role": "editor"}]}, "invalid_step_role"),
        ({"steps": [{"name": "初审", "unit": "other"}]}, "invalid_step_unit"),
        ({"steps": [{"name": "初审", "levels_up": -1}]}, "invalid_step_unit"),
        ({"steps": [{"name": "初审", "users": ["nobody"]}]}, "unknown_step_users"),
        ({"steps": [{"name": "初审", "users": ["outsider_rev"]}]}, "ineligible_step_user"),
        ({"steps": [{"name": "初审", "colour": "red"}]}, "invalid_step"),
        ({"steps": TWO_STEPS, "extra": 1}, "unknown_field"),
        ({"inherit": True}, "already_inherited"),
    ]
    for body, code in cases:
        status, got = err(admin.put("/units/cbeh/chain", json=body))
        assert got == code, (body, status, got)
        assert status in (400, 409)
    r = admin.client.put("/api/v1/units/cbeh/chain", data="{", headers={
        "Authorization": f"Bearer {admin.token}", "Content-Type": "application/json"})
    assert r.status_code == 400
    assert admin.get("/units/cbeh/chain").get_json()["history"] == []


def test_child_units_inherit_and_category_chains_win(world, factory, client):
    api = world["api"]
    hlbe_admin = _user(factory, client, "hlbe_admin", "hlbe", "admin")
    _user(factory, client, "hlbe_office", "hlbe", "reviewer")
    # The league sets two reviews for everything below it ...
    assert hlbe_admin.put("/units/hlbe/chain", json={"steps": TWO_STEPS}).status_code == 200
    eff = api["editor"].get("/units/cbeh/chain").get_json()["effective"]
    assert eff["source"]["unit"] == "hlbe" and [s["name"] for s in eff["steps"]] == ["初审", "终审"]
    # ... and 政策文件 needs a 终审 by the league's office (a named ancestor unit).
    policy = [{"name": "初审"}, {"name": "复审"}, {"name": "终审", "role": "reviewer", "unit": "hlbe"}]
    assert hlbe_admin.put("/units/hlbe/chain", json={"steps": policy, "category": "政策文件"}).status_code == 200
    # The banner's own general chain does not override the league's category chain.
    assert api["admin"].put("/units/cbeh/chain", json={"steps": [{"name": "一审"}]}).status_code == 200
    view = api["editor"].get("/units/cbeh/chain?category=政策文件").get_json()
    assert (view["effective"]["source"]["unit"], view["effective"]["source"]["category"]) == ("hlbe", "政策文件")
    assert [s["name"] for s in view["effective"]["steps"]] == ["初审", "复审", "终审"]
    assert "政策文件" in view["by_category"]
    assert [s["name"] for s in api["editor"].get("/units/cbeh/chain").get_json()["effective"]["steps"]] == ["一审"]

    post = create(api["editor"], world["accounts"], category="政策文件")
    submitted = submit(api["editor"], post["id"])
    assert submitted["step"] == {"index": 0, "name": "初审", "total": 3}
    h = post["revision"]["hash"]
    assert approve(api["r1"], post["id"], h).status_code == 200
    assert approve(api["r2"], post["id"], h).status_code == 200
    # The banner reviewers' steps are taken; the 终审 belongs to the league office, which sees the post.
    assert err(approve(api["r3"], post["id"], h)) == (409, "step_taken")
    office = Api(client, factory.token("hlbe_office"))
    assert office.get(f"/posts/{post['id']}").status_code == 200
    queue = office.get("/review/queue").get_json()
    assert [p["id"] for p in queue["posts"]] == [post["id"]]
    r = approve(office, post["id"], h)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == "publishing"
    # Another unit's reviewers still see nothing.
    assert api["outsider_rev"].get(f"/posts/{post['id']}").status_code == 404


def test_post_keeps_the_chain_version_it_was_submitted_under(world):
    api = world["api"]
    post = create(api["editor"], world["accounts"])
    submit(api["editor"], post["id"])  # under the default 三审
    assert api["admin"].put("/units/cbeh/chain", json={"steps": [{"name": "唯一审"}]}).status_code == 200
    h = post["revision"]["hash"]
    body = approve(api["r1"], post["id"], h).get_json()
    assert body["status"] == "in_review" and body["step"]["name"] == "复审" and body["step"]["total"] == 3
    assert approve(api["r2"], post["id"], h).status_code == 200
    assert approve(api["r3"], post["id"], h).get_json()["status"] == "publishing"
    # A new post is reviewed under the new version.
    other = create(api["editor"], world["accounts"], title="新流程下的稿件")
    final = through(api, other, ["r1"])
    assert final["status"] == "publishing" and [a["step_name"] for a in final["approvals"]] == ["唯一审"]
    history = api["editor"].get(f"/posts/{other['id']}/history").get_json()["entries"]
    assert any(e["action"] == "post.submit" for e in history)


def test_inherit_drops_the_units_own_chain(world):
    admin = world["api"]["admin"]
    admin.put("/units/cbeh/chain", json={"steps": TWO_STEPS})
    r = admin.put("/units/cbeh/chain", json={"inherit": True, "note": "恢复默认"})
    assert r.status_code == 200
    body = r.get_json()
    assert body["effective"]["source"] is None and len(body["effective"]["steps"]) == 3
    assert body["own"] == [] and body["history"][0]["inherit"] is True
