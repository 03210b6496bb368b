"""The Weibo and website adapters against their simulators over loopback."""

from __future__ import annotations

import io
import threading
import time
from typing import Any

import pytest
import requests
from PIL import Image

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


def _pub(dispatch_id: int = 1, **kw: Any) -> Publication:
    fields = dict(dispatch_id=dispatch_id, title="关于冬季供暖的通知", content="<p>请做好供暖保障。</p>",
                  summary="供暖保障", author="旗政府办", source_url="https://www.cbeh.gov.cn/art/1.html",
                  cover=_jpeg(), cover_mime="image/jpeg", marker_url=f"https://hub.invalid/p/1#hub-dispatch-{dispatch_id}",
                  link="https://www.cbeh.gov.cn/art/1.html")
    fields.update(kw)
    return Publication(**fields)


def test_simulators_are_registered():
    assert {"wechat", "weibo", "website"} <= set(SIMULATORS)


# -- Weibo -------------------------------------------------------------------------------------
def test_weibo_short_post_is_a_status_with_the_link(weibo):
    base, token, core = weibo
    adapter = WeiboAdapter(base, {"app_key": "wb_key", "app_secret": "wb_secret", "access_token": token})
    result = adapter.publish(_pub())
    (st,) = core.state()["published"]
    assert st["kind"] == "status" and "https://www.cbeh.gov.cn/art/1.html" in st["text"]
    assert result.platform_ref == st["publish_id"] and result.url.startswith(base)
    found = adapter.find(_pub(), since=time.time() - 60)
    assert found.published is not None and found.published.platform_ref == result.platform_ref
    assert adapter.find(_pub(2, title="另一篇通知"), since=time.time() - 60).found_nothing
    assert adapter.withdraw(result.platform_ref, None) is True
    assert core.state()["published"][0]["status"] == "deleted"
    assert adapter.withdraw(result.platform_ref, None) is False  # 20101: the weibo is gone


def test_weibo_long_post_goes_out_as_an_article(weibo):
    base, token, core = weibo
    adapter = WeiboAdapter(base, {"app_key": "wb_key", "app_secret": "wb_secret", "access_token": token})
    long_html = "<p>" + "各苏木镇要切实做好冬季供暖保障工作，确保群众温暖过冬。" * 20 + "</p>"
    result = adapter.publish(_pub(content=long_html))
    (st,) = core.state()["published"]
    assert st["kind"] == "article" and st["title"] == "关于冬季供暖的通知"
    assert weibo_sim.weibo_length(st["text"]) <= 140 and st["text"].endswith("https://www.cbeh.gov.cn/art/1.html")
    assert result.status == "published" and result.url


def test_weibo_errors_are_clear(weibo):
    base, token, core = weibo
    adapter = WeiboAdapter(base, {"app_key": "wb_key", "app_secret": "wb_secret", "access_token": token})
    with pytest.raises(PlatformError) as err:
        adapter.publish(_pub(link="", source_url=""))
    assert "必须包含链接" in err.value.message
    with pytest.raises(PlatformError) as err:  # a link outside the app's safe domain
        adapter.publish(_pub(link="https://elsewhere.example.com/x"))
    assert err.value.code == 10017 and "安全域名" in err.value.message
    ok, message = adapter.verify_credentials()
    assert ok and "天过期" in message
    requests.post(base + "/_sim/expire_tokens", timeout=5).raise_for_status()
    with pytest.raises(PlatformError) as err:
        adapter.publish(_pub())
    assert err.value.code == 21327 and "重新授权" in err.value.message and not err.value.retryable
    assert not adapter.verify_credentials()[0]
    assert WeiboAdapter.validate("标题", "<p>x</p>", "", "", {"text": "字" * 200})


def test_weibo_busy_is_retried_and_faults_spare_the_control_surface(weibo):
    base, token, core = weibo
    requests.post(base + "/_sim/faults", json={"busy_rate": 0.4, "seed": 3}, timeout=5).raise_for_status()
    assert requests.get(base + "/_sim/state", timeout=5).status_code == 200
    adapter = WeiboAdapter(base, {"app_key": "wb_key", "app_secret": "wb_secret", "access_token": token})
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
