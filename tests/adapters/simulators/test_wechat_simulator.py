"""WeChat Official Account simulator: protocol, state, faults, wechatpy interop.

Everything goes over real HTTP on loopback (servers on port 0).
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from adapters.simulators import SIMULATORS
from adapters.simulators.wechat import WeChatSimulator

APPID = "wx0123456789abcdef"
SECRET = "s3cr3t-0123456789abcdef0123456789"
REPO_ROOT = Path(__file__).resolve().parents[3]


def make_client(base: str, appid: str = APPID, secret: str = SECRET) -> WeChatClient:
    """A wechatpy client pointed at the simulator (see NOTES.md "wechatpy")."""

    class SimClient(WeChatClient):
        API_BASE_URL = f"{base}/cgi-bin/"

        def fetch_access_token(self) -> Any:
            return self._fetch_access_token(
                url=f"{base}/cgi-bin/token",
                params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
            )

    return SimClient(appid, secret, auto_retry=False, timeout=5)


# --------------------------------------------------------------------------- tokens


def test_token_happy_path_and_credential_errors(sim: Any) -> None:
    r = sim.http.get(
        f"{sim.base}/cgi-bin/token",
        params={"grant_type": "client_credential", "appid": APPID, "secret": SECRET},
    )
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json; charset=utf-8"
    body = r.json()
    assert set(body) == {"access_token", "expires_in"}
    assert body["expires_in"] == 7200
    assert len(body["access_token"]) > 100

    def token_error(**params: str) -> dict[str, Any]:
        query = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET, **params}
        resp = sim.http.get(f"{sim.base}/cgi-bin/token", params=query)
        assert resp.status_code == 200
        return resp.json()

    assert token_error(secret="wrong") == {"errcode": 40125, "errmsg": "invalid appsecret"}
    assert token_error(appid="wxunknown") == {"errcode": 40013, "errmsg": "invalid appid"}
    assert token_error(grant_type="password")["errcode"] == 40002
    # the failed calls did not invalidate the good token
    assert sim.post("draft/count", body["access_token"]) == {"total_count": 0}


def test_new_token_makes_previous_stale(sim: Any) -> None:
    first = sim.token()
    assert sim.post("draft/count", first) == {"total_count": 0}
    second = sim.token()
    assert second != first
    assert sim.post("draft/count", first) == {
        "errcode": 40001,
        "errmsg": "invalid credential, access_token is invalid or not latest",
    }
    assert sim.post("draft/count", second) == {"total_count": 0}
    assert sim.post("draft/count", "made-up")["errcode"] == 40001
    r = sim.http.post(f"{sim.base}/cgi-bin/draft/count", json={})
    assert r.json()["errcode"] == 41001


def test_expire_tokens_gives_42001_then_refresh_works(sim: Any) -> None:
    token = sim.token()
    sim.control("expire_tokens")
    assert sim.post("draft/count", token) == {"errcode": 42001, "errmsg": "access_token expired"}
    assert sim.post("draft/count", sim.token()) == {"total_count": 0}


def test_token_ttl_is_honoured(make_sim: Any) -> None:
    now = [1_700_000_000.0]
    handle = make_sim(token_ttl=60, clock=lambda: now[0])
    handle.register()
    token = handle.token()
    now[0] += 59
    assert handle.post("draft/count", token) == {"total_count": 0}
    now[0] += 1
    assert handle.post("draft/count", token)["errcode"] == 42001


def test_stable_token(sim: Any) -> None:
    url = f"{sim.base}/cgi-bin/stable_token"
    payload = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET, "force_refresh": False}
    first = sim.http.post(url, json=payload).json()
    assert first["expires_in"] > 7000
    again = sim.http.post(url, json=payload).json()
    assert again["access_token"] == first["access_token"]
    # the stable token and /token are independent
    basic = sim.token()
    assert sim.post("draft/count", first["access_token"]) == {"total_count": 0}
    assert sim.post("draft/count", basic) == {"total_count": 0}
    forced = sim.http.post(url, json={**payload, "force_refresh": True}).json()
    assert forced["access_token"] != first["access_token"]
    assert sim.post("draft/count", first["access_token"])["errcode"] == 40001
    assert sim.post("draft/count", forced["access_token"]) == {"total_count": 0}
    assert sim.http.post(url, json={**payload, "secret": "x"}).json()["errcode"] == 40125
    assert sim.http.post(url, json={**payload, "appid": "wxnope"}).json()["errcode"] == 40013
    assert sim.http.post(url, json={**payload, "grant_type": "x"}).json()["errcode"] == 40002


def test_reregistering_replaces_secret(sim: Any) -> None:
    sim.register(APPID, "new-secret")
    r = sim.http.get(
        f"{sim.base}/cgi-bin/token",
        params={"grant_type": "client_credential", "appid": APPID, "secret": SECRET},
    )
    assert r.json()["errcode"] == 40125
    assert sim.token(APPID, "new-secret")


# --------------------------------------------------------------------------- protocol details


def test_unknown_path_wrong_method_and_bad_json(sim: Any) -> None:
    token = sim.token()
    assert sim.http.get(f"{sim.base}/cgi-bin/nope", params={"access_token": token}).status_code == 404
    r = sim.http.get(f"{sim.base}/cgi-bin/draft/add", params={"access_token": token})
    assert r.json() == {"errcode": 43002, "errmsg": "require POST method"}
    r = sim.http.post(f"{sim.base}/cgi-bin/draft/add", params={"access_token": token}, data=b"{not json")
    assert r.json()["errcode"] == 47001


def test_chinese_is_returned_unescaped(sim: Any, make_image: Any) -> None:
    token = sim.token()
    media_id = sim.draft(token, sim.thumb(token), content="<p>SIM-FAIL-CHECK</p>")
    r = sim.http.post(
        f"{sim.base}/cgi-bin/freepublish/submit", params={"access_token": token}, json={"media_id": media_id}
    )
    assert "该草稿未通过发布检查".encode() in r.content
    assert b"\\u" not in r.content


# --------------------------------------------------------------------------- media


def test_material_and_uploadimg_rules(sim: Any, make_image: Any) -> None:
    token = sim.token()
    jpg = make_image("JPEG")
    png = make_image("PNG")
    body = sim.upload("material/add_material", token, jpg, type="thumb")
    assert set(body) == {"media_id", "url"}
    body = sim.upload("material/add_material", token, png, filename="a.png", type="image")
    assert body["url"].startswith("http://mmbiz.qpic.cn/")
    assert sim.upload("material/add_material", token, png, filename="a.png", type="thumb")["errcode"] == 40005
    big_jpg = make_image("JPEG", size=(200, 200), noise=True)
    assert len(big_jpg) > 64 * 1024
    assert sim.upload("material/add_material", token, big_jpg, type="thumb")["errcode"] == 40009
    assert sim.upload("material/add_material", token, b"not an image", type="image")["errcode"] == 40005
    assert sim.upload("material/add_material", token, jpg, type="sticker")["errcode"] == 40004
    r = sim.http.post(
        f"{sim.base}/cgi-bin/material/add_material", params={"access_token": token, "type": "image"}, data=b""
    )
    assert r.json()["errcode"] == 41005

    url = sim.upload("media/uploadimg", token, jpg)["url"]
    assert url.startswith("http://mmbiz.qpic.cn/")
    assert sim.upload("media/uploadimg", token, png, filename="a.png")["url"].startswith(
        "http://mmbiz.qpic.cn/"
    )
    gif = make_image("GIF")
    assert sim.upload("media/uploadimg", token, gif, filename="a.gif")["errcode"] == 40005
    huge = make_image("JPEG", size=(800, 800), noise=True)
    assert len(huge) >= 1024 * 1024
    assert sim.upload("media/uploadimg", token, huge)["errcode"] == 40009
    state = sim.state()
    assert len(state["materials"]) == 2 and len(state["images"]) == 2


# --------------------------------------------------------------------------- drafts


def test_draft_limits(sim: Any, make_sim: Any) -> None:
    token = sim.token()
    thumb = sim.thumb(token)
    base = {"title": "标题", "content": "<p>正文</p>", "thumb_media_id": thumb}

    def add(**fields: Any) -> dict[str, Any]:
        return sim.post("draft/add", token, {"articles": [{**base, **fields}]})

    assert add(title="题" * 32).get("media_id")
    assert add(title="题" * 33)["errcode"] == 45003
    assert add(title="")["errcode"] == 47003
    assert add(author="作" * 16).get("media_id")
    assert add(author="作" * 17)["errcode"] == 45110
    assert add(digest="摘" * 128).get("media_id")
    assert add(digest="摘" * 129)["errcode"] == 45004
    assert add(content="字" * 19_999).get("media_id")
    assert add(content="字" * 20_000)["errcode"] == 45002
    assert add(content="")["errcode"] == 44004
    assert add(thumb_media_id="nope")["errcode"] == 40007
    assert add(thumb_media_id="")["errcode"] == 40007
    assert sim.post("draft/add", token, {"articles": []})["errcode"] == 44003
    assert sim.post("draft/add", token, {"articles": [base] * 9})["errcode"] == 45008

    # another app's material is not usable
    sim.register("wxother", "other-secret")
    other = sim.token("wxother", "other-secret")
    assert sim.post("draft/add", other, {"articles": [base]})["errcode"] == 40007
    assert sim.post("draft/count", token) == {"total_count": 4}
    assert sim.post("draft/count", other) == {"total_count": 0}


def test_draft_get_batchget_update_delete(sim: Any) -> None:
    token = sim.token()
    thumb = sim.thumb(token)
    first = sim.draft(token, thumb, title="第一篇", digest="", content="<p>自动&nbsp;摘要</p>")
    second = sim.draft(token, thumb, title="第二篇")

    item = sim.post("draft/get", token, {"media_id": first})["news_item"][0]
    assert item["title"] == "第一篇"
    assert item["digest"] == "自动 摘要"  # empty digest: taken from the text, like the platform
    assert item["thumb_media_id"] == thumb
    assert item["url"].startswith(sim.base + "/s/")
    assert sim.post("draft/get", token, {"media_id": "nope"})["errcode"] == 40007

    page = sim.post("draft/batchget", token, {"offset": 0, "count": 20, "no_content": 0})
    assert page["total_count"] == 2 and page["item_count"] == 2
    assert [i["media_id"] for i in page["item"]] == [second, first]  # newest first
    assert page["item"][0]["content"]["news_item"][0]["content"] == "<p>正文内容</p>"
    assert "update_time" in page["item"][0]
    page = sim.post("draft/batchget", token, {"offset": 1, "count": 1, "no_content": 1})
    assert page["total_count"] == 2 and page["item_count"] == 1
    assert "content" not in page["item"][0]["content"]["news_item"][0]
    assert sim.post("draft/batchget", token, {"offset": 0, "count": 21})["errcode"] == 47003

    updated = sim.post(
        "draft/update",
        token,
        {
            "media_id": first,
            "index": 0,
            "articles": {"title": "改后", "content": "<p>x</p>", "thumb_media_id": thumb},
        },
    )
    assert updated == {"errcode": 0, "errmsg": "ok"}
    assert sim.post("draft/get", token, {"media_id": first})["news_item"][0]["title"] == "改后"

    assert sim.post("draft/delete", token, {"media_id": first}) == {"errcode": 0, "errmsg": "ok"}
    assert sim.post("draft/delete", token, {"media_id": first})["errcode"] == 40007
    assert sim.post("draft/count", token) == {"total_count": 1}
    drafts = sim.state()["drafts"]
    assert [d["media_id"] for d in drafts] == [second]
    assert drafts[0]["appid"] == APPID
    assert drafts[0]["articles"][0]["title"] == "第二篇"
    assert drafts[0]["articles"][0]["content_source_url"] == "https://www.example.gov.cn/a/1"


# --------------------------------------------------------------------------- publishing


def test_full_publish_flow(make_sim: Any) -> None:
    sim = make_sim(publish_delay=0.3)
    sim.register()
    token = sim.token()
    thumb = sim.thumb(token)
    media_id = sim.draft(token, thumb)

    submitted = sim.post("freepublish/submit", token, {"media_id": media_id})
    assert submitted["errcode"] == 0 and submitted["errmsg"] == "ok"
    publish_id = submitted["publish_id"]
    assert isinstance(publish_id, str) and publish_id.isdigit()

    pending = sim.post("freepublish/get", token, {"publish_id": publish_id})
    assert pending["publish_id"] == publish_id and pending["publish_status"] == 1
    assert sim.state()["published"][0]["status"] == "publishing"
    # the draft left the draft box: it cannot be submitted twice
    assert sim.post("freepublish/submit", token, {"media_id": media_id})["errcode"] == 40007

    done = sim.wait_published(token, publish_id)
    assert done["publish_status"] == 0
    assert done["article_id"]
    assert done["fail_idx"] == []
    assert done["article_detail"]["count"] == 1
    article_url = done["article_detail"]["item"][0]["article_url"]
    assert done["article_detail"]["item"][0]["idx"] == 1
    assert article_url.startswith(f"{sim.base}/s/")

    state = sim.state()
    assert state["drafts"] == []
    assert len(state["published"]) == 1
    entry = state["published"][0]
    assert entry["appid"] == APPID
    assert entry["publish_id"] == publish_id
    assert entry["article_id"] == done["article_id"]
    assert entry["title"] == "关于开展安全生产检查的通知"
    assert entry["url"] == article_url
    assert entry["status"] == "published"
    assert entry["content_source_url"] == "https://www.example.gov.cn/a/1"

    page = sim.http.get(article_url)
    assert page.status_code == 200 and "关于开展安全生产检查的通知" in page.text


def test_publish_check_failure_53503(sim: Any) -> None:
    token = sim.token()
    media_id = sim.draft(token, sim.thumb(token), content="<p>含有 SIM-FAIL-CHECK 的正文</p>")
    assert sim.post("freepublish/submit", token, {"media_id": media_id}) == {
        "errcode": 53503,
        "errmsg": "该草稿未通过发布检查",
    }
    state = sim.state()
    assert state["published"] == [] and len(state["drafts"]) == 1
    assert sim.post("freepublish/submit", token, {"media_id": "not-a-draft"})["errcode"] == 40007


def test_async_publish_failure_marker(sim: Any) -> None:
    token = sim.token()
    media_id = sim.draft(token, sim.thumb(token), content="<p>SIM-FAIL-PUBLISH</p>")
    publish_id = sim.post("freepublish/submit", token, {"media_id": media_id})["publish_id"]
    done = sim.wait_published(token, publish_id)
    assert done == {"publish_id": publish_id, "publish_status": 3, "fail_idx": [1]}
    state = sim.state()
    assert state["published"][0]["status"] == "failed"
    assert [d["media_id"] for d in state["drafts"]] == [media_id]  # back in the draft box


def test_freepublish_batchget_getarticle_delete(sim: Any) -> None:
    token = sim.token()
    thumb = sim.thumb(token)
    ids = []
    for title in ("甲", "乙"):
        publish_id = sim.post(
            "freepublish/submit", token, {"media_id": sim.draft(token, thumb, title=title)}
        )["publish_id"]
        ids.append(sim.wait_published(token, publish_id))
    article_a, article_b = (d["article_id"] for d in ids)

    page = sim.post("freepublish/batchget", token, {"offset": 0, "count": 10, "no_content": 0})
    assert page["total_count"] == 2 and page["item_count"] == 2
    assert {i["article_id"] for i in page["item"]} == {article_a, article_b}
    news = page["item"][0]["content"]["news_item"][0]
    for key in (
        "title",
        "author",
        "digest",
        "content",
        "content_source_url",
        "thumb_media_id",
        "url",
        "is_deleted",
    ):
        assert key in news
    assert news["is_deleted"] is False
    assert "update_time" in page["item"][0]

    article = sim.post("freepublish/getarticle", token, {"article_id": article_a})
    assert article["news_item"][0]["title"] == "甲"
    assert article["news_item"][0]["url"] == ids[0]["article_detail"]["item"][0]["article_url"]

    assert sim.post("freepublish/delete", token, {"article_id": article_a, "index": 0}) == {
        "errcode": 0,
        "errmsg": "ok",
    }
    assert sim.post("freepublish/getarticle", token, {"article_id": article_a}) == {
        "errcode": 53600,
        "errmsg": "Article ID 无效",
    }
    assert sim.post("freepublish/delete", token, {"article_id": article_a})["errcode"] == 53600
    assert sim.post("freepublish/getarticle", token, {"article_id": "nope"})["errcode"] == 53600
    assert sim.post("freepublish/get", token, {"publish_id": ids[0]["publish_id"]})["publish_status"] == 5

    page = sim.post("freepublish/batchget", token, {"offset": 0, "count": 10, "no_content": 1})
    deleted = {i["article_id"]: i["content"]["news_item"][0]["is_deleted"] for i in page["item"]}
    assert deleted == {article_a: True, article_b: False}
    assert "content" not in page["item"][0]["content"]["news_item"][0]

    published = sim.state()["published"]
    assert len(published) == 2
    assert {p["article_id"]: p["status"] for p in published} == {article_a: "deleted", article_b: "published"}
    assert sim.http.get(ids[0]["article_detail"]["item"][0]["article_url"]).status_code == 404


# --------------------------------------------------------------------------- mass send


def test_mass_sendall_and_clientmsgid_idempotency(sim: Any) -> None:
    token = sim.token()
    media_id = sim.draft(token, sim.thumb(token))
    payload = {
        "filter": {"is_to_all": True},
        "mpnews": {"media_id": media_id},
        "msgtype": "mpnews",
        "send_ignore_reprint": 0,
        "clientmsgid": "dispatch-42",
    }
    sent = sim.post("message/mass/sendall", token, payload)
    assert sent["errcode"] == 0 and sent["errmsg"] == "send job submission success"
    assert isinstance(sent["msg_id"], int) and isinstance(sent["msg_data_id"], int)

    again = sim.post("message/mass/sendall", token, payload)
    assert again == {"errcode": 45065, "errmsg": "clientmsgid exist", "msg_id": sent["msg_id"]}

    state = sim.state()
    assert len(state["mass_sends"]) == 1
    assert state["mass_sends"][0]["msg_id"] == sent["msg_id"]
    assert state["mass_sends"][0]["clientmsgid"] == "dispatch-42"
    assert state["mass_sends"][0]["title"] == "关于开展安全生产检查的通知"
    # The send finishes asynchronously (simulator time); then the draft leaves the draft box.
    assert sim.post("message/mass/get", token, {"msg_id": sent["msg_id"]})["msg_status"] == "SENDING"
    assert len(state["drafts"]) == 1
    sim.control("clock", {"advance": 2 * 60})
    assert sim.post("message/mass/get", token, {"msg_id": sent["msg_id"]})["msg_status"] == "SEND_SUCCESS"
    assert sim.state()["drafts"] == []
    # unknown draft / message type
    assert sim.post("message/mass/sendall", token, {**payload, "clientmsgid": "x"})["errcode"] == 40007
    assert (
        sim.post("message/mass/sendall", token, {**payload, "msgtype": "voice", "clientmsgid": "y"})[
            "errcode"
        ]
        == 40008
    )


# --------------------------------------------------------------------------- quotas


def test_daily_and_minute_quota(make_sim: Any) -> None:
    handle = make_sim(daily_quota=2)
    handle.register()
    token = handle.token()
    assert handle.post("draft/count", token) == {"total_count": 0}
    assert handle.post("draft/count", token) == {"total_count": 0}
    assert handle.post("draft/count", token) == {
        "errcode": 45009,
        "errmsg": "reach max api daily quota limit",
    }
    assert handle.post("draft/batchget", token, {"offset": 0, "count": 1})["total_count"] == 0  # other family
    assert handle.post("clear_quota", token, {"appid": APPID}) == {"errcode": 0, "errmsg": "ok"}
    assert handle.post("draft/count", token) == {"total_count": 0}

    handle.control("quotas", {"daily": 1000, "minute": 1})
    assert handle.post("draft/get", token, {"media_id": "x"})["errcode"] == 40007
    assert handle.post("draft/get", token, {"media_id": "x"})["errcode"] == 45011


# --------------------------------------------------------------------------- faults


def test_busy_fault_acts_on_nothing(sim: Any) -> None:
    token = sim.token()
    thumb = sim.thumb(token)
    sim.control("faults", {"busy_rate": 1})
    busy = {"errcode": -1, "errmsg": "system error"}
    r = sim.http.post(
        f"{sim.base}/cgi-bin/draft/add",
        params={"access_token": token},
        json={"articles": [{"title": "t", "content": "<p>c</p>", "thumb_media_id": thumb}]},
    )
    assert r.json() == busy
    r = sim.http.get(
        f"{sim.base}/cgi-bin/token",
        params={"grant_type": "client_credential", "appid": APPID, "secret": SECRET},
    )
    assert r.json() == busy
    # control surface is never faulted
    assert sim.state()["drafts"] == []
    sim.control("faults", {})
    assert sim.post("draft/count", token) == {"total_count": 0}  # the busy /token call issued nothing


def test_drop_after_commit_creates_then_drops(sim: Any) -> None:
    token = sim.token()
    thumb = sim.thumb(token)
    sim.control("faults", {"drop_after_commit_rate": 1})
    with pytest.raises(requests.ConnectionError):
        sim.http.post(
            f"{sim.base}/cgi-bin/draft/add",
            params={"access_token": token},
            json={"articles": [{"title": "掉线的草稿", "content": "<p>c</p>", "thumb_media_id": thumb}]},
            timeout=5,
        )
    state = sim.state()
    assert [d["articles"][0]["title"] for d in state["drafts"]] == ["掉线的草稿"]
    sim.control("apps", {"appid": "wxanother", "secret": "x"})  # control works while faulted
    sim.control("faults", {})
    assert sim.post("draft/count", token) == {"total_count": 1}


def test_latency_and_quota_exhausted_faults(sim: Any) -> None:
    token = sim.token()
    sim.control("faults", {"latency_ms": 150})
    started = time.monotonic()
    assert sim.post("draft/count", token) == {"total_count": 0}
    assert time.monotonic() - started >= 0.14
    started = time.monotonic()
    sim.state()
    assert time.monotonic() - started < 0.14

    sim.control("faults", {"quota_exhausted": True})
    assert sim.post("draft/count", token)["errcode"] == 45009
    r = sim.http.get(
        f"{sim.base}/cgi-bin/token",
        params={"grant_type": "client_credential", "appid": APPID, "secret": SECRET},
    )
    assert r.json()["errcode"] == 45009
    faults = sim.http.get(f"{sim.base}/_sim/faults").json()
    assert faults["quota_exhausted"] is True


def test_seeded_faults_are_reproducible(sim: Any) -> None:
    token = sim.token()

    def run() -> list[int]:
        sim.control("faults", {"busy_rate": 0.5, "seed": 1234})
        return [sim.post("draft/count", token).get("errcode", 0) for _ in range(20)]

    first, second = run(), run()
    assert first == second
    assert set(first) == {0, -1}


def test_fault_settings_validation(sim: Any) -> None:
    r = sim.http.post(f"{sim.base}/_sim/faults", json={"busy_rate": 2})
    assert r.status_code == 400
    r = sim.http.post(f"{sim.base}/_sim/faults", json={"bogus": 1})
    assert r.status_code == 400
    r = sim.http.post(f"{sim.base}/_sim/apps", json={"appid": "x"})
    assert r.status_code == 400


def test_reset_forgets_everything(sim: Any) -> None:
    token = sim.token()
    sim.draft(token, sim.thumb(token))
    sim.control("reset")
    assert sim.state()["drafts"] == []
    assert sim.post("draft/count", token)["errcode"] == 40001
    r = sim.http.get(
        f"{sim.base}/cgi-bin/token",
        params={"grant_type": "client_credential", "appid": APPID, "secret": SECRET},
    )
    assert r.json()["errcode"] == 40013


# --------------------------------------------------------------------------- wechatpy interoperability


def test_wechatpy_client_interoperates(sim: Any, make_image: Any) -> None:
    import io

    client = make_client(sim.base)
    thumb = client.material.add("thumb", ("cover.jpg", make_image("JPEG")))
    assert thumb["media_id"]
    url = client.media.upload_image(io.BytesIO(make_image("PNG")))
    assert url.startswith("http://mmbiz.qpic.cn/")
    article = {
        "title": "政务公开",
        "content": "<p>内容</p>",
        "thumb_media_id": thumb["media_id"],
        "author": "办公室",
    }
    media_id = client.post("draft/add", data={"articles": [article]})["media_id"]
    assert client.post("draft/count", data={})["total_count"] == 1

    publish_id = client.post("freepublish/submit", data={"media_id": media_id})["publish_id"]
    deadline = time.monotonic() + 3
    while (status := client.post("freepublish/get", data={"publish_id": publish_id}))["publish_status"] == 1:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert status["publish_status"] == 0
    article_id = status["article_id"]
    assert (
        client.post("freepublish/getarticle", data={"article_id": article_id})["news_item"][0]["title"]
        == "政务公开"
    )

    media_id2 = client.post("draft/add", data={"articles": [article]})["media_id"]
    sent = client.message.send_mass_article(None, media_id2, is_to_all=True, client_msg_id="wxpy-1")
    assert sent["msg_id"]
    with pytest.raises(WeChatClientException) as excinfo:
        client.message.send_mass_article(None, media_id2, is_to_all=True, client_msg_id="wxpy-1")
    assert excinfo.value.errcode == 45065

    with pytest.raises(WeChatClientException) as excinfo:
        client.post("draft/add", data={"articles": [{**article, "title": "长" * 40}]})
    assert excinfo.value.errcode == 45003

    # a stale token surfaces as 40001 (auto_retry=False), a fresh fetch fixes it
    sim.token()
    with pytest.raises(WeChatClientException) as excinfo:
        client.post("draft/count", data={})
    assert excinfo.value.errcode == 40001
    client.fetch_access_token()
    # The mass-sent draft stays in the draft box until the send has finished (simulator time).
    assert client.post("draft/count", data={})["total_count"] == 1
    sim.control("clock", {"advance": 2 * 60})
    assert client.post("draft/count", data={})["total_count"] == 0

    bad = make_client(sim.base, secret="wrong")
    with pytest.raises(WeChatClientException) as excinfo:
        bad.fetch_access_token()
    assert excinfo.value.errcode == 40125

    sim.control("faults", {"busy_rate": 1})
    with pytest.raises(WeChatClientException) as excinfo:
        client.post("draft/count", data={})
    assert excinfo.value.errcode == -1


# --------------------------------------------------------------------------- IPv6, server lifecycle


def _ipv6_loopback_available() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback_available(), reason="the OS has no IPv6 loopback")
def test_ipv6_loopback(make_sim: Any) -> None:
    handle = make_sim("::1")
    assert handle.base.startswith("http://[::1]:")
    handle.register()
    token = handle.token()
    media_id = handle.draft(token, handle.thumb(token))
    publish_id = handle.post("freepublish/submit", token, {"media_id": media_id})["publish_id"]
    done = handle.wait_published(token, publish_id)
    assert done["article_detail"]["item"][0]["article_url"].startswith("http://[::1]:")


def test_make_server_exposes_simulator_and_port(make_sim: Any) -> None:
    handle = make_sim()
    assert isinstance(handle.sim, WeChatSimulator)
    assert handle.server.server_address[1] > 0
    handle.sim.register_app("wxdirect", "pw")
    assert handle.token("wxdirect", "pw")
    assert SIMULATORS["wechat"] == "adapters.simulators.wechat"


def test_serve_prints_address_and_stops_on_sigterm() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from adapters.simulators import run; run('wechat', '127.0.0.1', 0)"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("WeChat simulator on http://127.0.0.1:"), line
        base = line.split(" on ", 1)[1]
        assert requests.get(f"{base}/_sim/state", timeout=5).json()["drafts"] == []
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# --------------------------------------------------------------------------- WeChat's documentation
#
# The tests below drive the simulator with plain HTTP calls (requests, through the conftest's
# Sim helper), written from WeChat's own documentation, not from wechatpy or our adapter:
# api_draft_add ("外部图片url将被过滤", "此处会去除JS"), api_draft_count (GET), 群发接口
# (订阅号 1 a day, 服务号 4 a month, 45028; clientmsgid ≤ 64 bytes → 45067, remembered 24 h →
# 45065; asynchronous; send_ignore_reprint; message/mass/delete), freepublish (仅认证 → 48001),
# the IP allow-list (40164) and the material library caps. See /work/shared/PLATFORMS.md §1.2/§1.3.

BEIJING = timezone(timedelta(hours=8))
EXTERNAL = "https://www.example.gov.cn"


def _app(sim: Any, **settings: Any) -> dict[str, Any]:
    """POST /_sim/apps for the test app with ``settings``; returns the answer."""
    return sim.control("apps", {"appid": APPID, "secret": SECRET, **settings})


def _sim_now(sim: Any) -> datetime:
    r = sim.http.get(f"{sim.base}/_sim/clock", timeout=5)
    assert r.status_code == 200
    return datetime.fromtimestamp(r.json()["now"], BEIJING)


def _move_clock_to(sim: Any, when: datetime) -> None:
    """Advance the simulator clock to ``when`` (which must be later than its current time)."""
    delta = (when - _sim_now(sim)).total_seconds()
    assert delta >= 0
    sim.control("clock", {"advance": delta})


def _next_day_10am(sim: Any) -> datetime:
    now = _sim_now(sim)
    return (now + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)


def _next_month_10am(sim: Any) -> datetime:
    now = _sim_now(sim)
    return (now.replace(day=1) + timedelta(days=32)).replace(day=1, hour=10, minute=0, second=0, microsecond=0)


def _text_send(sim: Any, token: str, clientmsgid: str, **extra: Any) -> dict[str, Any]:
    payload = {"filter": {"is_to_all": True}, "text": {"content": "通知"}, "msgtype": "text",
               "clientmsgid": clientmsgid, **extra}
    return sim.post("message/mass/sendall", token, payload)


def _news_send(sim: Any, token: str, media_id: str, clientmsgid: str, **extra: Any) -> dict[str, Any]:
    payload = {"filter": {"is_to_all": True}, "mpnews": {"media_id": media_id}, "msgtype": "mpnews",
               "send_ignore_reprint": 0, "clientmsgid": clientmsgid, **extra}
    return sim.post("message/mass/sendall", token, payload)


def test_stored_content_is_what_wechat_keeps(sim: Any, make_image: Any) -> None:
    token = sim.token()
    hosted = sim.upload("media/uploadimg", token, make_image("PNG"), "p.png")["url"]
    content = (
        f'<p style="color:#333;background-image:url({EXTERNAL}/bg.png)">通知正文</p>'
        f'<img src="{EXTERNAL}/photo.jpg" alt="外部图片">'
        '<img src="data:image/png;base64,iVBORw0KGgo=" alt="内嵌图片">'
        f'<img src="{hosted}" srcset="{EXTERNAL}/photo@2x.jpg 2x" alt="已上传">'
        '<script>document.title="x"</script><iframe src="https://v.example.com/x"><p>视频</p></iframe>'
        '<p onclick="steal()"><a href="https://www.gov.cn/zhengce/">中国政府网</a>'
        ' <a href="https://mp.weixin.qq.com/s/abc">往期回顾</a></p>'
    )
    media_id = sim.draft(token, sim.thumb(token), content=content)

    def assert_kept(stored: str) -> None:
        assert "example.gov.cn" not in stored and "data:" not in stored  # external / inline images gone
        assert stored.count("<img") == 1 and f'src="{hosted}"' in stored  # the uploadimg image stays
        assert "<script" not in stored and "document.title" not in stored
        assert "<iframe" not in stored and "视频" not in stored
        assert "srcset" not in stored and "url(" not in stored and "onclick" not in stored
        assert "color:#333" in stored and "通知正文" in stored
        assert "中国政府网" in stored and 'href="https://www.gov.cn' not in stored  # text kept, link dropped
        assert 'href="https://mp.weixin.qq.com/s/abc"' in stored  # links to WeChat stay

    stored = sim.post("draft/get", token, {"media_id": media_id})["news_item"][0]["content"]
    assert_kept(stored)
    assert sim.state()["drafts"][0]["articles"][0]["content"] == stored

    # draft/update stores what WeChat keeps too.
    updated = {"title": "改后", "content": f'<p>新</p><img src="{EXTERNAL}/b.jpg">', "thumb_media_id":
               sim.state()["drafts"][0]["articles"][0]["thumb_media_id"]}
    assert sim.post("draft/update", token, {"media_id": media_id, "index": 0, "articles": updated})["errcode"] == 0
    assert sim.post("draft/get", token, {"media_id": media_id})["news_item"][0]["content"] == "<p>新</p>"
    assert sim.post("draft/update", token, {"media_id": media_id, "index": 0,
                                            "articles": {**updated, "content": content}})["errcode"] == 0

    publish_id = sim.post("freepublish/submit", token, {"media_id": media_id})["publish_id"]
    done = sim.wait_published(token, publish_id)
    assert done["publish_status"] == 0
    article = sim.post("freepublish/getarticle", token, {"article_id": done["article_id"]})["news_item"][0]
    assert article["content"] == stored
    assert sim.state()["published"][0]["articles"][0]["content"] == stored
    page = sim.http.get(done["article_detail"]["item"][0]["article_url"], timeout=5).text
    assert "<script" not in page and "example.gov.cn" not in page


def test_draft_count_answers_get(sim: Any) -> None:
    token = sim.token()
    sim.draft(token, sim.thumb(token))
    r = sim.http.get(f"{sim.base}/cgi-bin/draft/count", params={"access_token": token}, timeout=5)
    assert r.json() == {"total_count": 1}
    assert sim.post("draft/count", token) == {"total_count": 1}


def test_uploadimg_answers_errcode_ok(sim: Any, make_image: Any) -> None:
    body = sim.upload("media/uploadimg", sim.token(), make_image("JPEG"))
    assert body["errcode"] == 0 and body["errmsg"] == "ok" and body["url"].startswith("http://mmbiz.qpic.cn/")


def test_clientmsgid_over_64_bytes_gives_45067(sim: Any) -> None:
    token = sim.token()
    assert _text_send(sim, token, "a" * 65) == {"errcode": 45067, "errmsg": "clientmsgid size out of limit"}
    assert _text_send(sim, token, "编" * 22)["errcode"] == 45067  # 66 bytes in UTF-8
    assert sim.state()["mass_sends"] == []
    assert _text_send(sim, token, "a" * 64)["errcode"] == 0


def test_clientmsgid_is_remembered_for_24_hours(sim: Any) -> None:
    token = sim.token()
    first = _text_send(sim, token, "dispatch-1")
    assert first["errcode"] == 0
    sim.control("clock", {"advance": 23 * 3600})
    token = sim.token()  # the old one expired meanwhile
    assert _text_send(sim, token, "dispatch-1") == {
        "errcode": 45065, "errmsg": "clientmsgid exist", "msg_id": first["msg_id"]}
    sim.control("clock", {"advance": 3600})
    token = sim.token()
    again = _text_send(sim, token, "dispatch-1")
    assert again["errcode"] == 0 and again["msg_id"] != first["msg_id"]  # a new send after 24 h
    assert len(sim.state()["mass_sends"]) == 2


def test_subscription_account_mass_sends_once_a_day(sim: Any) -> None:
    assert _app(sim, type="subscription")["type"] == "subscription"
    _move_clock_to(sim, _next_day_10am(sim))
    token = sim.token()
    thumb = sim.thumb(token)
    first = _news_send(sim, token, sim.draft(token, thumb, title="第一条"), "d-1")
    assert first["errcode"] == 0
    second_draft = sim.draft(token, thumb, title="第二条")
    assert _news_send(sim, token, second_draft, "d-2") == {"errcode": 45028, "errmsg": "has no masssend quota"}
    # A tag send counts against the same daily send (订阅号: "全部用户或某个标签").
    tag = {"filter": {"is_to_all": False, "tag_id": 2}, "text": {"content": "x"}, "msgtype": "text"}
    assert sim.post("message/mass/sendall", token, tag)["errcode"] == 45028
    assert [m["titles"] for m in sim.state()["mass_sends"]] == [["第一条"]]
    assert any(d["media_id"] == second_draft for d in sim.state()["drafts"])  # refused: nothing left the box

    _move_clock_to(sim, _next_day_10am(sim))  # the next Beijing day
    token = sim.token()
    assert _news_send(sim, token, second_draft, "d-2")["errcode"] == 0


def test_service_account_mass_sends_four_times_a_month(sim: Any) -> None:
    assert _app(sim)["type"] == "service"  # the default
    _move_clock_to(sim, _next_month_10am(sim))
    token = sim.token()
    for n in range(4):
        assert _text_send(sim, token, f"m-{n}")["errcode"] == 0
        sim.control("clock", {"advance": 3600})
        token = sim.token()
    assert _text_send(sim, token, "m-4") == {"errcode": 45028, "errmsg": "has no masssend quota"}
    _move_clock_to(sim, _next_month_10am(sim))
    token = sim.token()
    assert _text_send(sim, token, "m-4")["errcode"] == 0


def test_mass_send_is_sending_then_finished(sim: Any) -> None:
    token = sim.token()
    media_id = sim.draft(token, sim.thumb(token))
    sent = _news_send(sim, token, media_id, "async-1")
    assert sent["errcode"] == 0 and sent["errmsg"] == "send job submission success"
    assert sim.post("message/mass/get", token, {"msg_id": sent["msg_id"]}) == {
        "msg_id": sent["msg_id"], "msg_status": "SENDING"}
    state = sim.state()
    assert state["mass_sends"][0]["status"] == "SENDING"
    assert [d["media_id"] for d in state["drafts"]] == [media_id]
    # A send still going cannot be deleted.
    assert sim.post("message/mass/delete", token, {"msg_id": sent["msg_id"], "article_idx": 0})["errcode"] == 47003

    sim.control("clock", {"advance": 2 * 60})
    assert sim.post("message/mass/get", token, {"msg_id": sent["msg_id"]})["msg_status"] == "SEND_SUCCESS"
    state = sim.state()
    assert state["mass_sends"][0]["status"] == "SEND_SUCCESS" and state["mass_sends"][0]["check_state"] == 1
    assert state["mass_sends"][0]["articles"][0]["content"] == "<p>正文内容</p>"
    assert state["drafts"] == []  # "群发成功后 … 后台草稿也会被自动删除"

    assert sim.post("message/mass/delete", token, {"msg_id": sent["msg_id"], "article_idx": 0}) == {
        "errcode": 0, "errmsg": "ok"}
    assert sim.post("message/mass/get", token, {"msg_id": sent["msg_id"]})["msg_status"] == "DELETE"
    assert sim.state()["mass_sends"][0]["articles"][0]["is_deleted"] is True
    assert sim.post("message/mass/delete", token, {"msg_id": 1})["errcode"] == 47003


def test_a_repost_stops_the_mass_send_unless_told_to_go_on(sim: Any) -> None:
    _app(sim, type="subscription")
    _move_clock_to(sim, _next_day_10am(sim))
    token = sim.token()
    thumb = sim.thumb(token)
    repost = sim.draft(token, thumb, content="<p>转自新华社 SIM-REPRINT</p>")
    stopped = _news_send(sim, token, repost, "r-1")  # send_ignore_reprint 0, the documented default
    assert stopped["errcode"] == 0
    sim.control("clock", {"advance": 2 * 60})
    assert sim.post("message/mass/get", token, {"msg_id": stopped["msg_id"]})["msg_status"] == "SEND_FAIL"
    state = sim.state()
    assert state["mass_sends"][0]["check_state"] == 3
    assert [d["media_id"] for d in state["drafts"]] == [repost]  # nothing was sent: the draft stays
    # Nothing went out, so the day's send is still available; with send_ignore_reprint 1 it goes on.
    going_on = _news_send(sim, token, repost, "r-2", send_ignore_reprint=1)
    assert going_on["errcode"] == 0
    sim.control("clock", {"advance": 2 * 60})
    assert sim.post("message/mass/get", token, {"msg_id": going_on["msg_id"]})["msg_status"] == "SEND_SUCCESS"
    assert sim.state()["mass_sends"][1]["check_state"] == 2


def test_ip_allow_list_gives_40164(sim: Any) -> None:
    token = sim.token()  # fetched before the allow-list was set
    assert _app(sim, ip_whitelist=["10.1.2.3"])["ip_whitelist"] == ["10.1.2.3"]
    refused = {"errcode": 40164, "errmsg": "invalid ip 127.0.0.1, not in whitelist"}
    r = sim.http.get(f"{sim.base}/cgi-bin/token", timeout=5,
                     params={"grant_type": "client_credential", "appid": APPID, "secret": SECRET})
    assert r.json() == refused
    r = sim.http.post(f"{sim.base}/cgi-bin/stable_token", timeout=5,
                      json={"grant_type": "client_credential", "appid": APPID, "secret": SECRET})
    assert r.json() == refused
    assert sim.post("draft/count", token) == refused
    assert sim.post("material/add_material", token, type="thumb") == refused

    _app(sim, ip_whitelist=["10.0.0.0/8", "127.0.0.1"])
    assert sim.post("draft/count", sim.token()) == {"total_count": 0}
    _app(sim, ip_whitelist=None)
    assert sim.post("draft/count", sim.token()) == {"total_count": 0}


def test_unverified_account_gets_48001_on_freepublish_and_mass_send(sim: Any) -> None:
    assert _app(sim, verified=False)["verified"] is False
    token = sim.token()
    media_id = sim.draft(token, sim.thumb(token))  # the draft box works
    unauthorized = {"errcode": 48001, "errmsg": "api unauthorized"}
    assert sim.post("freepublish/submit", token, {"media_id": media_id}) == unauthorized
    assert sim.post("freepublish/batchget", token, {"offset": 0, "count": 20}) == unauthorized
    assert _news_send(sim, token, media_id, "u-1") == unauthorized
    state = sim.state()
    assert state["published"] == [] and state["mass_sends"] == [] and len(state["drafts"]) == 1

    _app(sim, verified=True)
    assert sim.post("freepublish/submit", token, {"media_id": media_id})["errcode"] == 0


def test_material_cap(sim: Any, make_image: Any) -> None:
    _app(sim, material_cap=2)
    token = sim.token()
    first = sim.thumb(token)
    sim.upload("material/add_material", token, make_image("PNG"), "p.png", type="image")
    assert sim.upload("material/add_material", token, make_image(), type="thumb") == {
        "errcode": 45034, "errmsg": "media file count is out of limit"}
    # uploadimg images are not in the material library.
    assert sim.upload("media/uploadimg", token, make_image("PNG"), "p.png")["errcode"] == 0
    assert len(sim.state()["materials"]) == 2
    assert sim.post("material/del_material", token, {"media_id": first}) == {"errcode": 0, "errmsg": "ok"}
    assert "media_id" in sim.upload("material/add_material", token, make_image(), type="thumb")


def test_state_lists_materials_images_and_every_article(sim: Any, make_image: Any) -> None:
    token = sim.token()
    cover, photo = make_image("JPEG"), make_image("PNG", size=(40, 20))
    thumb = sim.upload("material/add_material", token, cover, type="thumb")["media_id"]
    url = sim.upload("media/uploadimg", token, photo, "p.png")["url"]
    state = sim.state()
    (material,) = state["materials"]
    assert {k: material[k] for k in ("appid", "media_id", "type", "sha256")} == {
        "appid": APPID, "media_id": thumb, "type": "thumb", "sha256": hashlib.sha256(cover).hexdigest()}
    (image,) = state["images"]
    assert {k: image[k] for k in ("appid", "url", "sha256")} == {
        "appid": APPID, "url": url, "sha256": hashlib.sha256(photo).hexdigest()}

    articles = [
        {"title": f"第{n}篇", "content": f'<p>正文{n}</p><img src="{url}"><img src="{EXTERNAL}/{n}.jpg">',
         "thumb_media_id": thumb}
        for n in (1, 2, 3)
    ]
    media_id = sim.post("draft/add", token, {"articles": articles})["media_id"]
    expected = [f'<p>正文{n}</p><img src="{url}">' for n in (1, 2, 3)]
    assert [a["content"] for a in sim.state()["drafts"][0]["articles"]] == expected
    done = sim.wait_published(token, sim.post("freepublish/submit", token, {"media_id": media_id})["publish_id"])
    assert done["publish_status"] == 0
    (pub,) = sim.state()["published"]
    assert [(a["idx"], a["title"], a["content"]) for a in pub["articles"]] == [
        (n, f"第{n}篇", expected[n - 1]) for n in (1, 2, 3)]

    assert sim.post("material/del_material", token, {"media_id": thumb})["errcode"] == 0
    assert sim.state()["materials"] == []


def test_app_settings_are_checked_and_listed(sim: Any) -> None:
    for bad in ({"type": "enterprise"}, {"verified": "yes"}, {"ip_whitelist": ["not-an-ip"]},
                {"ip_whitelist": "127.0.0.1"}, {"material_cap": -1}, {"colour": "red"}):
        r = sim.http.post(f"{sim.base}/_sim/apps", json={"appid": APPID, "secret": SECRET, **bad}, timeout=5)
        assert r.status_code == 400 and r.json()["error"], bad
    _app(sim, type="subscription", verified=False, ip_whitelist=["127.0.0.1"], material_cap=5)
    _app(sim, verified=True)  # settings not given stay as they were
    apps = sim.http.get(f"{sim.base}/_sim/apps", timeout=5).json()["apps"]
    assert apps == [{"appid": APPID, "type": "subscription", "verified": True,
                     "ip_whitelist": ["127.0.0.1"], "material_cap": 5, "callback_url": None,
                     "safe_mode": False}]


def test_clock_control_is_never_faulted(sim: Any) -> None:
    sim.control("faults", {"busy_rate": 1, "quota_exhausted": True})
    before = _sim_now(sim)
    assert sim.control("clock", {"advance": 90})["ok"] is True
    assert (_sim_now(sim) - before).total_seconds() >= 90
    assert _app(sim, type="subscription")["ok"] is True
    r = sim.http.post(f"{sim.base}/_sim/clock", json={"advance": -5}, timeout=5)
    assert r.status_code == 400
