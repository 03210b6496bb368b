"""The editor's 群发 reprint choice (send_ignore_reprint): explained, saved with the WeChat variant, prefilled."""

from __future__ import annotations

import re

from support import PASSWORD


def _csrf(client, path):
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1), html


def test_reprint_choice_is_explained_saved_and_prefilled(world, client):
    token, _ = _csrf(client, "/login")
    client.post("/login", data={"username": "editor", "password": PASSWORD, "csrf_token": token})
    token, html = _csrf(client, "/posts/new")
    assert "群发时被微信判定为转载" in html and "继续群发（默认）" in html and "停止群发" in html
    assert re.search(r'name="variant-wechat-send_ignore_reprint" value="1" checked', html)  # default: continue
    r = client.post("/posts/new", data={
        "csrf_token": token, "title": "关于开展冬季防火检查的通知", "content": "<p>请各单位做好防火检查。</p>",
        "account_ids": str(world["accounts"][0]), "variant-wechat-mass_send": "on",
        "variant-wechat-send_ignore_reprint": "0"})
    assert r.status_code == 302
    post_id = int(r.headers["Location"].rsplit("/", 1)[1])
    post = world["api"]["editor"].get(f"/posts/{post_id}").get_json()
    assert post["revision"]["variants"] == {"wechat": {"mass_send": "1", "send_ignore_reprint": "0"}}
    assert any("被判定为转载时：停止群发" in f["message"] for f in post["findings"])
    _, html = _csrf(client, f"/posts/{post_id}/edit")
    assert re.search(r'name="variant-wechat-send_ignore_reprint" value="0" checked', html)


def test_post_wide_findings_quote_nothing_and_the_title_hint_is_the_limit_checked(world, client):
    token, _ = _csrf(client, "/login")
    client.post("/login", data={"username": "editor", "password": PASSWORD, "csrf_token": token})
    token, html = _csrf(client, "/posts/new")
    assert "微信标题不超过 64 字" in html and "32 字" not in html  # the counter's and saving's ceiling
    r = client.post("/posts/new", data={
        "csrf_token": token, "title": "关于开展冬季防火检查的通知", "content": "<p>请各单位做好防火检查。</p>",
        "account_ids": str(world["accounts"][0]), "variant-wechat-mass_send": "on"})
    post_id = int(r.headers["Location"].rsplit("/", 1)[1])
    html = client.get(f"/posts/{post_id}").get_data(as_text=True)
    assert "群发：推送给全部关注者" in html
    assert "「」" not in html  # a finding about the whole post has no excerpt to quote
