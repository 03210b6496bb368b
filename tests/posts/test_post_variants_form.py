"""Per-platform versions entered in the editor form are part of the revision (and its hash)."""

from __future__ import annotations

import re

from support import PASSWORD


def _csrf(client, path):
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1), html


def test_variants_from_the_form_are_saved_and_prefilled(world, client):
    token, _ = _csrf(client, "/login")
    client.post("/login", data={"username": "editor", "password": PASSWORD, "csrf_token": token})
    token, html = _csrf(client, "/posts/new")
    assert 'name="variant-wechat-title"' in html
    r = client.post("/posts/new", data={
        "csrf_token": token, "title": "关于开展冬季防火检查的通知", "content": "<p>请各单位做好防火检查。</p>",
        "account_ids": str(world["accounts"][0]), "variant-wechat-title": "冬季防火检查通知",
        "variant-wechat-mass_send": "on", "variant-wechat-summary": ""})
    assert r.status_code == 302
    post_id = int(r.headers["Location"].rsplit("/", 1)[1])
    post = world["api"]["editor"].get(f"/posts/{post_id}").get_json()
    assert post["revision"]["variants"] == {"wechat": {"title": "冬季防火检查通知", "mass_send": "1"}}
    _, html = _csrf(client, f"/posts/{post_id}/edit")
    assert 'value="冬季防火检查通知"' in html

    # A variant too long for the platform is refused with the platform's own message, nothing saved.
    token, _ = _csrf(client, "/posts/new")
    r = client.post("/posts/new", data={
        "csrf_token": token, "title": "短标题", "content": "<p>正文</p>", "account_ids": str(world["accounts"][0]),
        "variant-wechat-title": "这是一个为微信单独设置但是明显超过了公众号后台六十四个字限制的非常非常非常长的标题" * 2})
    assert r.status_code == 200 and "微信标题不得超过" in r.get_data(as_text=True)
