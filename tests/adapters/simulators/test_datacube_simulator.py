"""The simulators' figures, over HTTP, as the platforms document them: WeChat 图文分析 / 用户分析
(``/datacube/...``: msgid = msg_data_id + index, yesterday at the latest, 61500 / 61501) and Weibo
counts (``statuses/count``, ``users/show``), growing by the day or set through ``/_sim/metrics``."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import requests

from adapters.simulators.weibo import WeiboSimulator, make_server

DAY = 86400


def _today() -> datetime:
    return datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai"))


def _cube(sim: Any, token: str, name: str, begin: str, end: str) -> dict[str, Any]:
    r = sim.http.post(f"{sim.base}/datacube/{name}", params={"access_token": token},
                      json={"begin_date": begin, "end_date": end}, timeout=5)
    assert r.status_code == 200
    return r.json()


def test_article_figures_grow_by_the_day_and_follow_the_msg_data_id(sim: Any) -> None:
    token = sim.token()
    submitted = sim.post("freepublish/submit", token, {"media_id": sim.draft(token, sim.thumb(token), title="甲")})
    assert submitted["msg_data_id"] != int(submitted["publish_id"])  # its own number, as on WeChat
    sim.wait_published(token, submitted["publish_id"])
    today = _today().date()

    # Today's figures do not exist yet: end_date is yesterday at the latest.
    assert _cube(sim, token, "getarticletotaldetail", today.isoformat(), today.isoformat())["errcode"] == 61500
    sim.control("clock", {"advance": 3 * DAY})
    token = sim.token()  # the old one expired with the clock
    day2, day3 = today + timedelta(days=1), today + timedelta(days=2)
    assert _cube(sim, token, "getarticletotaldetail", today.isoformat(), day2.isoformat())["errcode"] == 61501
    (row,) = _cube(sim, token, "getarticletotaldetail", today.isoformat(), today.isoformat())["list"]
    assert row["msgid"] == f"{submitted['msg_data_id']}_1" and row["ref_date"] == today.isoformat()
    reads = [d["read_user"] for d in row["detail_list"]]
    assert [d["stat_date"] for d in row["detail_list"]] == [today.isoformat(), day2.isoformat(), day3.isoformat()]
    assert reads[0] > 0 and reads == sorted(reads) and reads[2] == 3 * reads[0]  # running totals
    # 群发 only: the old interface does not list a freepublish 发表.
    assert _cube(sim, token, "getarticletotal", today.isoformat(), today.isoformat())["list"] == []

    sim.control("metrics", {"appid": "wx0123456789abcdef", "msgid": row["msgid"], "read_user": 4321,
                            "like_user": 9})
    (row,) = _cube(sim, token, "getarticletotaldetail", today.isoformat(), today.isoformat())["list"]
    assert row["detail_list"][-1]["read_user"] == 4321 and row["detail_list"][-1]["like_user"] == 9


def test_followers_by_day_with_the_documented_span(sim: Any) -> None:
    token = sim.token()
    sim.control("clock", {"advance": DAY})
    token = sim.token()
    today = _today().date()
    week = [(today - timedelta(days=i)).isoformat() for i in (6, 0)]
    days = _cube(sim, token, "getusercumulate", *week)["list"]
    assert [d["ref_date"] for d in days][0] == week[0] and len(days) == 7
    assert days[-1]["cumulate_user"] > days[0]["cumulate_user"] > 0
    too_long = (today - timedelta(days=7)).isoformat()
    assert _cube(sim, token, "getusercumulate", too_long, today.isoformat())["errcode"] == 61501
    assert _cube(sim, token, "getusercumulate", "2026/01/01", today.isoformat())["errcode"] == 61500
    sim.control("metrics", {"appid": "wx0123456789abcdef", "followers": 777})
    assert _cube(sim, token, "getusercumulate", today.isoformat(), today.isoformat())["list"][0]["cumulate_user"] == 777
    # The statistics are platform endpoints: injected faults reach them.
    sim.control("faults", {"busy_rate": 1.0})
    assert _cube(sim, token, "getusercumulate", today.isoformat(), today.isoformat())["errcode"] == -1
    sim.control("faults", {})
    r = sim.http.post(f"{sim.base}/_sim/metrics", json={"appid": "x", "followers": -1}, timeout=5)
    assert r.status_code == 400


def test_weibo_counts_and_followers() -> None:
    server = make_server("127.0.0.1", 0, WeiboSimulator())
    base = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        token = requests.post(base + "/_sim/apps", json={"appid": "k", "secret": "s", "safe_domain": "cbeh.gov.cn"},
                              timeout=5).json()["access_token"]
        sid = requests.post(base + "/2/statuses/share.json", data={
            "access_token": token, "status": "通知 https://www.cbeh.gov.cn/a", "rip": "1.2.3.4"}, timeout=5).json()["idstr"]
        counts = requests.get(base + "/2/statuses/count.json", params={"access_token": token, "ids": f"{sid},1"},
                              timeout=5).json()
        assert [c["idstr"] for c in counts] == [sid]  # an unknown id is left out
        assert counts[0]["attitudes"] > 0 and {"reposts", "comments"} <= set(counts[0])
        requests.post(base + "/_sim/metrics", json={"id": sid, "reposts": 5}, timeout=5).raise_for_status()
        counts = requests.get(base + "/2/statuses/count.json", params={"access_token": token, "ids": sid},
                              timeout=5).json()
        assert counts[0]["reposts"] == 5
        many = ",".join(str(i) for i in range(101))
        r = requests.get(base + "/2/statuses/count.json", params={"access_token": token, "ids": many}, timeout=5)
        assert r.status_code == 400 and r.json()["error_code"] == 10017
        uid = requests.post(base + "/oauth2/get_token_info", data={"access_token": token}, timeout=5).json()["uid"]
        user = requests.get(base + "/2/users/show.json", params={"access_token": token, "uid": uid}, timeout=5).json()
        assert user["followers_count"] > 0
    finally:
        server.shutdown()
        server.server_close()
