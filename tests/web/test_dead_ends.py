"""No dead ends: what a person cannot do now is explained where they would try it."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from support import run_burst_worker

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dispatch"))
from dispatch_helpers import approve_post  # noqa: E402
from test_web_security import login  # noqa: E402


def _published(world, app) -> int:
    pid = approve_post(world["api"], world["accounts"][:1])
    run_burst_worker(app)
    assert world["api"]["editor"].get(f"/posts/{pid}").get_json()["status"] == "published"
    return pid


def test_published_post_says_why_it_cannot_be_edited_before_the_form(world, app, client):
    pid = _published(world, app)
    login(client, "editor")
    page = client.get(f"/posts/{pid}").get_data(as_text=True)
    assert 'id="edit-refusal"' in page and "已发布的稿件不能修改，可撤稿后重新发稿" in page
    assert f"/posts/{pid}/edit" not in page
    # The editor is told who withdraws instead of finding no 撤稿 at all.
    assert 'id="withdraw-note"' in page and "撤稿须由本单位管理员或终审人员办理" in page
    r = client.get(f"/posts/{pid}/edit")  # an old link or bookmark: back to the post, with the reason
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/posts/{pid}")
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    shown = re.sub(r"<[^>]+>", " ", page.split("<main")[1].split("</main>")[0])
    assert "已发布的稿件不能修改" in shown and "published" not in shown
    # The API names the state in words too, with the machine code beside it.
    r = world["api"]["editor"].patch(f"/posts/{pid}", json={"title": "改个标题"})
    assert r.status_code == 409
    err = r.get_json()["error"]
    assert err["code"] == "not_editable" and "（published）" not in err["message"]
    assert "可撤稿后重新发稿" in err["message"]


def test_the_admin_sees_the_withdraw_form_not_the_note(world, app, client):
    pid = _published(world, app)
    login(client, "admin")
    page = client.get(f"/posts/{pid}").get_data(as_text=True)
    assert 'id="withdraw-form"' in page and 'id="withdraw-note"' not in page


def test_a_reviewers_own_post_says_someone_else_reviews_it(world, app, client, factory):
    api = world["api"]
    r = api["r1"].post("/posts", json={"title": "审核人自己写的稿件", "content": "<p>内容</p>",
                                       "account_ids": world["accounts"][:1]})
    if r.status_code == 403:  # reviewers cannot draft here: an editor drafts, the reviewer edits it
        r = api["editor"].post("/posts", json={"title": "审核人修改过的稿件", "content": "<p>内容</p>",
                                               "account_ids": world["accounts"][:1]})
        assert r.status_code == 201
        pid = r.get_json()["id"]
        assert api["r1"].patch(f"/posts/{pid}", json={"content": "<p>审核人改过</p>"}).status_code == 200
    else:
        assert r.status_code == 201, r.get_json()
        pid = r.get_json()["id"]
    assert api["editor"].post(f"/posts/{pid}/submit").status_code == 200
    login(client, "r1")
    page = client.get(f"/posts/{pid}").get_data(as_text=True)
    assert 'id="not-reviewing"' in page and "须由其他审核人审核" in page
    assert 'id="approve-btn"' not in page
    other = app.test_client()
    login(other, "r2")
    page = other.get(f"/posts/{pid}").get_data(as_text=True)
    assert 'id="not-reviewing"' not in page
