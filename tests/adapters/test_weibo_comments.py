"""Weibo comments and @mentions of the account, fetched once each with since_id, and replies, against the
Weibo simulator over loopback."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import pytest
import requests
from support import serving

from adapters.base import PlatformError
from adapters.simulators.weibo import make_server
from adapters.weibo_comments import fetch_comments, reply_comment


@pytest.fixture
def account():
    with serving(make_server) as base:
        r = requests.post(base + "/_sim/apps", json={"appid": "wb_c", "secret": "s"}, timeout=5)
        token = r.json()["access_token"]
        st = requests.post(base + "/2/statuses/share.json", data={
            "access_token": token, "status": "关于开展防汛检查的通知 https://example.gov.cn/a/1",
            "rip": "203.0.113.7"}, timeout=5)
        assert st.status_code == 200, st.text
        yield base, {"access_token": token, "api_base": base}, st.json()["idstr"]


def _comment(base: str, **body: Any) -> dict[str, Any]:
    r = requests.post(base + "/_sim/comment", json={"appid": "wb_c", **body}, timeout=5)
    assert r.status_code == 200, r.text
    return r.json()


def _state(base: str) -> dict[str, Any]:
    return requests.get(base + "/_sim/state", timeout=5).json()


def test_comment_and_mention_fetched_once_with_since_id(account):
    base, creds, sid = account
    first = _comment(base, status_id=sid, text="我家门口的排水沟堵了", user_id=6100000001)
    other = "4900000000000001"
    mention = _comment(base, status_id=other, text="请关注一下这里的路灯", mention=True)
    got = fetch_comments(creds, since_id=None)
    assert [(c.comment_id, c.kind, c.status_id) for c in got] == [
        (first["id"], "comment", sid), (mention["id"], "mention", other)]
    assert got[0].user_id == "6100000001" and got[0].text == "我家门口的排水沟堵了"
    assert got[0].created_at.tzinfo is not None and got[0].created_at.utcoffset() == UTC.utcoffset(None)
    assert got[1].text.startswith("@") and "请关注一下这里的路灯" in got[1].text
    assert fetch_comments(creds, since_id=got[-1].comment_id) == []
    newer = _comment(base, text="谢谢答复")  # on the account's latest status
    again = fetch_comments(creds, since_id=got[-1].comment_id)
    assert [c.comment_id for c in again] == [newer["id"]]


def test_a_comment_that_mentions_the_account_on_its_own_status_is_listed_once(account):
    base, creds, sid = account
    _comment(base, status_id=sid, text="反映问题", mention=True)
    got = fetch_comments(creds, since_id=None)
    assert [c.kind for c in got] == ["comment"]


def test_reply_is_recorded_and_not_fetched_back(account):
    base, creds, sid = account
    c = _comment(base, status_id=sid, text="什么时候修好？")
    reply_id = reply_comment(creds, status_id=sid, comment_id=c["id"], text="已转交区城管局，三日内处理。")
    assert reply_id.isdigit()
    state = _state(base)
    assert state["comment_replies"] == [{"appid": "wb_c", "status_id": sid, "comment_id": c["id"],
                                         "reply_id": reply_id, "text": "已转交区城管局，三日内处理。"}]
    shown = next(x for x in state["comments"] if x["id"] == reply_id)
    assert shown["text"].startswith("回复@") and shown["kind"] == "reply"
    assert [x.comment_id for x in fetch_comments(creds, since_id=None)] == [c["id"]]
    with pytest.raises(PlatformError) as again:
        reply_comment(creds, status_id=sid, comment_id=c["id"], text="已转交区城管局，三日内处理。")
    assert again.value.code == 20019


def test_reply_errors_follow_weibo(account):
    base, creds, sid = account
    c = _comment(base, status_id=sid, text="问题")
    with pytest.raises(PlatformError) as missing:
        reply_comment(creds, status_id=sid, comment_id="4999999999999999", text="答复")
    assert missing.value.code == 20201 and "评论" in missing.value.message
    with pytest.raises(PlatformError) as no_status:
        reply_comment(creds, status_id="123", comment_id=c["id"], text="答复")
    assert no_status.value.code == 20101
    with pytest.raises(PlatformError) as too_long:
        reply_comment(creds, status_id=sid, comment_id=c["id"], text="长" * 141)
    assert too_long.value.code == 20012
    r = requests.post(base + "/2/comments/reply.json", data={"access_token": creds["access_token"], "id": sid,
                                                             "comment": "x"}, timeout=5)
    assert r.status_code == 400 and r.json()["error_code"] == 10016
    with pytest.raises(PlatformError) as bad_token:
        fetch_comments({"access_token": "nope", "api_base": base}, since_id=None)
    assert bad_token.value.code == 21332
    requests.post(base + "/_sim/faults", json={"quota_exhausted": True}, timeout=5).raise_for_status()
    with pytest.raises(PlatformError) as hourly:
        fetch_comments(creds, since_id=None)
    assert hourly.value.code == 10023 and hourly.value.retry_after is not None


def test_many_comments_are_paged_through_oldest_first(account):
    base, creds, sid = account
    http = requests.Session()
    ids = [http.post(base + "/_sim/comment", json={"appid": "wb_c", "status_id": sid, "text": f"第{i}条"},
                     timeout=5).json()["id"] for i in range(230)]
    got = fetch_comments(creds, since_id=None)
    assert [c.comment_id for c in got] == ids
    assert [c.comment_id for c in fetch_comments(creds, since_id=ids[199])] == ids[200:]
