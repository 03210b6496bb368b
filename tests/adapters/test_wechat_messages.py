"""Followers' messages and customer-service answers: the WeChat simulator pushes what WeChat pushes, a
server decrypts it with wechatpy as the hub does, and ``send_custom_text`` meets the 48-hour window."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature

from adapters.base import PlatformError
from adapters.simulators.wechat import make_server
from adapters.wechat_messages import OutsideWindow, send_custom_text

APPID, SECRET = "wx_msg_app", "s_msg_app"
TOKEN = "hubToken123"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
OPENID = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"


class FakeHub:
    """A stand-in for the hub's callback: checks and decrypts with wechatpy, answers what it is told."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.answer: str = "reply"  # "reply" | "success" | "fail" (HTTP 500) | "bad_signature"
        self.fail_first = 0
        self.aes = True
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                q = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, out = hub.handle(q, body)
                self.send_response(status)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/wechat/callback/7"
        self.lock = threading.Lock()

    def handle(self, q: dict[str, str], body: bytes) -> tuple[int, bytes]:
        check_signature(TOKEN, q["signature"], q["timestamp"], q["nonce"])  # raises when wrong
        crypto = WeChatCrypto(TOKEN, AES_KEY, APPID)
        if self.aes:
            assert q.get("encrypt_type") == "aes"
            xml = crypto.decrypt_message(body, q["msg_signature"], q["timestamp"], q["nonce"])
        else:
            assert "encrypt_type" not in q
            xml = body.decode()
        msg = parse_message(xml)
        with self.lock:
            self.received.append({"query": q, "raw": body, "msg": msg})
            if self.fail_first > 0:
                self.fail_first -= 1
                return 500, b"busy"
        if self.answer == "success":
            return 200, b"success"
        # wechatpy's TextReply does not split "]]>" out of its CDATA: an answer must not contain it
        reply = TextReply(message=msg, content=f"已收到：{msg.content.replace(']]>', '')}").render()
        if not self.aes:
            return 200, reply.encode()
        out = crypto.encrypt_message(reply, q["nonce"], q["timestamp"])
        if self.answer == "bad_signature":
            out = out.replace("<MsgSignature><![CDATA[", "<MsgSignature><![CDATA[0")
        return 200, out.encode()


@pytest.fixture
def sim() -> Iterator[tuple[str, FakeHub]]:
    server = make_server("127.0.0.1", 0)
    hub = FakeHub()
    for s in (server, hub.server):
        threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    r = requests.post(base + "/_sim/apps", json={"appid": APPID, "secret": SECRET, "callback_url": hub.url,
                                                 "token": TOKEN, "encoding_aes_key": AES_KEY}, timeout=5)
    assert r.status_code == 200, r.text
    yield base, hub
    for s in (server, hub.server):
        s.shutdown()
        s.server_close()


def _say(base: str, content: str, **extra: Any) -> dict[str, Any]:
    r = requests.post(base + "/_sim/user_message", json={"appid": APPID, "openid": OPENID, "content": content,
                                                         **extra}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def _state(base: str) -> dict[str, Any]:
    return requests.get(base + "/_sim/state", timeout=5).json()


CREDS = {"app_id": APPID, "app_secret": SECRET}


def test_safe_mode_message_is_signed_encrypted_and_the_encrypted_reply_comes_back(sim):
    base, hub = sim
    answer = _say(base, "请问社保卡在哪里办理？]]>")
    assert answer["status"] == "replied" and answer["reply"] == "已收到：请问社保卡在哪里办理？"
    assert answer["deliveries"] == 1 and len(hub.received) == 1
    got = hub.received[0]
    assert b"<Encrypt>" in got["raw"] and "社保".encode() not in got["raw"]  # the body is encrypted
    msg = got["msg"]
    assert msg.type == "text" and msg.source == OPENID and msg.target.startswith("gh_")
    assert int(msg.id) == answer["msg_id"] and got["query"]["openid"] == OPENID
    assert msg.content == "请问社保卡在哪里办理？]]>"  # CDATA split as XML requires
    listed = _state(base)["user_messages"]
    assert [(m["content"], m["status"], m["reply"]) for m in listed] == [
        ("请问社保卡在哪里办理？]]>", "replied", answer["reply"])]


def test_a_reply_with_a_wrong_signature_is_not_shown_to_the_follower(sim):
    base, hub = sim
    hub.answer = "bad_signature"
    answer = _say(base, "你好")
    assert answer["status"] == "invalid_reply" and answer["reply"] is None


def test_plain_mode_and_success_means_no_reply(sim):
    base, hub = sim
    requests.post(base + "/_sim/apps", json={"appid": APPID, "secret": SECRET, "encoding_aes_key": None},
                  timeout=5).raise_for_status()
    hub.aes, hub.answer = False, "success"
    answer = _say(base, "路灯坏了")
    assert answer["status"] == "delivered" and answer["reply"] is None
    assert b"<Content><![CDATA[\xe8\xb7\xaf" in hub.received[0]["raw"]  # plain XML
    hub.answer = "reply"
    assert _say(base, "谢谢")["reply"] == "已收到：谢谢"


def test_a_failing_server_gets_the_same_message_three_times_in_all(sim):
    base, hub = sim
    hub.fail_first = 5
    answer = _say(base, "第一次")
    assert answer["status"] == "failed" and answer["deliveries"] == 3
    assert len({m["msg"].id for m in hub.received}) == 1 and len(hub.received) == 3
    hub.received.clear()
    hub.fail_first = 2
    answer = _say(base, "第二次")
    assert answer["status"] == "replied" and answer["deliveries"] == 3
    assert [a["outcome"] for a in answer["attempts"]] == ["error", "error", "replied"]


@pytest.mark.parametrize("concurrent", [False, True])
def test_forced_redelivery_sends_one_msgid_n_times(sim, concurrent):
    base, hub = sim
    answer = _say(base, "重复投递", deliveries=3, concurrent=concurrent)
    assert answer["deliveries"] == 3 and answer["status"] == "replied"
    ids = [m["msg"].id for m in hub.received]
    assert len(ids) == 3 and len(set(ids)) == 1 and int(ids[0]) == answer["msg_id"]
    assert len({m["query"]["nonce"] for m in hub.received}) == 3  # each delivery signed afresh


def test_customer_service_message_within_48_hours_then_45015(sim):
    base, _hub = sim
    _say(base, "我想咨询")
    send_custom_text(CREDS, OPENID, "您好，已转相关部门办理。", api_base=base)
    assert _state(base)["custom_messages"] == [{"appid": APPID, "touser": OPENID, "msgtype": "text",
                                               "content": "您好，已转相关部门办理。", "payload":
                                                   {"content": "您好，已转相关部门办理。"},
                                               "sent_at": _state(base)["custom_messages"][0]["sent_at"]}]
    requests.post(base + "/_sim/clock", json={"advance": 48 * 3600 + 1}, timeout=5).raise_for_status()
    with pytest.raises(OutsideWindow) as caught:
        send_custom_text({**CREDS, "api_base": base}, OPENID, "第二条")
    assert caught.value.code == 45015 and "48 小时" in caught.value.message
    assert len(_state(base)["custom_messages"]) == 1
    _say(base, "还在吗")  # a new message opens the window again
    send_custom_text(CREDS, OPENID, "在的", api_base=base)
    assert [m["content"] for m in _state(base)["custom_messages"]] == ["您好，已转相关部门办理。", "在的"]


def test_window_set_through_followers_unknown_openid_and_busy(sim):
    base, _hub = sim
    r = requests.post(base + "/_sim/followers", json={"appid": APPID, "openid": "o_old", "interacted_ago": 49 * 3600},
                      timeout=5)
    assert r.status_code == 200, r.text
    with pytest.raises(OutsideWindow):
        send_custom_text(CREDS, "o_old", "答复", api_base=base)
    with pytest.raises(PlatformError) as unknown:
        send_custom_text(CREDS, "o_never_seen", "答复", api_base=base)
    assert unknown.value.code == 40003 and not isinstance(unknown.value, OutsideWindow)
    assert "OpenID" in unknown.value.message and not unknown.value.retryable
    requests.post(base + "/_sim/followers", json={"appid": APPID, "openid": "o_new"}, timeout=5).raise_for_status()
    requests.post(base + "/_sim/faults", json={"quota_exhausted": True}, timeout=5).raise_for_status()
    with pytest.raises(PlatformError) as busy:
        send_custom_text(CREDS, "o_new", "答复", api_base=base)
    assert busy.value.code == 45009 and busy.value.retryable
    requests.post(base + "/_sim/faults", json={}, timeout=5).raise_for_status()
    send_custom_text(CREDS, "o_new", "答复", api_base=base)
    assert [m["touser"] for m in _state(base)["custom_messages"]] == ["o_new"]


def test_control_surface_refuses_bad_settings(sim):
    base, _hub = sim
    for bad in ({"token": "a-b"}, {"encoding_aes_key": "short"}, {"callback_url": "ftp://x"}):
        r = requests.post(base + "/_sim/apps", json={"appid": APPID, "secret": SECRET, **bad}, timeout=5)
        assert r.status_code == 400, bad
    r = requests.post(base + "/_sim/user_message", json={"appid": "wx_other", "openid": "o", "content": "x"},
                      timeout=5)
    assert r.status_code == 404
    r = requests.post(base + "/_sim/user_message", json={"appid": APPID, "openid": "o", "content": "x",
                                                        "deliveries": 0}, timeout=5)
    assert r.status_code == 400
