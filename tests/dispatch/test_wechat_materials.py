"""WeChat's permanent-material library never grows with dispatches or retries: a cover goes through
``material/add_material`` once per account and image and is reused, a body image through
``media/uploadimg`` once, and a cover no dispatch uses any more is deleted (docs/publishing.md)."""

from __future__ import annotations

import base64
import hashlib
import io
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests
from dispatch_helpers import LosingWeChat, RunningSim, approve_post, dispatches
from PIL import Image
from support import run_burst_worker

from adapters.simulators.base import SimRequest, SimResponse
from adapters.simulators.wechat import wx_error
from adapters.wechat import WeChatAdapter


def image(color: tuple[int, int, int], fmt: str = "PNG", size: tuple[int, int] = (120, 80)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, fmt)
    return buf.getvalue()


def data_url(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def thumb_sha(cover: bytes) -> str:
    """SHA-256 of the thumb the adapter sends for ``cover`` (what the simulator records)."""
    return hashlib.sha256(WeChatAdapter.thumb_jpeg(cover)).hexdigest()


def materials(sim: Any, appid: str) -> list[dict[str, Any]]:
    return [m for m in sim.state()["materials"] if m["appid"] == appid]


def published_all(app: Any, post_ids: list[int]) -> list[Any]:
    rows = dispatches(app, post_ids)
    assert rows and all(d.status == "published" for d in rows), [(d.id, d.status, d.error) for d in rows]
    return rows


class StumblingWeChat(LosingWeChat):
    """The simulator, with chosen answers lost once each (``lose``) and the first ``busy`` calls of
    chosen paths answered -1 (busy: known not to have happened). Counts the materials added."""

    def __init__(self, busy: dict[str, int], lose: dict[str, int], **kw: Any) -> None:
        super().__init__(lose, **kw)
        self.busy = dict(busy)
        self.uploads: Counter[str] = Counter()

    def handle(self, request: SimRequest) -> SimResponse:
        path = request.path.removeprefix("/cgi-bin/")
        with self.lock:
            if self.busy.get(path, 0) > 0:
                self.busy[path] -= 1
                return wx_error(-1)
        response = super().handle(request)
        if path == "material/add_material" and b'"media_id"' in response.body:
            with self.lock:
                self.uploads[path] += 1
        return response


@pytest.fixture
def stumbling(factory, world):
    made: list[RunningSim] = []

    def make(busy: dict[str, int], lose: dict[str, int]) -> tuple[RunningSim, int]:
        sim = RunningSim(StumblingWeChat(busy, lose, publish_delay=0.2))
        made.append(sim)
        sim.register("wx_stumble", "secret-stumble")
        acc = factory.account("cbeh", "陈巴尔虎旗融媒", sim.base, appid="wx_stumble", secret="secret-stumble",
                              is_main=False, justification="融媒体中心")
        return sim, acc.id

    yield make
    for sim in made:
        sim.close()


@pytest.fixture
def keep_nothing(app):
    """Covers no dispatch uses are deleted at once (no keep period)."""
    app.config["HUB_MEDIA_KEEP"] = 0
    yield
    app.config.pop("HUB_MEDIA_KEEP")


def _register(sim: Any, appid: str, secret: str, **settings: Any) -> None:
    requests.post(sim.base + "/_sim/apps", json={"appid": appid, "secret": secret, **settings},
                  timeout=5).raise_for_status()


def test_ten_posts_sharing_a_cover_leave_one_material_retries_included(app, world, stumbling):
    # The first draft/add calls are busy until the run gives up (a retry of the whole run later),
    # one draft/add and one submit answer are lost (reconciliation), and every call may be busy.
    sim, account_id = stumbling({"draft/add": 5}, {"draft/add": 1, "freepublish/submit": 1})
    sim.faults(busy_rate=0.2, seed=7)
    post_ids = [approve_post(world["api"], [account_id], title=f"关于冬季供暖保障的第{i + 1}号通知")
                for i in range(10)]
    run_burst_worker(app, timeout=240)
    sim.faults()
    rows = published_all(app, post_ids)
    assert sum(d.attempts for d in rows) > len(rows)  # some dispatches took more than one run
    held = materials(sim, "wx_stumble")
    assert len(held) == 1 and held[0]["type"] == "thumb", held
    assert sim.sim.uploads["material/add_material"] == 1
    # All ten articles carry the one cover.
    thumbs = {p["articles"][0]["thumb_media_id"] for p in sim.state()["published"]}
    assert thumbs == {held[0]["media_id"]}


def test_the_same_body_image_is_uploaded_once_per_account(app, world):
    api, sim = world["api"], world["sim"]
    photo = image((200, 30, 30))
    body = f'<p>现场照片：</p><p><img src="{data_url(photo)}" alt="现场"></p>'
    first = approve_post(api, world["accounts"], content=body)
    second = approve_post(api, world["accounts"][:1], title="关于供暖保障的补充通知",
                          content=body + "<p>补充说明。</p>")
    run_burst_worker(app, timeout=120)
    published_all(app, [first, second])
    state = sim.state()
    sha = hashlib.sha256(photo).hexdigest()
    per_app = Counter(i["appid"] for i in state["images"] if i["sha256"] == sha)
    assert per_app == {"wx_main": 1, "wx_second": 1}
    (url,) = [i["url"] for i in state["images"] if i["appid"] == "wx_main"]
    main = [p for p in state["published"] if p["appid"] == "wx_main"]
    assert len(main) == 2 and all(url in p["articles"][0]["content"] for p in main)


def test_twenty_posts_with_one_cover_publish_on_a_capped_library(app, world):
    api, sim = world["api"], world["sim"]
    _register(sim, "wx_main", "secret-main", material_cap=1)
    post_ids = [approve_post(api, world["accounts"][:1], title=f"关于冬季防火的第{i + 1}号提示")
                for i in range(20)]
    run_burst_worker(app, timeout=240)
    published_all(app, post_ids)
    assert len(materials(sim, "wx_main")) == 1


def test_a_full_library_makes_room_by_deleting_an_unused_cover(app, world):
    api, sim = world["api"], world["sim"]
    _register(sim, "wx_main", "secret-main", material_cap=1)
    old, new = image((20, 90, 200)), image((240, 200, 10))
    first = approve_post(api, world["accounts"][:1], cover=data_url(old))
    run_burst_worker(app)
    assert [m["sha256"] for m in materials(sim, "wx_main")] == [thumb_sha(old)]  # kept for reuse
    second = approve_post(api, world["accounts"][:1], title="关于换发新封面的通知", cover=data_url(new))
    run_burst_worker(app)
    published_all(app, [first, second])
    assert [m["sha256"] for m in materials(sim, "wx_main")] == [thumb_sha(new)]


def test_a_cover_is_kept_while_a_dispatch_may_use_it_then_deleted(app, world, keep_nothing):
    api, sim = world["api"], world["sim"]
    cover = image((10, 160, 60))
    now_post = approve_post(api, world["accounts"][:1], cover=data_url(cover))
    at = (datetime.now() + timedelta(days=1)).replace(microsecond=0).isoformat()
    later_post = approve_post(api, world["accounts"][:1], title="关于明日停水的通知", cover=data_url(cover),
                              publish_at=at)
    run_burst_worker(app)
    published_all(app, [now_post])
    (pending,) = dispatches(app, [later_post])
    assert pending.status == "pending"
    # The scheduled post will send the same cover: the material stays.
    held = materials(sim, "wx_main")
    assert [m["sha256"] for m in held] == [thumb_sha(cover)]
    r = api["editor"].post(f"/posts/{later_post}/schedule", json={"publish_at": None})
    assert r.status_code == 200, r.get_json()
    run_burst_worker(app)
    published_all(app, [later_post])
    thumbs = [p["articles"][0]["thumb_media_id"] for p in sim.state()["published"]]
    assert thumbs == [held[0]["media_id"]] * 2  # reused, not uploaded again
    # Both dispatches are published: nothing uses the cover any more, so it is deleted.
    assert materials(sim, "wx_main") == []


def test_a_reused_cover_deleted_on_the_platform_is_uploaded_again(app, world):
    api, sim = world["api"], world["sim"]
    first = approve_post(api, world["accounts"][:1])
    run_burst_worker(app)
    (gone,) = materials(sim, "wx_main")
    # Someone deletes the material in the 公众平台 back office.
    token = requests.post(sim.base + "/cgi-bin/stable_token", json={
        "grant_type": "client_credential", "appid": "wx_main", "secret": "secret-main"}, timeout=5).json()
    r = requests.post(sim.base + "/cgi-bin/material/del_material", params={"access_token": token["access_token"]},
                      json={"media_id": gone["media_id"]}, timeout=5)
    assert r.json().get("errcode") == 0
    second = approve_post(api, world["accounts"][:1], title="关于供暖保障的第二份通知")
    run_burst_worker(app)
    rows = published_all(app, [first, second])
    assert rows[1].attempts == 1  # uploaded again in the same run, not a failure
    (fresh,) = materials(sim, "wx_main")
    assert fresh["media_id"] != gone["media_id"] and fresh["sha256"] == gone["sha256"]
    third = approve_post(api, world["accounts"][:1], title="关于供暖保障的第三份通知")
    run_burst_worker(app)
    published_all(app, [third])
    assert [m["media_id"] for m in materials(sim, "wx_main")] == [fresh["media_id"]]


def test_a_failed_dispatch_that_may_be_retried_keeps_its_cover(app, world, keep_nothing):
    api, sim = world["api"], world["sim"]
    cover = image((120, 40, 160))
    # WeChat's publish check refuses this draft (53503): the dispatch fails, its draft stays in the
    # draft box referring to its thumb, and an admin may retry it from that draft.
    failing = approve_post(api, world["accounts"][:1], cover=data_url(cover),
                           content="<p>各有关单位：请做好供暖保障。SIM-FAIL-CHECK</p>")
    run_burst_worker(app)
    (d,) = dispatches(app, [failing])
    assert d.status == "failed" and d.draft_ref, (d.status, d.error)
    other = approve_post(api, world["accounts"][:1], title="关于供暖保障的另一份通知")
    run_burst_worker(app)
    published_all(app, [other])
    # The other post's cover (the account's default) is used by nothing any more and is gone; the
    # failed dispatch's cover stays.
    assert [m["sha256"] for m in materials(sim, "wx_main")] == [thumb_sha(cover)]


def test_the_sweeper_deletes_covers_whose_keep_period_passed(app, world):
    from hub.dispatch.jobs.sweep import sweep

    api, sim = world["api"], world["sim"]
    post_id = approve_post(api, world["accounts"][:1])
    run_burst_worker(app)
    published_all(app, [post_id])
    assert len(materials(sim, "wx_main")) == 1  # unused now, but kept for reuse for HUB_MEDIA_KEEP
    sweep()
    run_burst_worker(app)
    assert len(materials(sim, "wx_main")) == 1
    app.config["HUB_MEDIA_KEEP"] = 0  # as if the keep period had passed, with nothing published since
    try:
        sweep()
        run_burst_worker(app)
    finally:
        app.config.pop("HUB_MEDIA_KEEP")
    assert materials(sim, "wx_main") == []
