"""Body images stored in the hub reach the platforms from the database (issue 13 item 2): the
publication carries their bytes (``Publication.images``), WeChat rehosts them with
``media/uploadimg``, the website push carries them, Weibo 头条 uploads them — no ``data:`` URL and no
hub URL is ever sent, and no adapter fetches the hub over HTTP."""

from __future__ import annotations

import base64
import hashlib
import re

from dispatch_helpers import approve_post, dispatches
from support import data_url, photo, run_burst_worker
from test_weibo_dispatch import SAFE_URL, _publication, weibo  # noqa: F401  (weibo: the account fixture)

from adapters.website import WebsiteAdapter

IMG = re.compile(r'<img[^>]*\bsrc="([^"]*)"')


def test_a_300_kb_photo_from_an_api_client_publishes_to_wechat_as_an_uploadimg_url(app, world) -> None:
    """Done when: the simulator's stored content holds no data: URL and every image points at an
    uploadimg URL."""
    data = photo(300)
    post_id = approve_post(world["api"], world["accounts"][:1],
                           content=f'<p>现场照片：</p><p><img src="{data_url(data)}" alt="现场"></p><p>图片说明。</p>')
    run_burst_worker(app)
    [d] = dispatches(app, [post_id])
    assert d.status == "published", d.error
    state = world["sim"].state()
    uploaded = {i["url"]: i["sha256"] for i in state["images"] if i["appid"] == "wx_main"}
    contents = [a["content"] for p in state["published"] for a in p.get("articles") or [p]] + [
        a["content"] for dr in state["drafts"] for a in dr["articles"]]
    assert contents
    for content in contents:
        assert "data:" not in content and "/media/" not in content
        srcs = IMG.findall(content)
        assert srcs and all(src in uploaded for src in srcs), (srcs, uploaded)
    assert hashlib.sha256(data).hexdigest() in uploaded.values()  # the photo itself, under 1 MB: sent as is


def test_the_publication_carries_the_images_of_every_article(app, world) -> None:
    main, extra = photo(30, seed=3), photo(30, seed=4)
    post_id = approve_post(world["api"], world["accounts"][:1],
                           content=f'<p><img src="{data_url(main)}"></p>',
                           articles=[{"title": "附件", "content": f'<p><img src="{data_url(extra)}"></p>'}])
    [d] = dispatches(app, [post_id])
    pub = _publication(app, d.id)
    [main_src] = IMG.findall(pub.content)
    [extra_src] = IMG.findall(pub.articles[0]["content"])
    assert pub.images == {main_src: main, extra_src: extra}

    # The website push carries the image itself: the CMS hosts it and swaps the src.
    payload = WebsiteAdapter("http://127.0.0.1:9", {}).payload(pub)
    assert IMG.findall(payload["content_html"]) == [main_src]
    [img] = payload["images"]
    assert img["src"] == main_src and img["mime"] == "image/jpeg"
    assert base64.b64decode(img["data_base64"]) == main and img["sha256"] == hashlib.sha256(main).hexdigest()


def test_weibo_toutiao_uploads_hub_images_and_sends_their_weibo_urls(app, world, weibo) -> None:  # noqa: F811
    sim, account_id = weibo
    data = photo(60, seed=5)
    body = "<p>" + "各有关单位：请做好冬季供暖保障工作，确保群众温暖过冬。" * 12 + "</p>"
    post_id = approve_post(world["api"], [account_id], source_url=SAFE_URL,
                           content=body + f'<p><img src="{data_url(data)}"></p>')
    run_burst_worker(app)
    [d] = dispatches(app, [post_id])
    assert d.status == "published", d.error
    state = sim.state()
    [article] = [s for s in state["published"] if s["kind"] == "article"]
    srcs = IMG.findall(article["content"])
    assert len(srcs) == 1 and "/large/" in srcs[0], srcs
    assert hashlib.sha256(data).hexdigest() in {p["sha256"] for p in state["pictures"]}
    assert "data:" not in article["content"] and "/media/" not in article["content"]
