"""The Weibo simulator against Weibo's own documentation, driven by a plain HTTP client (not the adapter).

Sources: open.weibo.com/wiki/2/statuses/share (status ≤ 140, a link on the app's 安全域名, no
#话题#, ``rip`` required), 2/statuses/upload_pic (returns the picture's URLs) and Toutiao/api
(头条文章: ``cover`` is an image URL, ``rip`` required, errors ``{code, msg}``); see
/work/shared/PLATFORMS.md §2.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from PIL import Image

from adapters.simulators.weibo import WeiboSimulator, make_server

RIP = "211.156.0.1"
LINK = "https://www.cbeh.gov.cn/art/1.html"


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), "green").save(buf, "JPEG")
    return buf.getvalue()


class Weibo:
    def __init__(self) -> None:
        self.server = make_server("127.0.0.1", 0, WeiboSimulator())
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        r = requests.post(self.base + "/_sim/apps", json={"appid": "wb_key", "secret": "wb_secret",
                                                          "safe_domain": "cbeh.gov.cn"}, timeout=5)
        self.token = r.json()["access_token"]

    def share(self, **form: Any) -> requests.Response:
        files = form.pop("files", None)
        return requests.post(self.base + "/2/statuses/share.json", data={"access_token": self.token, **form},
                             files=files, timeout=5)

    def article(self, **form: Any) -> requests.Response:
        files = form.pop("files", None)
        return requests.post(self.base + "/proxy/article/publish.json",
                             data={"access_token": self.token, **form}, files=files, timeout=5)

    def state(self) -> dict[str, Any]:
        return requests.get(self.base + "/_sim/state", timeout=5).json()


@pytest.fixture
def wb() -> Iterator[Weibo]:
    handle = Weibo()
    yield handle
    handle.server.shutdown()
    handle.server.server_close()


def test_share_requires_rip_and_a_safe_domain_link_and_refuses_topics(wb: Weibo) -> None:
    r = wb.share(status=f"冬季供暖保障 {LINK}")
    assert r.status_code == 400 and r.json()["error_code"] == 10016 and "rip" in r.json()["error"]
    r = wb.share(status=f"冬季供暖保障 {LINK}", rip="not-an-ip")
    assert r.status_code == 400 and r.json()["error_code"] == 10017 and "rip" in r.json()["error"]
    r = wb.share(status="冬季供暖保障 https://www.gov.cn/zhengce/1.htm", rip=RIP)  # outside the safe domain
    assert r.status_code == 400 and r.json()["error_code"] == 10017
    r = wb.share(status=f"#政务公开# 冬季供暖保障 {LINK}", rip=RIP)  # "文本中不能包含#话题词#"
    assert r.status_code == 400 and r.json()["error_code"] == 10017
    assert wb.state()["published"] == []
    r = wb.share(status=f"冬季供暖保障 {LINK}", rip=RIP, files={"pic": ("a.jpg", _jpeg(), "image/jpeg")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) >= {"id", "idstr", "mid", "text", "created_at", "user"}
    (st,) = wb.state()["published"]
    assert (st["text"], st["kind"], st["rip"], st["pic"]) == (f"冬季供暖保障 {LINK}", "status", RIP, True)
    r = wb.share(status=f"冬季供暖保障 {LINK}", rip=RIP)
    assert r.json()["error_code"] == 20019  # repeated text


def test_upload_pic_returns_urls_that_serve_the_picture(wb: Weibo) -> None:
    r = requests.post(wb.base + "/2/statuses/upload_pic.json", data={"access_token": wb.token},
                      files={"pic": ("a.jpg", _jpeg(), "image/jpeg")}, timeout=5)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"pic_id", "thumbnail_pic", "bmiddle_pic", "original_pic"}
    got = requests.get(body["original_pic"], timeout=5)
    assert got.status_code == 200 and got.headers["Content-Type"] == "image/jpeg" and got.content == _jpeg()
    r = requests.post(wb.base + "/2/statuses/upload_pic.json", data={"access_token": wb.token},
                      files={"pic": ("a.bmp", b"BM" + b"0" * 64, "image/bmp")}, timeout=5)
    assert r.json()["error_code"] == 20005


def test_article_wants_a_cover_url_and_rip_and_answers_code_msg(wb: Weibo) -> None:
    fields = {"title": "关于冬季供暖的通知", "content": "<p>正文</p>", "text": f"冬季供暖 {LINK}", "rip": RIP,
              "cover": "https://ww3.sinaimg.cn/large/946308c5jw1dv288whtylj.jpg", "summary": "导语"}
    # The cover as a file (what the adapter used to send) is refused in the 头条 shape, HTTP 200.
    r = wb.article(**{k: v for k, v in fields.items() if k != "cover"},
                   files={"cover": ("cover.jpg", _jpeg(), "image/jpeg")})
    assert r.status_code == 200 and r.json() == {"code": 10008, "msg": "param cover invalid", "data": {}}
    r = wb.article(**{k: v for k, v in fields.items() if k != "rip"})
    assert r.json()["code"] == 10008 and r.json()["msg"] == "param rip invalid"
    r = wb.article(**dict(fields, title="标" * 33))
    assert r.json()["code"] == 10008 and "title" in r.json()["msg"]
    r = wb.article(**dict(fields, cover="cover.jpg"))
    assert r.json()["code"] == 10008
    assert wb.state()["published"] == []
    r = wb.article(**dict(fields, text=f"#政务公开# 冬季供暖 {LINK}"))  # the share rule is not documented here
    body = r.json()
    assert body["code"] == 100000 and set(body["data"]) == {"object_id", "url", "mid"}
    (st,) = wb.state()["published"]
    assert (st["kind"], st["rip"], st["cover"], st["title"]) == ("article", RIP, fields["cover"], fields["title"])
    # Busy and rate limits on the 头条 endpoint answer {code, msg} as well: 10001 and 11001.
    requests.post(wb.base + "/_sim/faults", json={"busy_rate": 1.0}, timeout=5).raise_for_status()
    assert wb.article(**fields).json()["code"] == 10001
    requests.post(wb.base + "/_sim/faults", json={"quota_exhausted": True}, timeout=5).raise_for_status()
    assert wb.article(**fields).json()["code"] == 11001
    assert wb.share(status=f"另一条 {LINK}", rip=RIP).json()["error_code"] == 10023


def test_the_control_surface_is_never_faulted(wb: Weibo) -> None:
    requests.post(wb.base + "/_sim/faults", json={"busy_rate": 1.0, "drop_after_commit_rate": 1.0,
                                                   "quota_exhausted": True}, timeout=5).raise_for_status()
    assert requests.get(wb.base + "/_sim/state", timeout=5).status_code == 200
    assert requests.get(wb.base + "/_sim/faults", timeout=5).json()["busy_rate"] == 1.0
    r = requests.post(wb.base + "/_sim/apps", json={"appid": "wb_other", "secret": "s"}, timeout=5)
    assert r.status_code == 200 and r.json()["ok"] is True
    assert wb.share(status=f"冬季供暖保障 {LINK}", rip=RIP).json()["error_code"] == 10009  # the API is faulted
    assert requests.post(wb.base + "/_sim/faults", json={}, timeout=5).status_code == 200
