"""The editor's 检查 endpoint, the post page's marked findings and override form (issue 6)."""

from __future__ import annotations

import html
import re

from checks_helpers import csrf_token, draft, finding, login  # type: ignore[import-not-found]


def _preview(client, token, **payload):
    return client.post("/checks/preview", json=payload, headers={"X-CSRFToken": token})


def test_editor_check_endpoint_offsets_index_the_editor_text(world, client):
    login(client, "editor")
    page = client.get("/posts/new").get_data(as_text=True)
    assert 'id="run-checks"' in page and "checks.js" in page and "<script>" not in page
    token = csrf_token(page)
    text = "😀第一段：市攻府召开会议。\n\uFFFC\n联系电话：13812345678\n"
    r = _preview(client, token, title="关于共合国的通知", summary="", text=text,
                 content='<p>市攻府召开会议。</p><p><a href="javascript:alert(1)">链接</a></p>')
    assert r.status_code == 200, r.get_data(as_text=True)
    data = r.get_json()
    assert data["lexicon_version"].startswith("lex-")
    by_rule = {(f["field"], f["rule"]): f for f in data["findings"]}
    typo = by_rule[("text", "typo.攻府")]
    assert text[typo["start"]:typo["end"]] == "攻府" and typo["suggestion"] == "政府"  # code points
    assert ("title", "typo.共合国") in by_rule
    assert by_rule[("text", "pii.mobile")]["suggestion"]
    # The HTML adds what the text cannot show (a javascript: link), not the same typo again.
    assert ("content", "link.javascript") in by_rule
    assert ("content", "typo.攻府") not in by_rule


def test_editor_check_endpoint_needs_login_csrf_and_good_input(world, client):
    r = client.post("/checks/preview", json={"text": "攻府"})
    assert r.status_code in (400, 401)
    login(client, "editor")
    token = csrf_token(client.get("/posts/new").get_data(as_text=True))
    assert client.post("/checks/preview", json={"text": "攻府"}).status_code == 400  # no CSRF header
    r = _preview(client, token, text=5)
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_field"
    r = client.post("/checks/preview", data="[1]", content_type="application/json", headers={"X-CSRFToken": token})
    assert r.status_code == 400
    r = _preview(client, token, text="攻府", post_id=999999)
    assert r.status_code == 404


def test_post_page_marks_findings_and_offers_override_to_reviewers(world, client):
    post = draft(world)
    pid = post["id"]
    typo = finding(post["findings"], "typo.攻府")
    login(client, "editor")
    page = client.get(f"/posts/{pid}").get_data(as_text=True)
    assert 'id="findings-panel"' in page and "override-form" not in page
    marked = re.search(r'<template id="marked-content">(.*?)</template>', page, re.S).group(1)
    assert re.search(r'<mark class="finding sev-block" data-finding="' + typo["id"] + r'"[^>]*>攻府</mark>', marked)
    assert "党史教育</mark>" in marked  # the warn finding is marked too
    login(client, "r1")
    page = client.get(f"/posts/{pid}").get_data(as_text=True)
    assert f'/posts/{pid}/findings/{typo["id"]}/override' in page
    token = csrf_token(page)
    r = client.post(f"/posts/{pid}/findings/{typo['id']}/override",
                    data={"csrf_token": token, "reason": "", "revision_hash": post["revision"]["hash"]})
    assert r.status_code == 302
    page = client.get(f"/posts/{pid}").get_data(as_text=True)
    assert "豁免检查结果必须填写理由" in html.unescape(page)
    r = client.post(f"/posts/{pid}/findings/{typo['id']}/override",
                    data={"csrf_token": token, "reason": "引用原文", "revision_hash": post["revision"]["hash"]})
    assert r.status_code == 302
    page = client.get(f"/posts/{pid}").get_data(as_text=True)
    assert "已豁免" in page and "引用原文" in page
    assert 'class="finding sev-block overridden"' in page
    login(client, "outsider_rev")
    r = client.post(f"/posts/{pid}/findings/{typo['id']}/override", data={"csrf_token": token, "reason": "x"})
    assert r.status_code in (400, 404)


def test_highlight_keeps_markup_well_formed():
    from hub.checks.service import highlight_html

    content = '<p>市<b>攻</b>府开会</p><img src="/m/1.png" alt="行政区划地图">'
    a, z = content.index("攻"), content.index("府") + 1
    img = content.index("<img")
    fs = [{"id": "a", "field": "content", "start": a, "end": z, "severity": "block", "message": "m",
           "suggestion": "s", "rule": "r"},
          {"id": "b", "field": "content", "start": a, "end": a + 1, "severity": "warn", "message": "<x>", "rule": "q"},
          {"id": "c", "field": "content", "start": img, "end": len(content), "severity": "block", "message": "map",
           "rule": "m"},
          {"id": "d", "field": "title", "start": 0, "end": 2, "severity": "block", "message": "t", "rule": "t"}]
    out = highlight_html(content, fs)
    assert re.sub(r"</?mark[^>]*>", "", out) == content
    assert '<b><mark class="finding sev-block" data-finding="a b" title="m（建议：s）；&lt;x&gt;">攻</mark></b>' in out
    assert '</b><mark class="finding sev-block" data-finding="a" title="m（建议：s）">府</mark>开会' in out
    assert '<mark class="finding sev-block" data-finding="c" title="map"><img' in out
    assert highlight_html(content, []) == content
