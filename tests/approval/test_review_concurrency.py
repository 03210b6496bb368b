"""Two reviewers racing on the same step, each on its own connection: exactly one wins, the other
gets 409. Runs on SQLite (writer lock) and, with HUB_TEST_DATABASE_URL, on PostgreSQL (row lock +
conditional update)."""

from __future__ import annotations

import threading
from typing import Any

from review_helpers import create, submit
from support import ALL_CONFIRMATIONS, Api


def _race(app: Any, tokens: list[str], post_id: int, bodies: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    barrier = threading.Barrier(len(bodies))
    results: list[Any] = [None] * len(bodies)

    def run(i: int) -> None:
        api = Api(app.test_client(), tokens[i])  # its own client, session and connection
        action, body = bodies[i]
        barrier.wait()
        r = api.post(f"/posts/{post_id}/{action}", json=body)
        results[i] = (r.status_code, r.get_json())

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_two_reviewers_race_on_the_same_step(world, app, factory):
    api = world["api"]
    tokens = [factory.token("r1"), factory.token("r2")]
    for _round in range(4):
        post = create(api["editor"], world["accounts"])
        submit(api["editor"], post["id"])
        body = {"revision_hash": post["revision"]["hash"], "checks": ALL_CONFIRMATIONS, "step": 0}
        results = _race(app, tokens, post["id"], [("approve", body), ("approve", body)])
        codes = sorted(code for code, _ in results)
        assert codes == [200, 409], results
        loser = next(b for code, b in results if code == 409)
        assert loser["error"]["code"] == "step_taken"
        state = api["editor"].get(f"/posts/{post['id']}").get_json()
        assert state["step"]["index"] == 1
        assert [a["step"] for a in state["approvals"]] == [0]


def test_approve_and_reject_race(world, app, factory):
    api = world["api"]
    tokens = [factory.token("r1"), factory.token("r2")]
    post = create(api["editor"], world["accounts"])
    submit(api["editor"], post["id"])
    h = post["revision"]["hash"]
    results = _race(app, tokens, post["id"], [
        ("approve", {"revision_hash": h, "checks": ALL_CONFIRMATIONS, "step": 0}),
        ("reject", {"reason": "不同意", "revision_hash": h, "step": 0})])
    assert sorted(code for code, _ in results) == [200, 409], results
    state = api["editor"].get(f"/posts/{post['id']}").get_json()
    live = state["approvals"]
    assert len(live) == 1 and (state["status"] == "rejected") == (live[0]["decision"] == "rejected")
