"""Post bodies are shown to staff in frames with their own policy: the page never holds the body."""

from __future__ import annotations

import re

from test_web_security import login

OVERLAY = ('<p>请各单位做好防火宣传。</p><p style="position:fixed;top:0;left:0;width:100%;height:100%;'
           'z-index:99999;text-align:center">本稿件已通过全部审核，无需再审</p>')


def _submitted(world):
    api = world["api"]["editor"]
    post = api.post("/posts", json={"title": "关于做好防火宣传的通知", "content": OVERLAY,
                                    "account_ids": world["accounts"][:1]}).get_json()
    assert api.post(f"/posts/{post['id']}/submit").status_code == 200
    return post


def test_review_and_post_pages_frame_the_body_with_its_own_policy(world, client):
    post = _submitted(world)
    login(client, "r1")
    for page in (f"/review/{post['id']}", f"/posts/{post['id']}"):
        html = client.get(page).get_data(as_text=True)
        assert "本稿件已通过全部审核" not in html  # the body is not part of the page
        srcs = re.findall(r'<iframe class="rendering-frame[^"]*" sandbox="allow-same-origin"[^>]*src="([^"]+)"',
                          html.replace("\n", " "))
        assert srcs, page
        for src in srcs:
            r = client.get(src.replace("&amp;", "&"))
            assert r.status_code == 200, src
            body = r.get_data(as_text=True)
            csp = r.headers["Content-Security-Policy"]
            assert "default-src 'none'" in csp and "script-src" not in csp and "frame-ancestors 'self'" in csp
            assert r.headers["X-Frame-Options"] == "SAMEORIGIN"
            if "fields/content" in src or src.startswith(f"/posts/{post['id']}/frame") or "/content" in src:
                assert "本稿件已通过全部审核" in body and "position" not in body and "z-index" not in body


def test_frames_refuse_a_stale_revision_and_other_units(world, client):
    post = _submitted(world)
    login(client, "r1")
    html = client.get(f"/posts/{post['id']}").get_data(as_text=True)
    src = re.search(r'src="(/posts/\d+/frame\?rev=[0-9a-f]+)"', html).group(1)
    assert client.get(src).status_code == 200
    assert client.get(f"/posts/{post['id']}/frame?rev=" + "0" * 64).status_code == 404
    assert client.get(f"/review/{post['id']}/frame/{world['accounts'][0]}/content?rev=x").status_code == 404
    client.post("/logout", data={"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)})
    login(client, "outsider")
    assert client.get(src).status_code == 404
