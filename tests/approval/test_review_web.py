"""The review UI: queue with counts and filters, the review screen, chain configuration, controls."""

from __future__ import annotations

import re

from review_helpers import approve, create, submit
from support import PASSWORD


def _csrf(client, path):
    html = client.get(path).get_data(as_text=True)
    m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert m, html[:400]
    return m.group(1)


def _login(client, username):
    r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": _csrf(client, "/login")})
    assert r.status_code == 302


def test_queue_and_review_screen(world, app):
    api = world["api"]
    post = create(api["editor"], world["accounts"], category="政策文件",
                  variants={"wechat": {"title": "春季防火通知"}})
    submit(api["editor"], post["id"])
    client = app.test_client()
    _login(client, "r1")
    html = client.get("/review").get_data(as_text=True)
    assert "待我审核" in html and post["revision"]["title"] in html and 'id="queue-total">1<' in html
    assert "政策文件" in html
    assert "没有等待您审核的稿件" in client.get("/review?category=其他").get_data(as_text=True)
    page = client.get(f"/review/{post['id']}").get_data(as_text=True)
    for label in ("政治关", "法律关", "政策关", "保密关", "文字关", "各平台预览", "春季防火通知", "历史",
                  "与我上次看到的版本对比", "与上次审核通过的版本对比"):
        assert label in page, label
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    # Unchecked boxes: refused with a clear message, nothing recorded.
    r = client.post(f"/review/{post['id']}/approve", data={"csrf_token": token, "revision_hash": post["revision"]["hash"],
                                                         "step": "0"}, follow_redirects=True)
    assert "以下审核项未确认" in r.get_data(as_text=True)
    data = {"csrf_token": token, "revision_hash": post["revision"]["hash"], "step": "0",
            **{f"check_{k}": "on" for k in ("political", "legal", "policy", "secrecy", "wording")}}
    r = client.post(f"/review/{post['id']}/approve", data=data)
    assert r.status_code == 302
    assert api["editor"].get(f"/posts/{post['id']}").get_json()["step"]["index"] == 1
    # The badge on every page counts the queue; r1 has nothing left.
    assert 'data-testid="review-badge">待我审核\n      <span class="badge">0</span>' in client.get("/").get_data(as_text=True)


def test_reject_in_ui_and_editor_sees_reason_and_comments(world, app):
    api = world["api"]
    post = create(api["editor"], world["accounts"])
    submit(api["editor"], post["id"])
    client = app.test_client()
    _login(client, "r2")
    token = _csrf(client, f"/review/{post['id']}")
    r = client.post(f"/review/{post['id']}/reject", data={"csrf_token": token, "reason": "", "step": "0"},
                    follow_redirects=True)
    assert "退回必须填写理由" in r.get_data(as_text=True)
    client.post(f"/posts/{post['id']}/comments", data={"csrf_token": token, "body": "第二段请核实日期"})
    client.post(f"/review/{post['id']}/reject", data={"csrf_token": token, "reason": "日期有误", "step": "0"})
    editor = app.test_client()
    _login(editor, "editor")
    html = editor.get(f"/posts/{post['id']}").get_data(as_text=True)
    assert "日期有误" in html and "第二段请核实日期" in html and "已退回" in html


def test_chain_configuration_page(world, app):
    client = app.test_client()
    _login(client, "admin")
    assert "陈巴尔虎旗" in client.get("/chains").get_data(as_text=True)
    page = client.get("/units/cbeh/chain").get_data(as_text=True)
    assert "默认三审" in page and 'name="name_0" value="初审"' in page
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    form = {"csrf_token": token, "category": "", "base_version": "0", "rows": "5", "note": "增加联审",
            "name_0": "初审", "who_0": "role", "role_0": "reviewer", "unit_0": "up:0", "quorum_0": "any",
            "name_1": "联审", "who_1": "users", "users_1": "r2, r3", "quorum_1": "all",
            "name_2": "终审", "who_2": "role", "role_2": "reviewer", "unit_2": "up:0", "quorum_2": "any",
            "name_3": "", "name_4": ""}
    r = client.post("/units/cbeh/chain", data=form, follow_redirects=True)
    html = r.get_data(as_text=True)
    assert "已保存为第 1 版" in html and "联审" in html and "全部通过" in html
    chain = world["api"]["editor"].get("/units/cbeh/chain").get_json()["effective"]["steps"]
    assert [(s["name"], s["quorum"], s["users"]) for s in chain] == [
        ("初审", "any", []), ("联审", "all", ["r2", "r3"]), ("终审", "any", [])]
    bad = dict(form, users_1="nobody", base_version="1")
    html = client.post("/units/cbeh/chain", data=bad, follow_redirects=True).get_data(as_text=True)
    assert "指定的用户不存在" in html
    assert len(world["api"]["admin"].get("/units/cbeh/chain").get_json()["history"]) == 1
    editor = app.test_client()
    _login(editor, "editor")
    assert editor.get("/chains").status_code == 404
    assert 'id="chain-editor"' not in editor.get("/units/cbeh/chain").get_data(as_text=True)


def test_schedule_cancel_withdraw_and_pause_in_ui(world, app):
    api = world["api"]
    post = create(api["editor"], world["accounts"], publish_at="2099-01-01T09:00")
    submit(api["editor"], post["id"])
    for name in ("r1", "r2", "r3"):
        assert approve(api[name], post["id"], post["revision"]["hash"]).status_code == 200
    client = app.test_client()
    _login(client, "editor")
    page = client.get(f"/posts/{post['id']}").get_data(as_text=True)
    assert 'id="cancel-schedule-btn"' in page and 'id="reschedule-btn"' in page
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    html = client.post(f"/posts/{post['id']}/schedule/cancel", data={"csrf_token": token},
                       follow_redirects=True).get_data(as_text=True)
    assert "已取消定时发布" in html and 'id="schedule-missed"' in html
    html = client.post(f"/posts/{post['id']}/schedule", data={"csrf_token": token, "publish_at": "2098-05-01T08:30"},
                       follow_redirects=True).get_data(as_text=True)
    assert "发布时间已更新" in html and "2098-05-01 08:30" in html
    admin = app.test_client()
    _login(admin, "admin")
    token = _csrf(admin, f"/posts/{post['id']}")
    html = admin.post(f"/posts/{post['id']}/withdraw", data={"csrf_token": token, "reason": "暂停该活动"},
                      follow_redirects=True).get_data(as_text=True)
    assert "已撤稿" in html
    html = admin.post("/units/cbeh/pause", data={"csrf_token": token, "reason": ""}, follow_redirects=True)
    assert "暂停发布必须填写原因" in html.get_data(as_text=True)
    html = admin.post("/units/cbeh/pause", data={"csrf_token": token, "reason": "演练"},
                      follow_redirects=True).get_data(as_text=True)
    assert "已暂停该单位及下级单位的全部发布" in html and 'id="resume-btn"' in html
    html = admin.post("/units/cbeh/resume", data={"csrf_token": token}, follow_redirects=True).get_data(as_text=True)
    assert "已恢复发布" in html
