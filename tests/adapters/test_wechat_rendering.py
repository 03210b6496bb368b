"""What the WeChat adapter renders is what WeChat keeps and what it sends (issue 13 items 1–3):
the body without what WeChat strips (each removal a Chinese warning), the problems WeChat would
refuse known before sending (limits measured on the content as sent, images that cannot be sent),
every article in ONE draft, ``content_source_url`` the source URL or empty — against the real
simulator over loopback (no hub, no database)."""

from __future__ import annotations

import base64
import io
import json
import os
import threading
import time
from typing import Any

import pytest
import requests
from PIL import Image

from adapters.base import PlatformError, Publication
from adapters.simulators.base import SimRequest, SimResponse, json_response
from adapters.simulators.wechat import WeChatSimulator, make_server
from adapters.wechat import WeChatAdapter


def _jpeg(size: tuple[int, int] = (600, 400), noise: bool = False, quality: int = 90) -> bytes:
    img = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)) if noise else Image.new("RGB", size, "navy")
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _data_url(data: bytes, mime: str = "image/jpeg") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def _pub(**kw: Any) -> Publication:
    fields: dict[str, Any] = dict(dispatch_id=1, title="关于做好冬季防火工作的通知", content="<p>请做好防火工作。</p>",
                                  summary="冬季防火", author="旗政府办", source_url="", cover=_jpeg(), cover_mime="image/jpeg")
    fields.update(kw)
    return Publication(**fields)


class _Sim:
    def __init__(self, core: WeChatSimulator) -> None:
        self.core = core
        self.server = make_server("127.0.0.1", 0, simulator=core)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        requests.post(self.base + "/_sim/apps", json={"appid": "wx_r", "secret": "s_r"}, timeout=5).raise_for_status()

    def adapter(self, **kw: Any) -> WeChatAdapter:
        return WeChatAdapter(self.base, {"app_id": "wx_r", "app_secret": "s_r"}, None, **kw)

    def state(self) -> dict[str, Any]:
        return requests.get(self.base + "/_sim/state", timeout=5).json()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sim():
    s = _Sim(WeChatSimulator(publish_delay=0.0))
    yield s
    s.close()


def test_what_wechat_strips_is_removed_and_reported():
    content = ('<p onclick="steal()">正文<script>alert(1)</script>'
               '<a href="https://www.gov.cn/zhengce/1.htm">国务院文件</a>'
               '<a href="https://mp.weixin.qq.com/s/abc">往期回顾</a></p>'
               '<p style="background-image:url(https://cdn.example.com/bg.png);color:red">提示</p>'
               '<img src="https://images.example.com/photo.jpg" srcset="big.jpg 2x">'
               '<iframe src="https://v.example.com/embed"></iframe>')
    r = WeChatAdapter.render(_pub(content=content))
    sent = r.fields["content"]
    for gone in ("<script", "alert(1)", "onclick", "https://www.gov.cn", "url(", "srcset", "<iframe"):
        assert gone not in sent, gone
    assert "国务院文件" in sent and 'href="https://mp.weixin.qq.com/s/abc"' in sent and "color:red" in sent
    assert 'src="https://images.example.com/photo.jpg"' in sent  # kept: uploaded to WeChat when sent
    text = "\n".join(r.warnings)
    assert "脚本（<script>）" in text and "事件处理属性" in text and "内嵌网页（<iframe>）" in text
    assert "外部链接（www.gov.cn）" in text and "CSS 背景图片" in text and "srcset" in text
    assert "正文第 1 张图片是外部图片（images.example.com）" in text
    assert r.problems == [] and r.html_fields == ("content",)


def test_limits_are_measured_on_the_content_as_sent():
    photo = _jpeg((400, 300), noise=True, quality=80)  # a photo of some 60–100 KB
    assert len(photo) > 40_000
    content = f'<p>现场照片：</p><img src="{_data_url(photo)}"><p>以上。</p>'
    assert len(content) > 20_000  # the raw HTML with its base64 photo
    assert WeChatAdapter.render(_pub(content=content)).problems == []
    assert WeChatAdapter.validate("标题", content, "", "") == []
    # What really is too long once sent still is.
    small = _data_url(_jpeg((8, 8)))
    long_text = "<p>" + "字" * 19_880 + f'</p><img src="{small}">'
    problems = WeChatAdapter.render(_pub(content=long_text)).problems
    assert problems == ["微信正文须少于 20000 字符（发送时为 20027 字符，图片按上传后的微信地址计）"]


def test_images_that_cannot_be_sent_are_problems_named_by_position():
    svg = _data_url(b'<svg xmlns="http://www.w3.org/2000/svg"/>', "image/svg+xml")
    content = (f'<img src="{_data_url(_jpeg((40, 40)))}"><img src="data:image/png;base64,@@not-base64@@">'
               f'<img src="{svg}"><img src="/local/picture.png">')
    r = WeChatAdapter.render(_pub(content=content, articles=[
        {"title": "附件", "content": '<img src="data:image/png;base64,iVBORw0KGgo=">', "cover": _jpeg()}]))
    assert r.problems == [
        "正文第 2 张图片无法发送到微信：data: 地址的 base64 内容无法解码，请删除后重新插入",
        "正文第 3 张图片无法发送到微信：不是可识别的图片（微信只接受 JPG、PNG，其他格式须能转换），请删除后重新插入",
        "正文第 4 张图片的地址无法发送到微信（/local/picture.png），请删除后重新插入",
        "第 2 篇文章：正文第 1 张图片无法发送到微信：不是可识别的图片（微信只接受 JPG、PNG，其他格式须能转换），请删除后重新插入",
    ]
    assert "封面" in WeChatAdapter.render(_pub(cover=b"not a picture")).problems[0]
    assert "缺少封面" in WeChatAdapter.render(_pub(cover=b"")).problems[0]


def test_title_and_digest_limits_come_from_the_settings():
    title = "关于印发《陈巴尔虎旗冬春季森林草原防灭火工作方案》的通知（陈政办发〔2026〕12号）"
    assert 32 < len(title) <= 64
    assert WeChatAdapter.render(_pub(title=title)).problems == []  # default: the back office's 64
    r = WeChatAdapter.render(_pub(title=title, summary="摘" * 125), {"title_max": "32", "digest_max": "128"})
    assert r.problems == [f"微信标题不得超过 32 字（现为 {len(title)} 字）"]
    assert WeChatAdapter.render(_pub(summary="摘" * 125)).problems == ["微信摘要不得超过 120 字（现为 125 字）"]
    # A variant title is what is sent, and what is measured.
    r = WeChatAdapter.render(_pub(title=title, variant={"title": "森林草原防灭火工作方案"}), {"title_max": "32"})
    assert r.problems == [] and r.fields["title"] == "森林草原防灭火工作方案"


def test_three_articles_go_out_as_one_draft_and_one_publication(sim):
    cover2 = _jpeg((500, 300))
    pub = _pub(source_url="https://www.cbeh.gov.cn/a/1", articles=[
        {"title": "附件一：责任分工", "content": "<p>各苏木镇负责本辖区。</p>", "summary": "", "author": "应急局",
         "source_url": "", "cover": cover2},
        {"title": "附件二：值班安排", "content": '<p>24小时值班。<script>x()</script></p>', "summary": "",
         "author": "", "source_url": "https://www.cbeh.gov.cn/a/2", "cover": b""}])
    rendering = WeChatAdapter.render(pub)
    assert rendering.problems == []
    assert any("第 3 篇文章：没有封面" in w for w in rendering.warnings)
    stages: list[str] = []
    result = sim.adapter(checkpoint=lambda stage, **_refs: stages.append(stage)).publish(
        _pub(**{**pub.__dict__, "rendering": rendering}))
    assert result.status == "published"
    assert stages == ["submitting", "submitted"]
    state = sim.state()
    assert [s["articles"].__len__() for s in state["published"]] == [3] and state["drafts"] == []
    sent = state["published"][0]["articles"]
    assert [a["title"] for a in sent] == ["关于做好冬季防火工作的通知", "附件一：责任分工", "附件二：值班安排"]
    assert [a["content_source_url"] for a in sent] == ["https://www.cbeh.gov.cn/a/1", "", "https://www.cbeh.gov.cn/a/2"]
    assert "<script" not in sent[2]["content"] and sent[1]["author"] == "应急局"
    assert len({m["media_id"] for m in state["materials"]}) == 2  # the third article reuses the main cover
    assert sent[2]["thumb_media_id"] == sent[0]["thumb_media_id"]
    assert "hub.invalid" not in json.dumps(state)


def test_publish_sends_the_approved_rendering_not_the_revision(sim):
    approved = WeChatAdapter.render(_pub(title="审核通过的标题"))
    result = sim.adapter().publish(_pub(title="后来改过的标题", rendering=approved))
    assert result.status == "published"
    (published,) = sim.state()["published"]
    assert published["title"] == "审核通过的标题" and published["content_source_url"] == ""
    # A rendering with problems is never sent.
    with pytest.raises(PlatformError) as err:
        sim.adapter().publish(_pub(title="", rendering=WeChatAdapter.render(_pub(title=""))))
    assert err.value.code == "invalid_content" and "微信标题不能为空" in err.value.message


def test_a_title_refused_by_wechat_names_the_limits(sim):
    title = "关于印发《陈巴尔虎旗冬春季森林草原防灭火工作方案》的通知"  # 28 < 40 < 64: passes the hub's check
    title = title + "（陈政办发〔2026〕12号）"
    with pytest.raises(PlatformError) as err:
        sim.adapter(config={"title_max": "64"}).publish(_pub(title=title))
    assert err.value.code == 45003 and not err.value.ambiguous
    assert "本中心按不超过 64 字检查" in err.value.message and "不超过 32 字" in err.value.message
    assert "HUB_WECHAT_TITLE_MAX" in err.value.message


def test_reconciliation_finds_a_lost_publication_without_any_marker(sim):
    adapter = sim.adapter()
    pub = _pub(articles=[{"title": "附件", "content": "<p>附件正文</p>", "cover": b""}])
    result = adapter.publish(pub)
    since = time.time() - 60
    # No publish id recorded (the submit answer was lost): found by its articles and time.
    found = adapter.find(pub, since=since, draft_ref="some-old-draft")
    assert found.published is not None and found.published.url == result.url
    # The same title alone, with other articles, is not this publication.
    assert adapter.find(_pub(), since=since).found_nothing
    # A draft recorded at the checkpoint is found by its media id (draft/get), the only one resumed.
    client = adapter._client()
    thumb = adapter.upload_cover(client, _jpeg())
    media_id = adapter.add_draft(client, [{"title": "待发草稿", "content": "<p>x</p>", "thumb_media_id": thumb}])
    assert adapter.find(_pub(title="别的标题"), since=since, draft_ref=media_id).drafts == [media_id]


class _OddStatus(WeChatSimulator):
    """A WeChat whose freepublish/get answers a publish_status its documentation does not list."""

    def handle(self, request: SimRequest) -> SimResponse:
        if request.path == "/cgi-bin/freepublish/get":
            return json_response({"publish_id": "1", "publish_status": 9})
        return super().handle(request)


def test_an_unknown_publish_status_is_unconfirmed_not_a_failure():
    odd = _Sim(_OddStatus(publish_delay=0.0))
    try:
        adapter = odd.adapter()
        adapter.poll_seconds = 0.2
        result = adapter.publish(_pub())
        assert result.status == "submitted"  # asked again later, not failed
        with pytest.raises(PlatformError) as err:
            adapter.find(_pub(), since=0, platform_ref=result.platform_ref)
        assert err.value.ambiguous and err.value.code == "publish_status_unknown"
        assert "未知的发布状态（9）" in err.value.message
    finally:
        odd.close()
