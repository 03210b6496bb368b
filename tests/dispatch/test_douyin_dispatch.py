"""抖音 video posts through the whole engine against the Douyin simulator over HTTP: a video post passes
三审 and the simulator holds it exactly once (the approved bytes: its SHA-256), also with busy answers,
answers lost after the platform acted and a worker killed mid-run (real ``hub worker`` processes, as in
test_dispatch_faults.py); withdrawing deletes it on the platform."""

from __future__ import annotations

import io
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests
from dispatch_helpers import approve_post, dispatches, kill_worker, settled, start_worker, stop_worker
from support import photo, run_burst_worker, wait_for

from hub.db import db

VIDEOS = Path(__file__).resolve().parent.parent / "data" / "video"
BLUE = (VIDEOS / "blue-2s.mp4").read_bytes()
FAST = {"HUB_DISPATCH_LEASE": "6", "HUB_SWEEP_SECONDS": "2", "HUB_PENDING_GRACE": "4", "HUB_UNCONFIRMED_ALERT": "15"}


class Douyin:
    def __init__(self) -> None:
        from adapters.simulators import douyin as douyin_sim

        self.server = douyin_sim.make_server("127.0.0.1", 0)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def app(self, appid: str, secret: str) -> dict[str, Any]:
        r = requests.post(self.base + "/_sim/apps", json={"appid": appid, "secret": secret}, timeout=5)
        r.raise_for_status()
        return dict(r.json())

    def state(self) -> dict[str, Any]:
        return requests.get(self.base + "/_sim/state", timeout=5).json()

    def faults(self, **kw: Any) -> None:
        requests.post(self.base + "/_sim/faults", json=kw, timeout=5).raise_for_status()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def douyin(app: Any, world: dict[str, Any]) -> Any:
    sim = Douyin()
    yield sim
    sim.close()


def open_douyin(world: dict[str, Any], sim: Douyin, i: int) -> int:
    """A Douyin account opened and filed through the API; its admin stores tokens obtained elsewhere."""
    from hub import audit
    from hub.accounts.filing import approve_through_chain
    from hub.models import Account

    api = world["api"]
    body = {"platform": "douyin", "name": f"陈巴尔虎旗发布抖音{i}", "unit": "cbeh", "api_base": sim.base}
    if i:
        body.update(is_main=False, justification="乡镇短视频号")
    r = api["admin"].post("/accounts", body)
    assert r.status_code == 201, r.get_json()
    acc = r.get_json()
    given = sim.app(f"dy_{i}", f"dy-secret-{i}")
    r = api["admin"].put(f"/accounts/{acc['id']}/credentials", {
        "client_key": f"dy_{i}", "client_secret": f"dy-secret-{i}", "open_id": given["open_id"],
        "access_token": given["access_token"], "refresh_token": given["refresh_token"]})
    assert r.status_code == 200, r.get_json()
    with db.transaction() as s:  # the 备案 chain, as the supervisors on the path
        token = audit.current_actor.set(audit.Actor.system("test"))
        try:
            approve_through_chain(s, s.get(Account, acc["id"]))
        finally:
            audit.current_actor.reset(token)
    return int(acc["id"])


def upload(world: dict[str, Any], client: Any, data: bytes, name: str) -> dict[str, Any]:
    r = client.post("/api/v1/media", data={"file": (io.BytesIO(data), name)},
                    headers={"Authorization": f"Bearer {world['api']['editor'].token}"},
                    content_type="multipart/form-data")
    assert r.status_code == 201, r.get_json()
    return dict(r.get_json())


def assert_held_once(state: dict[str, Any], rows: list[Any], sha256: str) -> None:
    held = Counter((p["appid"], p["title"]) for p in state["published"] if p["status"] != "deleted")
    assert all(n == 1 for n in held.values()), f"duplicate videos: {held}"
    urls = {p["url"] for p in state["published"]}
    assert all(p["sha256"] == sha256 for p in state["published"])
    for d in rows:
        if d.status == "published":
            assert d.url in urls, (d.id, d.url)


def test_a_video_post_is_held_once_with_the_approved_bytes_and_withdrawn(app, world, client, douyin):
    account_id = open_douyin(world, douyin, 0)
    video, cover = upload(world, client, BLUE, "fire.mp4"), upload(world, client, photo(30), "c.jpg")
    post_id = approve_post(world["api"], [account_id], title="草原防火 人人有责", summary="防火宣传短视频",
                           video=video["id"], cover=cover["id"])
    run_burst_worker(app)
    (d,) = dispatches(app, [post_id])
    assert d.status == "published", (d.status, d.error)
    st = douyin.state()
    assert [(p["title"], p["status"]) for p in st["published"]] == [("草原防火 人人有责\n防火宣传短视频", "published")]
    assert st["published"][0]["sha256"] == video["sha256"] and d.url == st["published"][0]["url"]
    assert len(st["uploads"]) == 1
    r = world["api"]["admin"].post(f"/posts/{post_id}/withdraw", {"reason": "信息有误，撤回"})
    assert r.status_code in (200, 202), r.get_json()
    run_burst_worker(app)
    assert douyin.state()["published"][0]["status"] == "deleted"


def test_busy_drops_and_a_worker_killed_never_duplicate(app, world, client, douyin, instance):
    accounts = [open_douyin(world, douyin, i) for i in range(3)]
    video, cover = upload(world, client, BLUE, "fire.mp4"), upload(world, client, photo(30), "c.jpg")
    douyin.faults(busy_rate=0.3, drop_after_commit_rate=0.15, latency_ms=25, seed=20261204)
    post_ids = [approve_post(world["api"], accounts, title=f"冬季草原防火第{i + 1}期", summary="防火宣传短视频",
                             video=video["id"], cover=cover["id"]) for i in range(2)]
    a = start_worker(instance, "worker-a", **FAST)
    b = start_worker(instance, "worker-b", **FAST)
    c = None
    try:
        wait_for(lambda: any(d.status == "sending" for d in dispatches(app, post_ids)), timeout=60, interval=0.05)
        kill_worker(a)  # SIGKILL mid-run: its dispatch is recovered through reconciliation
        c = start_worker(instance, "worker-c", **FAST)
        try:
            rows = wait_for(lambda: settled(app, post_ids), timeout=240, interval=0.5)
        except AssertionError:
            raise AssertionError(f"not settled: {[(d.id, d.status, d.stage, d.error) for d in dispatches(app, post_ids)]}") from None
    finally:
        for p in (a, b, c):
            if p is not None:
                stop_worker(p)
    douyin.faults()
    assert_held_once(douyin.state(), rows, video["sha256"])
    for d in rows:
        assert d.status in ("published", "failed", "unconfirmed"), (d.id, d.status)
        if d.status != "published":
            assert d.error, f"dispatch {d.id} {d.status} without a reason"
    assert sum(d.status == "published" for d in rows) >= len(rows) // 2, [(d.status, d.error) for d in rows]


def test_a_video_post_to_kuaishou_is_held_once_with_its_cover(app, world, client):
    from adapters.simulators import kuaishou as kuaishou_sim
    from hub import audit
    from hub.accounts.filing import approve_through_chain
    from hub.models import Account

    server = kuaishou_sim.make_server("127.0.0.1", 0)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        given = requests.post(base + "/_sim/apps", json={"appid": "ks_cbeh", "secret": "ks-s"}, timeout=5).json()
        api = world["api"]
        r = api["admin"].post("/accounts", {"platform": "kuaishou", "name": "陈巴尔虎旗发布快手", "unit": "cbeh",
                                            "api_base": base})
        assert r.status_code == 201, r.get_json()
        acc_id = r.get_json()["id"]
        assert api["admin"].put(f"/accounts/{acc_id}/credentials", {
            "client_key": "ks_cbeh", "client_secret": "ks-s", "open_id": given["open_id"],
            "access_token": given["access_token"], "refresh_token": given["refresh_token"]}).status_code == 200
        with db.transaction() as s:
            token = audit.current_actor.set(audit.Actor.system("test"))
            try:
                approve_through_chain(s, s.get(Account, acc_id))
            finally:
                audit.current_actor.reset(token)
        video, cover = upload(world, client, BLUE, "fire.mp4"), upload(world, client, photo(30), "c.jpg")
        post_id = approve_post(api, [acc_id], title="草原防火 人人有责", summary="防火宣传短视频",
                               video=video["id"], cover=cover["id"])
        run_burst_worker(app)
        (d,) = dispatches(app, [post_id])
        assert d.status == "published", (d.status, d.error)
        st = requests.get(base + "/_sim/state", timeout=5).json()
        assert [(p["title"], p["sha256"]) for p in st["published"]] == [("草原防火 人人有责\n防火宣传短视频",
                                                                        video["sha256"])]
    finally:
        server.shutdown()
        server.server_close()


def test_one_video_post_to_douyin_and_a_video_channel_account(app, world, client, douyin):
    """Issue 14's first check: a Douyin and a 视频号 account opened, filed and active; one video post to
    both passes 三审; the simulator holds it once and the 视频号 dispatch waits as awaiting_manual until
    an editor records its URL; the audit trail names who did each step."""
    from sqlalchemy import select

    from hub import audit
    from hub.accounts.filing import approve_through_chain
    from hub.models import Account, AuditEntry, User

    api = world["api"]
    douyin_id = open_douyin(world, douyin, 0)
    r = api["admin"].post("/accounts", {"platform": "manual", "platform_name": "视频号", "name": "陈巴尔虎旗发布",
                                        "unit": "cbeh", "responsible_person": "张三"})
    assert r.status_code == 201, r.get_json()
    channel_id = int(r.get_json()["id"])
    with db.transaction() as s:
        token = audit.current_actor.set(audit.Actor.system("test"))
        try:
            approve_through_chain(s, s.get(Account, channel_id))
        finally:
            audit.current_actor.reset(token)
    assert {a["status"] for a in (api["admin"].get(f"/accounts/{i}").get_json() for i in (douyin_id, channel_id))} \
        == {"active"}
    video, cover = upload(world, client, BLUE, "fire.mp4"), upload(world, client, photo(30), "c.jpg")
    post_id = approve_post(world["api"], [douyin_id, channel_id], title="草原防火 人人有责", summary="防火宣传短视频",
                           video=video["id"], cover=cover["id"])
    run_burst_worker(app)
    rows = {d.account_id: d for d in dispatches(app, [post_id])}
    assert rows[douyin_id].status == "published", (rows[douyin_id].status, rows[douyin_id].error)
    assert rows[channel_id].status == "awaiting_manual"
    st = douyin.state()
    assert [(p["sha256"], p["status"]) for p in st["published"]] == [(video["sha256"], "published")]
    run_burst_worker(app)  # running again sends nothing twice
    assert len(douyin.state()["published"]) == 1
    assert {d.account_id: d.status for d in dispatches(app, [post_id])}[channel_id] == "awaiting_manual"
    r = api["editor"].post(f"/dispatches/{rows[channel_id].id}/manual", {"url": "https://channels.weixin.qq.com/x/1"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == "published"
    s = db.session()
    names = {u.id: u.username for u in s.scalars(select(User))}
    entries = [(e.action, names.get(e.actor_id)) for e in s.scalars(
        select(AuditEntry).where(AuditEntry.object_type.in_(("post", "dispatch"))).order_by(AuditEntry.seq))]
    assert ("post.create", "editor") in entries and ("post.submit", "editor") in entries
    approvers = [who for action, who in entries if action == "post.approve"]
    assert len(approvers) == 3 and len(set(approvers)) == 3 and "editor" not in approvers
    assert ("dispatch.published", "editor") in entries  # the manual record, by the editor who published it
    assert sum(1 for action, who in entries if action == "dispatch.published" and who is None) >= 1  # the worker
