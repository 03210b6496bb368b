"""WeChat posts with several articles (issue 13 item 3): one revision carries the main article and
up to seven more; they are validated, checked, hashed and shown like the main one."""

from __future__ import annotations

from typing import Any

EXTRA = [{"title": "附件一：防火责任分工", "content": "<p>各苏木镇负责本辖区防火工作。</p>", "summary": "责任分工"},
         {"title": "附件二：值班安排", "content": "<p>节日期间实行24小时值班。</p>"}]


def _create(world: dict[str, Any], **extra: Any) -> Any:
    return world["api"]["editor"].post("/posts", json={
        "title": "关于做好冬季森林防火工作的通知", "content": "<p>请各单位做好冬季森林防火工作。</p>",
        "account_ids": world["accounts"][:1], **extra})


def test_articles_are_stored_shown_and_hashed(world: dict[str, Any]) -> None:
    r = _create(world, articles=EXTRA)
    assert r.status_code == 201, r.get_json()
    post = r.get_json()
    got = world["api"]["editor"].get(f"/posts/{post['id']}").get_json()["revision"]
    assert [a["title"] for a in got["articles"]] == ["附件一：防火责任分工", "附件二：值班安排"]
    assert got["articles"][0]["summary"] == "责任分工" and got["articles"][1]["summary"] == ""
    # Reordering the articles is a change reviewers must see: a new revision, a new hash.
    r = world["api"]["editor"].patch(f"/posts/{post['id']}", json={"articles": list(reversed(EXTRA))})
    assert r.status_code == 200
    again = r.get_json()["revision"]
    assert again["number"] == 2 and again["hash"] != got["hash"]
    assert [a["title"] for a in again["articles"]] == ["附件二：值班安排", "附件一：防火责任分工"]
    # Removing them all is allowed too.
    r = world["api"]["editor"].patch(f"/posts/{post['id']}", json={"articles": []})
    assert r.status_code == 200 and r.get_json()["revision"]["articles"] == []


def test_bad_text_in_an_extra_article_blocks_submit(world: dict[str, Any]) -> None:
    post = _create(world, articles=[{"title": "附件", "content": "<p>市攻府召开会议。</p>"}]).get_json()
    r = world["api"]["editor"].post(f"/posts/{post['id']}/submit")
    assert r.status_code == 422
    assert ("articles.0.content", "typo.攻府") in {(f["field"], f["rule"]) for f in r.get_json()["error"]["findings"]}


def test_article_input_errors_are_specific_and_change_nothing(world: dict[str, Any]) -> None:
    r = _create(world, articles=[{"title": f"附件{i}", "content": "<p>内容</p>"} for i in range(8)])
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "too_many_articles"
    r = _create(world, articles=[{"content": "<p>内容</p>"}])
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_articles"
    r = _create(world, articles=[{"title": "附件", "content": "<p>内容</p>", "color": "red"}])
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_articles"
    r = _create(world, articles="附件")
    assert r.status_code == 400
    assert world["api"]["editor"].get("/posts").get_json()["posts"] == []
