"""What leaves the hub for WeChat is the approved rendering (issue 13): a post with three articles is
one publication with three articles; 阅读原文 is the source URL or nothing, never a marker; the title
limit comes from HUB_WECHAT_TITLE_MAX; what WeChat strips is a warning before review; and a lost
answer is reconciled without a marker and without a duplicate."""

from __future__ import annotations

import json
from typing import Any

import pytest
from dispatch_helpers import LosingWeChat, RunningSim, approve_post, assert_no_duplicates, dispatches
from support import run_burst_worker

ARTICLES = [{"title": "附件一：防火责任分工", "content": "<p>各苏木镇负责本辖区防火工作。</p>", "author": "应急管理局"},
            {"title": "附件二：节日值班安排", "content": "<p>节日期间实行24小时值班。</p>",
             "source_url": "https://www.cbeh.gov.cn/zwgk/2.html"}]
#: 40 字: over the 32 of WeChat's API documentation, within the back office's 64.
TITLE_40 = "关于印发《陈巴尔虎旗冬春季森林草原防灭火工作方案》的通知（陈政办发〔2026〕12号）"


@pytest.fixture
def lossy(factory, world):
    made = []

    def make(lose: dict[str, int]) -> tuple[RunningSim, int]:
        sim = RunningSim(LosingWeChat(lose, publish_delay=0.3))
        made.append(sim)
        sim.register("wx_lossy", "secret-lossy")
        acc = factory.account("cbeh", f"陈巴尔虎旗融媒{len(made)}", sim.base, appid="wx_lossy",
                              secret="secret-lossy", is_main=False, justification="融媒体中心")
        return sim, acc.id

    yield make
    for sim in made:
        sim.close()


def test_three_articles_arrive_as_one_publication_without_any_marker(app, world):
    post_id = approve_post(world["api"], world["accounts"][:1], articles=ARTICLES)
    run_burst_worker(app, timeout=90)
    (d,) = dispatches(app, [post_id])
    assert d.status == "published", d.error
    state = world["sim"].state()
    (published,) = state["published"]
    assert [a["title"] for a in published["articles"]] == [
        "关于做好冬季供暖保障工作的通知", "附件一：防火责任分工", "附件二：节日值班安排"]
    assert published["url"] == d.url and state["drafts"] == []
    # 阅读原文: the article's own source URL, or nothing.
    assert [a["content_source_url"] for a in published["articles"]] == ["", "", "https://www.cbeh.gov.cn/zwgk/2.html"]
    assert published["articles"][1]["author"] == "应急管理局"
    assert "hub.invalid" not in json.dumps(state, ensure_ascii=False)
    assert_no_duplicates(state, [d])


def test_the_source_url_is_what_read_more_links_to(app, world):
    post_id = approve_post(world["api"], world["accounts"][:1], source_url="https://www.cbeh.gov.cn/zwgk/1.html")
    run_burst_worker(app, timeout=60)
    (d,) = dispatches(app, [post_id])
    assert d.status == "published", d.error
    (published,) = world["sim"].state()["published"]
    assert published["content_source_url"] == "https://www.cbeh.gov.cn/zwgk/1.html"


def _create(world: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body = {"title": TITLE_40, "content": "<p>请各单位认真贯彻执行。</p>", "account_ids": world["accounts"][:1]}
    r = world["api"]["editor"].post("/posts", json={**body, **fields})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def test_the_title_limit_is_the_configured_one(app, world, monkeypatch):
    # The default is the back office's 64: a 40-字 title is submitted without a finding.
    post = _create(world)
    r = world["api"]["editor"].post(f"/posts/{post['id']}/submit")
    assert r.status_code == 200, r.get_json()
    # With HUB_WECHAT_TITLE_MAX=32 (the API documentation's number) the same title is refused at submit.
    monkeypatch.setenv("HUB_WECHAT_TITLE_MAX", "32")
    post = _create(world)
    r = world["api"]["editor"].post(f"/posts/{post['id']}/submit")
    assert r.status_code == 422
    messages = [f["message"] for f in r.get_json()["error"]["findings"] if f["severity"] == "block"]
    assert f"微信标题不得超过 32 字（现为 {len(TITLE_40)} 字）" in messages


def test_a_title_wechat_refuses_fails_with_the_limits_named(app, world):
    # The simulator keeps to WeChat's API documentation (32): the refusal names both numbers.
    post_id = approve_post(world["api"], world["accounts"][:1], title=TITLE_40)
    run_burst_worker(app, timeout=60)
    (d,) = dispatches(app, [post_id])
    assert d.status == "failed"
    assert "错误码 45003" in d.error and "本中心按不超过 64 字检查" in d.error and "不超过 32 字" in d.error


def test_what_wechat_strips_is_a_warning_before_review(app, world):
    content = ('<p style="background:url(https://cdn.example.com/bg.png)">正文'
               '<a href="https://www.gov.cn/zhengce/">国务院政策</a></p>'
               '<img src="https://images.example.com/photo.jpg">')
    post = _create(world, title="关于冬季防火的通知", content=content)
    warnings = [f for f in post["findings"] if f["rule"] == "platform.wechat.stripped"]
    assert all(f["severity"] == "warn" and f["field"] == "rendering.wechat" for f in warnings)
    text = "\n".join(f["message"] for f in warnings)
    assert "外部图片（images.example.com）" in text and "外部链接（www.gov.cn）" in text
    # A CSS background image never reaches a rendering: the hub's sanitizer keeps no url() in styles.
    assert "url(" not in post["revision"]["content"] and "cdn.example.com" not in post["revision"]["content"]
    r = world["api"]["editor"].post(f"/posts/{post['id']}/submit")
    assert r.status_code == 200, r.get_json()  # warnings do not block


@pytest.mark.parametrize("lost", ["draft/add", "freepublish/submit"])
def test_a_lost_answer_is_reconciled_without_a_duplicate(app, world, lossy, lost):
    sim, account_id = lossy({lost: 1})
    post_id = approve_post(world["api"], [account_id], articles=ARTICLES)
    run_burst_worker(app, timeout=120)
    (d,) = dispatches(app, [post_id])
    assert d.status == "published", d.error
    assert sim.sim.seen[lost] == 1  # never sent twice
    state = sim.state()
    (published,) = state["published"]
    assert len(published["articles"]) == 3 and state["drafts"] == []
    assert_no_duplicates(state, [d])
    kinds = [(a["kind"], a["outcome"]) for a in
             world["api"]["editor"].get(f"/dispatches/{d.id}").get_json()["attempts_log"]]
    assert kinds[0] == ("publish", "unconfirmed") and kinds[-1][1] == "published"


def test_the_hub_defaults_are_the_adapter_ceilings():
    from adapters.wechat import WeChatAdapter
    from hub.config import ConfigError, default, parse

    assert default("HUB_WECHAT_TITLE_MAX") == WeChatAdapter.limits["title"] == 64
    assert default("HUB_WECHAT_DIGEST_MAX") == WeChatAdapter.limits["summary"] == 120
    with pytest.raises(ConfigError) as err:
        parse("HUB_WECHAT_TITLE_MAX", "0")
    assert "HUB_WECHAT_TITLE_MAX" in str(err.value)


def test_a_finding_in_a_body_wechat_changes_is_reported_once(app, world):
    # The rendered body differs from the revision's (the link target goes): its typo is the same one.
    post = _create(world, title="关于召开会议的通知",
                   content='<p>我市攻府召开会议，详见<a href="https://www.nmg.gov.cn/">自治区政府网</a>。</p>')
    typos = [f for f in post["findings"] if f["rule"] == "typo.攻府"]
    assert [f["field"] for f in typos] == ["content"]
    r = world["api"]["editor"].post(f"/posts/{post['id']}/submit")
    assert r.status_code == 422
    assert [f["field"] for f in r.get_json()["error"]["findings"] if f["rule"] == "typo.攻府"] == ["content"]
