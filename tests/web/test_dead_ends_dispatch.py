"""No dead ends after approval: a failed dispatch shows on the post page with what happened and what
to do, the unit's admin retries it right there, and the admins' attention page is linked from the
menu and the dashboard."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from support import run_burst_worker

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dispatch"))
from dispatch_helpers import approve_post, dispatches  # noqa: E402
from test_web_security import login  # noqa: E402


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.split("<main")[1].split("</main>")[0]))


def _failed(world, app) -> tuple[int, int]:
    pid = approve_post(world["api"], world["accounts"][:1], content="<p>内容 SIM-FAIL-CHECK</p>")
    run_burst_worker(app)
    (d,) = dispatches(app, [pid])
    assert d.status == "failed"
    return pid, d.id


def test_a_failed_dispatch_says_what_to_do_and_the_admin_retries_from_the_post(world, app, client):
    pid, did = _failed(world, app)

    login(client, "editor")
    page = client.get(f"/posts/{pid}").get_data(as_text=True)
    assert 'id="dispatch-attention"' in page
    shown = _text(page)
    assert "发布未完成，需要处理" in shown and "未通过微信发布检查" in shown
    assert "可以安全重试" in shown and "重试须由本单位管理员办理" in shown
    assert f'id="retry-{did}"' not in page  # the editor is told who retries, and sees no button
    assert 'data-testid="dispatches-menu"' not in page
    # The live table names attempt outcomes in words.
    live = client.get(f"/posts/{pid}/status.json").get_json()
    assert live["dispatches"][0]["attempts_log"][0]["outcome_label"] == "失败"

    client = app.test_client()
    login(client, "admin")
    page = client.get(f"/posts/{pid}").get_data(as_text=True)
    assert f'id="retry-{did}"' in page and "重试须由本单位管理员办理" not in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post(f"/dispatches/{did}/retry", data={"csrf_token": token, "next": f"/posts/{pid}"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/posts/{pid}")
    assert dispatches(app, [pid])[0].status == "pending"
    assert "已重新排队发布" in client.get(r.headers["Location"]).get_data(as_text=True)


def test_the_attention_page_is_linked_for_admins(world, app, client):
    _failed(world, app)
    login(client, "admin")
    home = client.get("/").get_data(as_text=True)
    assert 'data-testid="dispatches-menu"' in home and 'href="/dispatches"' in home
    assert 'id="dispatch-attention-panel"' in home
    assert "有 1 个发布任务失败或结果待核实" in _text(home)
    assert client.get("/dispatches").status_code == 200


def test_the_post_page_puts_the_article_before_scheduling_and_comments(world, app, client):
    pid = approve_post(world["api"], world["accounts"][:1])
    login(client, "editor")
    page = client.get(f"/posts/{pid}").get_data(as_text=True)
    article = page.index('class="card article"')
    assert article < page.index('id="review-controls"')
    assert article < page.index('id="comments"')
    assert not re.search(r"\b[0-9a-f]{64}\b", _text(page))  # no revision hash for staff


def test_the_review_page_says_why_there_is_no_review_box(world, app, client):
    api = world["api"]
    r = api["editor"].post("/posts", json={"title": "审核人修改过的稿件", "content": "<p>内容</p>",
                                           "account_ids": world["accounts"][:1]})
    pid = r.get_json()["id"]
    assert api["r1"].patch(f"/posts/{pid}", json={"content": "<p>审核人改过</p>"}).status_code == 200
    assert api["editor"].post(f"/posts/{pid}/submit").status_code == 200
    login(client, "r1")
    page = client.get(f"/review/{pid}").get_data(as_text=True)
    assert 'id="not-reviewing"' in page and "须由其他审核人审核" in page
    assert 'id="approve-btn"' not in page
    other = app.test_client()
    login(other, "r2")
    page = other.get(f"/review/{pid}").get_data(as_text=True)
    assert 'id="not-reviewing"' not in page and 'id="approve-btn"' in page  # another reviewer decides
