"""The Weibo and website adapters against their simulators over loopback."""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from typing import Any

import pytest
import requests
from PIL import Image

from adapters import weibo as weibo_adapter
from adapters.base import PlatformError, Publication
from adapters.simulators import SIMULATORS
from adapters.simulators import website as website_sim
from adapters.simulators import weibo as weibo_sim
from adapters.website import WebsiteAdapter, signature
from adapters.weibo import WeiboAdapter


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (80, 60), "blue").save(buf, "JPEG")
    return buf.getvalue()


def _serve(module: Any) -> tuple[Any, str]:
    server = module.make_server("127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def weibo():
    server, base = _serve(weibo_sim)
    r = requests.post(base + "/_sim/apps", json={"appid": "wb_key", "secret": "wb_secret",
                                                 "safe_domain": "cbeh.gov.cn"}, timeout=5)
    yield base, r.json()["access_token"], server.simulator
    server.shutdown()
    server.server_close()


@pytest.fixture
def website():
    server, base = _serve(website_sim)
    requests.post(base + "/_sim/apps", json={"appid": "cbeh-site", "secret": "push-key-1"}, timeout=5)
    yield base, server.simulator
    server.shutdown()
    server.server_close()


RIP = "211.156.0.1"
SAFE_URL = "https://www.cbeh.gov.cn/"


def _pub(dispatch_id: int = 1, **kw: Any) -> Publication:
    fields = dict(dispatch_id=dispatch_id, title="关于冬季供暖的通知", content="<p>请做好供暖保障。</p>",
                  summary="供暖保障", author="旗政府办", source_url="https://www.cbeh.gov.cn/art/1.html",
                  cover=_jpeg(), cover_mime="image/jpeg", marker_url=f"https://hub.invalid/p/1#hub-dispatch-{dispatch_id}",
                  link="https://www.cbeh.gov.cn/art/1.html", rip=RIP)
    fields.update(kw)
    return Publication(**fields)


def _weibo(base: str, token: str, **creds: str) -> WeiboAdapter:
    return WeiboAdapter(base, {"app_key": "wb_key", "app_secret": "wb_secret", "access_token": token,
                               "safe_url": SAFE_URL, **creds})


@pytest.fixture
def no_backoff(monkeypatch):
    monkeypatch.setattr(weibo_adapter, "BACKOFF", (0.0, 0.0, 0.0))


def test_simulators_are_registered():
    assert {"wechat", "weibo", "website"} <= set(SIMULATORS)


# -- Weibo: the rendering ------------------------------------------------------------------------
def test_rendering_puts_a_safe_domain_link_and_no_topics_in_the_status():
    pub = _pub(source_url="https://www.gov.cn/zhengce/2026-01/01/content_1.htm",
               variant={"text": "#政务公开# 冬季供暖保障工作安排 #呼伦贝尔#"})
    r = WeiboAdapter.render(pub, {"safe_url": SAFE_URL})
    assert r.fields == {"status": "政务公开 冬季供暖保障工作安排 呼伦贝尔 " + SAFE_URL}
    assert r.problems == [] and r.pictures == ["cover"]
    assert any("#话题#" in w and "政务公开、呼伦贝尔" in w for w in r.warnings)
    assert any("安全域名" in w and "www.gov.cn" not in w for w in r.warnings)
    # A source URL already under the safe domain is the link, with nothing to warn about.
    r = WeiboAdapter.render(_pub(), {"safe_url": SAFE_URL})
    assert r.fields["status"].endswith(" https://www.cbeh.gov.cn/art/1.html") and r.warnings == []
    # A subdomain of the safe domain's host counts; the parent domain does not.
    assert WeiboAdapter.render(_pub(source_url="https://zwgk.www.cbeh.gov.cn/a"), {"safe_url": SAFE_URL}
                               ).fields["status"].endswith("https://zwgk.www.cbeh.gov.cn/a")
    assert WeiboAdapter.render(_pub(source_url="https://cbeh.gov.cn/a"), {"safe_url": SAFE_URL}
                               ).fields["status"].endswith(SAFE_URL)


def test_rendering_names_what_weibo_would_refuse_before_anything_is_sent():
    # No safe-domain link known: today this passes review and fails at publish.
    r = WeiboAdapter.render(_pub(source_url="", link=""), {})
    assert any("safe_url" in p and "安全域名" in p for p in r.problems)
    r = WeiboAdapter.render(_pub(source_url="https://www.gov.cn/a"), {})
    assert any("safe_url" in p for p in r.problems)
    assert any("格式不正确" in p for p in WeiboAdapter.render(_pub(), {"safe_url": "www.cbeh.gov.cn"}).problems)
    # A long post is a 头条文章: its title limit, its cover and its body images are known before sending.
    long_html = "<p>" + "各苏木镇要切实做好冬季供暖保障工作，确保群众温暖过冬。" * 20 + "</p>"
    r = WeiboAdapter.render(_pub(content=long_html, title="标" * 33, cover=b""), {"safe_url": SAFE_URL})
    assert set(r.fields) == {"status", "title", "summary", "content"} and r.html_fields == ("content",)
    assert any("标题不得超过 32 字（现为 33 字）" in p for p in r.problems)
    assert any("封面" in p for p in r.problems)
    broken = "data:image/bmp;base64," + base64.b64encode(b"BM" + b"0" * 50).decode()
    r = WeiboAdapter.render(_pub(content=long_html + f'<p><img src="{broken}"></p>'), {"safe_url": SAFE_URL})
    assert any("无法识别的图片" in p for p in r.problems)
    assert any("封面图无法识别" in p for p in WeiboAdapter.render(_pub(cover=b"not a picture"),
                                                                {"safe_url": SAFE_URL}).problems)


def test_a_cover_weibo_does_not_take_is_sent_as_jpeg(weibo):
    base, token, core = weibo
    bmp = io.BytesIO()
    Image.new("RGB", (30, 20), "yellow").save(bmp, "BMP")
    pub = _pub(cover=bmp.getvalue(), cover_mime="image/bmp")
    r = WeiboAdapter.render(pub, {"safe_url": SAFE_URL})
    assert r.problems == [] and any("转为 JPEG" in w for w in r.warnings)
    _weibo(base, token).publish(pub)  # the simulator refuses a BMP picture (20005)
    assert core.state()["published"][0]["pic"] is True


def test_publish_refuses_what_the_rendering_refuses_and_a_missing_rip(weibo):
    base, token, core = weibo
    with pytest.raises(PlatformError) as err:
        _weibo(base, token, safe_url="").publish(_pub())
    assert err.value.code == "invalid_content" and "safe_url" in err.value.message
    with pytest.raises(PlatformError) as err:
        _weibo(base, token).publish(_pub(rip=""))
    assert err.value.code == "no_rip" and "HUB_WEIBO_RIP" in err.value.message and not err.value.retryable
    assert core.state()["published"] == []


# -- Weibo: against the simulator ------------------------------------------------------------------
def test_weibo_short_post_is_a_status_with_the_link_and_rip(weibo):
    base, token, core = weibo
    adapter = _weibo(base, token)
    result = adapter.publish(_pub())
    (st,) = core.state()["published"]
    assert st["kind"] == "status" and st["text"] == adapter.render(_pub(), adapter.settings()).fields["status"]
    assert "https://www.cbeh.gov.cn/art/1.html" in st["text"] and st["rip"] == RIP and st["pic"] is True
    assert result.platform_ref == st["publish_id"] and result.url.startswith(base)
    found = adapter.find(_pub(), since=time.time() - 60)
    assert found.published is not None and found.published.platform_ref == result.platform_ref
    assert adapter.find(_pub(2, title="另一篇通知"), since=time.time() - 60).found_nothing
    assert adapter.withdraw(result.platform_ref, None) is True
    assert core.state()["published"][0]["status"] == "deleted"
    assert adapter.withdraw(result.platform_ref, None) is False  # 20101: the weibo is gone


def test_a_gov_cn_source_and_topics_publish_with_the_safe_domain_link(weibo):
    """Today: the gov.cn link replaces the safe-domain one (10017) and #话题# is sent as is."""
    base, token, core = weibo
    adapter = _weibo(base, token)
    pub = _pub(source_url="https://www.gov.cn/zhengce/content/2026-01/01/content_1.htm",
               link="https://www.gov.cn/zhengce/content/2026-01/01/content_1.htm",
               variant={"text": "#政务公开# 国务院关于冬季供暖保障的通知"})
    adapter.publish(pub)
    (st,) = core.state()["published"]
    assert st["text"] == "政务公开 国务院关于冬季供暖保障的通知 " + SAFE_URL
    assert "#" not in st["text"] and "www.gov.cn" not in st["text"] and st["rip"] == RIP
    found = adapter.find(pub, since=time.time() - 60)
    assert found.published is not None and found.published.platform_ref == st["publish_id"]


def test_weibo_long_post_goes_out_as_an_article_with_a_cover_url_and_rip(weibo):
    base, token, core = weibo
    adapter = _weibo(base, token)
    png = io.BytesIO()
    Image.new("RGB", (20, 10), "red").save(png, "PNG")
    inline = "data:image/png;base64," + base64.b64encode(png.getvalue()).decode()
    long_html = ("<p>" + "各苏木镇要切实做好冬季供暖保障工作，确保群众温暖过冬。" * 20 + "</p>"
                 + f'<p><img src="{inline}"></p>')
    pub = _pub(content=long_html, summary="导" * 50)
    rendering = adapter.render(pub, adapter.settings())
    assert rendering.fields["summary"] == "导" * 44 and any("导语" in w for w in rendering.warnings)
    assert len(rendering.pictures) == 2 and rendering.pictures[1].startswith("image:")
    result = adapter.publish(pub)
    (st,) = core.state()["published"]
    assert st["kind"] == "article" and st["title"] == "关于冬季供暖的通知" and st["rip"] == RIP
    assert st["text"] == rendering.fields["status"] and st["summary"] == "导" * 44
    assert weibo_sim.weibo_length(st["text"]) <= 140 and st["text"].endswith("https://www.cbeh.gov.cn/art/1.html")
    assert st["cover"].startswith(base + "/large/")  # an image URL, uploaded first
    cover = requests.get(st["cover"], timeout=5)
    assert cover.status_code == 200 and cover.content == _pub().cover
    assert "data:" not in st["content"] and base + "/large/" in st["content"]
    assert result.status == "published" and result.url


def test_article_errors_are_read_from_code_and_msg(weibo, no_backoff):
    base, token, core = weibo
    adapter = _weibo(base, token)
    long_html = "<p>" + "各苏木镇要切实做好冬季供暖保障工作，确保群众温暖过冬。" * 20 + "</p>"
    article = {"title": "标题", "content": long_html, "text": "x " + SAFE_URL, "rip": RIP,
               "cover": base + "/large/x.jpg"}
    requests.post(base + "/_sim/faults", json={"quota_exhausted": True}, timeout=5).raise_for_status()
    with pytest.raises(PlatformError) as err:  # 11001 发布过于频繁: retried
        adapter._call("POST", "/proxy/article/publish.json", mutating=True, data=article)
    assert err.value.code == 11001 and err.value.retryable and "频繁" in err.value.message
    requests.post(base + "/_sim/faults", json={"busy_rate": 1.0}, timeout=5).raise_for_status()
    with pytest.raises(PlatformError) as err:  # 10001 system error: retried
        adapter._call("POST", "/proxy/article/publish.json", mutating=True, data=article)
    assert err.value.code == 10001 and err.value.retryable
    requests.post(base + "/_sim/faults", json={}, timeout=5).raise_for_status()
    with pytest.raises(PlatformError) as err:  # 10008 names the parameter, in Chinese; permanent
        adapter._call("POST", "/proxy/article/publish.json", mutating=True, data=dict(article, cover="not a url"))
    assert err.value.code == 10008 and "封面图" in err.value.message and not err.value.retryable
    assert core.state()["published"] == []


def test_weibo_hourly_limit_waits_for_the_next_hour(weibo):
    base, token, core = weibo
    requests.post(base + "/_sim/faults", json={"quota_exhausted": True}, timeout=5).raise_for_status()
    with pytest.raises(PlatformError) as err:
        _weibo(base, token).publish(_pub())
    assert err.value.code == 10023 and err.value.quota and not err.value.retryable
    assert 60 <= err.value.retry_after <= 3660 and "整点" in err.value.message
    assert weibo_adapter.seconds_to_next_hour(7200.0 + 600) == 3000 + 60


def test_weibo_errors_are_clear(weibo):
    base, token, core = weibo
    adapter = _weibo(base, token)
    ok, message = adapter.verify_credentials()
    assert ok and "过期" in message and "重新授权" in message
    ok, message = _weibo(base, token, safe_url="").verify_credentials()
    assert ok and "safe_url" in message
    requests.post(base + "/_sim/expire_tokens", timeout=5).raise_for_status()
    with pytest.raises(PlatformError) as err:
        adapter.publish(_pub())
    assert err.value.code == 21327 and "重新授权" in err.value.message and not err.value.retryable
    ok, message = adapter.verify_credentials()
    assert not ok and "重新授权" in message and "access_token" in message
    assert WeiboAdapter.validate("标题", "<p>x</p>", "", "", {"text": "字" * 200})


def test_verify_warns_when_the_token_is_about_to_expire(weibo):
    base, _token, core = weibo
    r = requests.post(base + "/_sim/apps", json={"appid": "wb_short", "secret": "s", "expires_in": 3 * 86400},
                      timeout=5)
    ok, message = WeiboAdapter(base, {"access_token": r.json()["access_token"], "safe_url": SAFE_URL}
                               ).verify_credentials()
    assert ok and "天内" in message and "5 年" in message


class OddWeibo(weibo_sim.WeiboSimulator):
    """Answers a publishing call with JSON Weibo never documents: a list, or a status without an id."""

    answer: Any = None

    def handle(self, request: Any) -> Any:
        response = super().handle(request)
        if request.path in ("/2/statuses/share.json", "/proxy/article/publish.json") and response.status == 200:
            response.body = json.dumps(self.answer).encode()
        return response


@pytest.mark.parametrize("answer", [[], {"text": "x"}, {"code": 100000, "msg": "", "data": None}])
def test_an_unreadable_answer_to_a_publish_is_unconfirmed_not_a_crash(answer):
    sim = OddWeibo()
    sim.answer = answer
    server = weibo_sim.make_server("127.0.0.1", 0, sim)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        token = requests.post(base + "/_sim/apps", json={"appid": "k", "secret": "s", "safe_domain": "cbeh.gov.cn"},
                              timeout=5).json()["access_token"]
        long_html = "<p>" + "各苏木镇要切实做好冬季供暖保障工作，确保群众温暖过冬。" * 20 + "</p>"
        pub = _pub(content=long_html) if isinstance(answer, dict) and "code" in answer else _pub()
        with pytest.raises(PlatformError) as err:
            _weibo(base, token).publish(pub)
        assert err.value.ambiguous and "待核实" in err.value.message
    finally:
        server.shutdown()
        server.server_close()


def test_weibo_busy_is_retried_and_faults_spare_the_control_surface(weibo):
    base, token, core = weibo
    requests.post(base + "/_sim/faults", json={"busy_rate": 0.4, "seed": 3}, timeout=5).raise_for_status()
    assert requests.get(base + "/_sim/state", timeout=5).status_code == 200
    adapter = _weibo(base, token)
    adapter.publish(_pub())
    assert len(core.state()["published"]) == 1


# -- website -----------------------------------------------------------------------------------
def test_website_push_is_signed_and_idempotent(website):
    base, core = website
    adapter = WebsiteAdapter(base, {"site_id": "cbeh-site", "api_token": "push-key-1"})
    assert adapter.verify_credentials()[0]
    first = adapter.publish(_pub(5))
    again = adapter.publish(_pub(5))  # the same key is the same article
    (art,) = core.state()["published"]
    assert art["puts"] == 2 and first.url == again.url == art["url"]
    assert requests.get(art["url"], timeout=5).status_code == 200
    found = adapter.find(_pub(5), since=0)
    assert found.published is not None and found.published.url == art["url"]
    assert adapter.find(_pub(6), since=0).found_nothing
    assert adapter.withdraw(first.platform_ref, first.article_id) is True
    assert core.state()["published"][0]["status"] == "deleted"
    assert adapter.withdraw(first.platform_ref, first.article_id) is False  # the second DELETE: 404, gone
    assert adapter.withdraw("hub-dispatch-999999", None) is False  # 404: the site has no such article
    assert adapter.find(_pub(5), since=0).failed


def test_website_rejects_a_wrong_key_or_a_forged_signature(website):
    base, core = website
    ok, message = WebsiteAdapter(base, {"site_id": "cbeh-site", "api_token": "wrong"}).verify_credentials()
    assert not ok and "签名" in message
    ts = str(int(time.time()))
    body = b'{"key":"hub-dispatch-9","title":"x"}'
    path = "/hub-push/v1/articles/hub-dispatch-9"
    good = signature("push-key-1", ts, "PUT", path, body)
    r = requests.put(base + path, data=body + b" ", timeout=5,
                     headers={"X-Hub-Site": "cbeh-site", "X-Hub-Timestamp": ts, "X-Hub-Signature": good})
    assert r.status_code == 401
    old = str(int(time.time()) - 3600)
    r = requests.put(base + path, data=body, timeout=5, headers={
        "X-Hub-Site": "cbeh-site", "X-Hub-Timestamp": old,
        "X-Hub-Signature": signature("push-key-1", old, "PUT", path, body)})
    assert r.status_code == 401
    assert core.state()["published"] == []
