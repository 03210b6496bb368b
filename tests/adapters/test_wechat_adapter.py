"""The WeChat adapter against the real simulator over loopback (no hub, no database)."""

from __future__ import annotations

import base64
import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from PIL import Image

from adapters.base import Adapter, CredentialField, Publication
from adapters.registry import UnknownPlatform, get_adapter, platforms, register
from adapters.simulators.wechat import make_server
from adapters.wechat import WeChatAdapter


def _img(fmt: str = "PNG", size: tuple[int, int] = (64, 48), noise: bool = False) -> bytes:
    import os

    img = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)) if noise else Image.new("RGB", size, "red")
    buf = io.BytesIO()
    img.save(buf, fmt)
    return buf.getvalue()


@pytest.fixture
def sim():
    server = make_server("127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    requests.post(base + "/_sim/apps", json={"appid": "wx_a", "secret": "s_a"}, timeout=5).raise_for_status()
    yield base, server.simulator
    server.shutdown()
    server.server_close()


@pytest.fixture
def image_host():
    """A plain web server with one external image, as an editor might link."""
    png = _img("PNG", (40, 40))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            if self.path == "/pic.png":
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(png)))
                self.end_headers()
                self.wfile.write(png)
            else:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _pub(dispatch_id: int = 1, **kw: Any) -> Publication:
    fields = dict(dispatch_id=dispatch_id, title="关于做好冬季防火工作的通知", content="<p>请做好防火工作。</p>",
                  summary="冬季防火", author="旗政府办", source_url="", cover=_img("PNG", (1200, 800), noise=True),
                  cover_mime="image/png")
    fields.update(kw)
    return Publication(**fields)


def _adapter(base: str, **kw: Any) -> WeChatAdapter:
    return WeChatAdapter(base, {"app_id": "wx_a", "app_secret": "s_a"}, None, **kw)


def test_publish_rehosts_body_images_and_shrinks_the_cover(sim, image_host):
    base, core = sim
    data_png = base64.b64encode(_img("PNG")).decode()
    content = (f'<p>图一</p><img src="data:image/png;base64,{data_png}" alt="一">'
               f'<p>图二</p><img alt="二" src="{image_host}/pic.png"><img src="{image_host}/pic.png">')
    stages = []
    adapter = _adapter(base, checkpoint=lambda stage, **refs: stages.append((stage, sorted(refs))))
    result = adapter.publish(_pub(content=content))
    assert result.status == "published" and result.url.startswith(base + "/s/")
    assert [s for s, _ in stages] == ["submitting", "submitted"]
    state = core.state()
    assert len(state["images"]) == 2  # the same external image is uploaded once
    (pub,) = state["published"]
    assert pub["content_source_url"] == ""  # no source URL: 阅读原文 links nowhere (never a marker)
    thumb = [m for m in state["materials"] if m["type"] == "thumb"]
    assert thumb and thumb[0]["format"] == "jpg" and thumb[0]["size"] <= 64 * 1024


def test_unreachable_body_image_fails_with_a_clear_reason(sim, image_host):
    base, core = sim
    from adapters.base import PlatformError

    with pytest.raises(PlatformError) as err:
        _adapter(base).publish(_pub(content=f'<img src="{image_host}/missing.png">'))
    assert "正文图片无法下载" in err.value.message and not err.value.ambiguous
    assert core.state()["drafts"] == []


def test_validate_speaks_chinese_and_limits_are_published():
    assert WeChatAdapter.validate("标" * 64, "<p>x</p>", "摘" * 120, "作" * 16) == []
    problems = WeChatAdapter.validate("标" * 65, "<p>x</p>", "摘" * 121, "作" * 17)
    assert any("标题不得超过 64 字" in p for p in problems)
    assert any("摘要不得超过 120 字" in p for p in problems)
    assert any("作者不得超过 16 字" in p for p in problems)
    assert WeChatAdapter.limits["title"] == 64 and WeChatAdapter.limits["summary"] == 120
    schema = WeChatAdapter.credential_schema()
    names = {f["name"]: f for f in schema["fields"]}
    assert names["app_secret"]["secret"] and not names["app_id"]["secret"]
    assert {"callback_token", "encoding_aes_key"} <= set(names)


def test_find_recognises_publications_and_drafts_by_their_articles(sim):
    base, core = sim
    adapter = _adapter(base)
    adapter.publish(_pub(1))
    found = adapter.find(_pub(1), since=0)
    assert found.published is not None and found.published.url.startswith(base)
    assert adapter.find(_pub(2, title="另一篇通知"), since=0).found_nothing
    # A draft added but never submitted (its answer lost) is found as a draft.
    client = adapter._client()
    thumb = adapter.upload_cover(client, _pub(3).cover)
    media_id = adapter.add_draft(client, [{"title": "草稿通知", "author": "旗政府办", "content": "<p>草稿</p>",
                                           "thumb_media_id": thumb}])
    lookup = adapter.find(_pub(3, title="草稿通知"), since=0)
    assert lookup.drafts == [media_id] and lookup.published is None
    # Resuming from that draft submits it without a second draft/add.
    result = adapter.publish(_pub(3, title="草稿通知", resume={"stage": "draft_added", "draft_ref": media_id}))
    assert result.status == "published"
    assert len(core.state()["drafts"]) == 0 and len(core.state()["published"]) == 2


def test_withdraw_deletes_the_article(sim):
    base, core = sim
    adapter = _adapter(base)
    result = adapter.publish(_pub(1))
    assert adapter.withdraw(result.platform_ref, result.article_id) is True
    assert core.state()["published"][0]["status"] == "deleted"
    # Again (an earlier answer was lost, or someone deleted it on WeChat): WeChat says 53600, it is gone.
    assert adapter.withdraw(result.platform_ref, result.article_id) is False
    from adapters.base import PlatformError

    with pytest.raises(PlatformError) as err:
        adapter.withdraw(result.platform_ref, None)
    assert err.value.code == "no_article"


def test_mass_send_is_idempotent_by_clientmsgid(sim):
    base, core = sim
    adapter = _adapter(base)
    first = adapter.publish(_pub(7, variant={"mass_send": "1"}))
    # A lost answer is settled by sending again with the same clientmsgid: 45065, same msg_id.
    again = adapter.publish(_pub(7, variant={"mass_send": "1"},
                                 resume={"stage": "mass_sending", "draft_ref": first.draft_ref}))
    assert first.platform_ref == again.platform_ref and first.platform_ref.startswith("mass:")
    sends = core.state()["mass_sends"]
    assert len(sends) == 1 and sends[0]["clientmsgid"] == "hub-dispatch-7"


def test_stale_token_is_refreshed_once_and_busy_is_retried(sim):
    base, core = sim

    class Cache(dict):
        def get(self, key):  # type: ignore[override]
            return super().get(key)

        def set(self, key, value, ttl):
            self[key] = value

        def delete_if(self, key, value):
            if self.get(key) == value:
                del self[key]

        def lock(self, key):
            return threading.Lock()

    cache = Cache()
    adapter = WeChatAdapter(base, {"app_id": "wx_a", "app_secret": "s_a"}, cache)
    assert adapter.verify_credentials()[0]
    requests.post(base + "/_sim/expire_tokens", timeout=5).raise_for_status()
    core.set_faults({"busy_rate": 0.3, "seed": 5})
    assert adapter.publish(_pub(1)).status in ("published", "submitted")
    core.set_faults({})
    assert len(core.state()["published"]) == 1


def test_bad_secret_is_reported_in_chinese(sim):
    base, _core = sim
    ok, message = WeChatAdapter(base, {"app_id": "wx_a", "app_secret": "wrong"}, None).verify_credentials()
    assert not ok and "AppSecret 无效" in message


def test_missing_or_disabled_adapter_gives_a_clean_error():
    with pytest.raises(UnknownPlatform) as err:
        get_adapter("myspace")
    assert "没有可用的适配器" in str(err.value)

    class Douyin(Adapter):
        platform = "douyin_test"
        label = "抖音（测试）"
        credential_fields = (CredentialField("client_key", "Client Key", secret=False),)

        @classmethod
        def enabled(cls) -> bool:
            return False

    register(Douyin)
    with pytest.raises(UnknownPlatform) as err:
        get_adapter("douyin_test")
    assert "已停用" in str(err.value)
    assert "douyin_test" not in platforms()
    assert {"wechat", "weibo", "website"} <= set(platforms())
