"""Video posts and manual-publish accounts (issue 14): a 视频号 account opened and filed level by level,
a video post to it through 三审, the dispatch waiting as awaiting_manual until an editor records its
URL, the hub fetching that URL, the audit trail naming who did each step; a changed video voids the
approvals, and the worker refuses a video whose stored bytes changed after approval."""

from __future__ import annotations

import http.server
import io
from pathlib import Path
from typing import Any

import pytest
from support import Api, photo, run_burst_worker, serving

from hub.db import db
from hub.models import AuditEntry, Dispatch, Media, User

VIDEOS = Path(__file__).resolve().parent.parent / "data" / "video"
BLUE = (VIDEOS / "blue-2s.mp4").read_bytes()
RED = (VIDEOS / "red-3s.mp4").read_bytes()
TITLE = "草原防火 人人有责"


@pytest.fixture
def org(factory: Any, client: Any) -> dict[str, Any]:
    factory.unit("nmg", "内蒙古自治区", kind="region")
    factory.unit("hlbe", "呼伦贝尔市", parent="nmg", kind="league")
    factory.unit("cbeh", "陈巴尔虎旗", parent="hlbe", kind="banner")
    factory.unit("other", "其他旗", parent="hlbe", kind="banner")
    people = {"editor": ("cbeh", "editor"), "r1": ("cbeh", "reviewer"), "r2": ("cbeh", "reviewer"),
              "r3": ("cbeh", "reviewer"), "admin": ("cbeh", "admin"), "sup_l": ("hlbe", "supervisor"),
              "sup_r": ("nmg", "supervisor"), "outsider": ("other", "editor")}
    apis = {}
    for name, (unit, role) in people.items():
        factory.user(name, unit, role, name=f"{name} 姓名")
        apis[name] = Api(client, factory.token(name))
    return {"api": apis, "client": client, "factory": factory}


def login(client: Any, username: str) -> Any:
    """Sign ``client`` in as ``username`` (the login form itself is tested elsewhere)."""
    from flask import g
    from sqlalchemy import select

    u = db.session().scalars(select(User).where(User.username == username)).one()
    with client.session_transaction() as sess:
        sess["_user_id"] = f"{u.id}:{u.session_version}"
        sess["_fresh"] = True
    db.session.remove()
    g.pop("_login_user", None)
    return client


def upload(org: dict[str, Any], data: bytes, name: str = "v.mp4", who: str = "editor") -> Any:
    api = org["api"][who]
    return org["client"].post("/api/v1/media", data={"file": (io.BytesIO(data), name)},
                              headers={"Authorization": f"Bearer {api.token}"}, content_type="multipart/form-data")


def open_manual(org: dict[str, Any], platform_name: str = "视频号") -> int:
    api = org["api"]
    r = api["admin"].post("/accounts", {"platform": "manual", "platform_name": platform_name,
                                        "name": "陈巴尔虎旗发布", "unit": "cbeh", "responsible_person": "张三"})
    assert r.status_code == 201, r.get_json()
    acc = r.get_json()
    assert acc["status"] == "pending" and acc["platform_name"] == platform_name
    assert [s["unit"]["code"] for s in acc["filing"]["steps"]] == ["cbeh", "hlbe", "nmg"]
    assert api["sup_l"].post(f"/accounts/{acc['id']}/filing/approve").get_json()["status"] == "pending"
    done = api["sup_r"].post(f"/accounts/{acc['id']}/filing/approve").get_json()
    assert done["status"] == "active"
    return int(acc["id"])


def through_review(org: dict[str, Any], post: dict[str, Any]) -> dict[str, Any]:
    api = org["api"]
    assert api["editor"].post(f"/posts/{post['id']}/submit").status_code == 200
    body: dict[str, Any] = {}
    for name in ("r1", "r2", "r3"):
        r = api[name].post(f"/posts/{post['id']}/approve", {
            "revision_hash": post["revision"]["hash"],
            "checks": {"political": True, "legal": True, "policy": True, "secrecy": True, "wording": True}})
        assert r.status_code == 200, (name, r.get_json())
        body = r.get_json()
    return body


class Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        body = "<html><head><title>草原防火 人人有责 - 视频号</title></head><body>ok</body></html>".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_video_post_to_a_manual_account_waits_until_an_editor_records_its_url(org: dict[str, Any], app: Any) -> None:
    api = org["api"]
    acc_id = open_manual(org)
    # Upload: an MP4 is a video (hash, size, duration); the same bytes are the same media; an image stays an image.
    r = upload(org, BLUE)
    assert r.status_code == 201, r.get_json()
    video = r.get_json()
    assert video["kind"] == "video" and video["bytes"] == len(BLUE) and abs(video["duration"] - 2.0) < 0.2
    assert upload(org, BLUE, "again.mp4").get_json()["id"] == video["id"]
    img = upload(org, photo(30), "p.jpg").get_json()
    assert img["kind"] == "image" and img["bytes"] > 0
    with db.transaction() as s:
        m = s.get(Media, video["id"])
        assert m is not None and m.data == b"" and m.path
    # The reviewer's player gets the exact file, with HTTP ranges.
    c = org["client"]
    login(c, "r1")
    ranged = c.get(video["url"], headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 206 and ranged.data == BLUE[:100]

    post = api["editor"].post("/posts", {"title": TITLE, "content": "<p>草原防火，人人有责。</p>",
                                         "summary": "防火宣传短视频", "account_ids": [acc_id], "video": video["id"],
                                         "cover": img["id"]}).get_json()
    assert post["revision"]["video"] == video["id"] and post["revision"]["video_sha256"] == video["sha256"]
    page = c.get(f"/review/{post['id']}").get_data(as_text=True)
    assert 'id="review-player"' in page and video["url"] in page

    # Before approval nothing is released: no dispatch to record.
    final = through_review(org, post)
    assert final["status"] in ("approved", "publishing")
    run_burst_worker(app)
    p = api["editor"].get(f"/posts/{post['id']}").get_json()
    (d,) = p["dispatches"]
    assert d["status"] == "awaiting_manual" and p["status"] == "publishing"
    # The dispatch page shows what to copy, and the 校验码 instead of a raw hash.
    login(c, "editor")
    html = c.get(f"/dispatches/{d['id']}").get_data(as_text=True)
    assert "校验码" in html and TITLE in html and 'id="manual-form"' in html and post["revision"]["hash"] not in html
    assert "需要人工发布" in c.get(f"/posts/{post['id']}").get_data(as_text=True)

    # Who may record: an editor of the post's unit; a reviewer is 403, another unit's editor 404; bad URL 422.
    assert api["r1"].post(f"/dispatches/{d['id']}/manual", {"url": "https://x.example/1"}).status_code == 403
    assert api["outsider"].post(f"/dispatches/{d['id']}/manual", {"url": "https://x.example/1"}).status_code == 404
    r = api["editor"].post(f"/dispatches/{d['id']}/manual", {"url": "javascript:alert(1)"})
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "invalid_url"
    assert api["editor"].post(f"/dispatches/{d['id']}/manual", {}).status_code == 400

    with serving(lambda h, p: http.server.ThreadingHTTPServer((h, p), Page)) as base:
        url = f"{base}/video/123"
        r = api["editor"].post(f"/dispatches/{d['id']}/manual", {"url": url, "published_at": "2026-12-01T10:30:00"})
        assert r.status_code == 200, r.get_json()
        out = r.get_json()
        assert out["status"] == "published" and out["url"] == url and out["manual_by"]["username"] == "editor"
        run_burst_worker(app)  # the hub fetches the URL
    got = api["editor"].get(f"/dispatches/{d['id']}").get_json()
    assert got["manual_check"]["status"] == 200 and "草原防火" in got["manual_check"]["title"]
    assert api["editor"].get(f"/posts/{post['id']}").get_json()["status"] == "published"
    # Recorded once: a second record is refused.
    r = api["editor"].post(f"/dispatches/{d['id']}/manual", {"url": url})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_awaiting_manual"

    # The audit trail names who did each step.
    with db.transaction() as s:
        names = {u.id: u.username for u in s.query(User)}
        entries = [(e.action, names.get(e.actor_id)) for e in s.query(AuditEntry).order_by(AuditEntry.seq)
                   if (e.object_type == "post" and e.object_id == str(post["id"]))
                   or (e.object_type == "dispatch" and e.object_id == str(d["id"]))]
        assert ("post.create", "editor") in entries and ("post.submit", "editor") in entries
        assert {("post.approve", n) for n in ("r1", "r2", "r3")} <= set(entries)
        assert ("dispatch.awaiting_manual", None) in entries
        assert ("dispatch.published", "editor") in entries and ("dispatch.manual_check", None) in entries
        row = s.get(Dispatch, d["id"])
        assert row is not None and row.published_at is not None and row.published_at.hour == 2  # 10:30 Beijing

    # The silence monitor and the daily re-scan count it as a publication.
    from hub.checks.jobs import _targets
    from hub.models import Account, utcnow
    from hub.oversight import monitor
    with db.transaction() as s:
        acc = s.get(Account, acc_id)
        (st,) = monitor.states(s, [acc], monitor.today())
        assert st.last_published_at is not None
        from datetime import timedelta
        assert (post["id"], row.revision_id) in _targets(s, utcnow() - timedelta(days=30))
    # The accountability record (谁发布) names the editor who published by hand.
    record = login(c, "editor").get(f"/posts/{post['id']}/accountability").get_data(as_text=True)
    assert "人工发布：editor 姓名" in record and "视频号" in record
    # Register, 监测台 and exports name the platform as the admin did.
    login(c, "sup_l")
    assert "视频号（人工发布）" in c.get("/accounts/register").get_data(as_text=True)
    assert "视频号（人工发布）" in c.get("/monitor").get_data(as_text=True)


def test_record_refused_before_release_for_non_manual_and_after_withdraw(org: dict[str, Any], app: Any) -> None:
    api = org["api"]
    acc_id = open_manual(org, "头条号")
    wechat = org["factory"].account("cbeh", "陈巴尔虎旗公众号")
    video = upload(org, BLUE).get_json()
    # A video post to WeChat is refused before review, with the reason.
    r = api["editor"].post("/posts", {"title": TITLE, "content": "<p>x</p>", "account_ids": [wechat.id],
                                      "video": video["id"]})
    assert r.status_code == 422 and "不能通过本系统发布视频" in r.get_json()["error"]["message"]
    # Approved for later: the dispatch is still pending, not released: 409.
    later = api["editor"].post("/posts", {"title": TITLE, "content": "<p>x</p>", "account_ids": [acc_id, wechat.id],
                                          "publish_at": "2099-01-01T08:00:00"}).get_json()
    through_review(org, later)
    ds = {d["platform"]: d for d in api["editor"].get(f"/posts/{later['id']}").get_json()["dispatches"]}
    r = api["editor"].post(f"/dispatches/{ds['manual']['id']}/manual", {"url": "https://x.example/1"})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_awaiting_manual"
    r = api["editor"].post(f"/dispatches/{ds['wechat']['id']}/manual", {"url": "https://x.example/1"})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_manual"
    # Released, then withdrawn: refused.
    now = api["editor"].post("/posts", {"title": TITLE, "content": "<p>y</p>", "account_ids": [acc_id],
                                        "video": video["id"]}).get_json()
    through_review(org, now)
    run_burst_worker(app)
    (d,) = api["editor"].get(f"/posts/{now['id']}").get_json()["dispatches"]
    assert d["status"] == "awaiting_manual"
    assert api["admin"].post(f"/posts/{now['id']}/withdraw", {"reason": "内容需调整"}).status_code == 200
    r = api["editor"].post(f"/dispatches/{d['id']}/manual", {"url": "https://x.example/2"})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "post_withdrawn"
    assert api["editor"].get(f"/dispatches/{d['id']}").get_json()["status"] == "cancelled"


def test_changing_the_video_after_approval_voids_the_approvals(org: dict[str, Any]) -> None:
    api = org["api"]
    acc_id = open_manual(org)
    blue, red = upload(org, BLUE).get_json(), upload(org, RED, "r.mp4").get_json()
    post = api["editor"].post("/posts", {"title": TITLE, "content": "<p>x</p>", "account_ids": [acc_id],
                                         "video": blue["id"], "publish_at": "2099-01-01T08:00:00"}).get_json()
    assert through_review(org, post)["status"] == "approved"
    r = api["editor"].patch(f"/posts/{post['id']}", {"video": red["id"]})
    assert r.status_code == 200, r.get_json()
    after = r.get_json()
    assert after["status"] == "draft" and after["approvals"] == []
    assert after["revision"]["hash"] != post["revision"]["hash"] and after["revision"]["video_sha256"] == red["sha256"]
    assert all(a["voided"] for a in after["approval_history"])


def test_worker_refuses_a_video_whose_stored_bytes_changed(org: dict[str, Any], app: Any) -> None:
    api = org["api"]
    acc_id = open_manual(org)
    video = upload(org, RED, "r.mp4").get_json()
    post = api["editor"].post("/posts", {"title": TITLE, "content": "<p>x</p>", "account_ids": [acc_id],
                                         "video": video["id"]}).get_json()
    through_review(org, post)
    with db.transaction() as s:  # someone alters the stored file after approval, before the worker runs
        m = s.get(Media, video["id"])
        assert m is not None
        from hub.posts.video import video_file
        path = video_file(m)
    path.write_bytes(BLUE)
    run_burst_worker(app)
    (d,) = api["editor"].get(f"/posts/{post['id']}").get_json()["dispatches"]
    assert d["status"] == "failed" and "校验值" in (d["error"] or "")
    with db.transaction() as s:
        assert s.query(AuditEntry).filter(AuditEntry.action == "dispatch.refused",
                                          AuditEntry.object_id == str(d["id"])).count() == 1


def test_a_non_mp4_and_an_oversized_video_are_refused(org: dict[str, Any], app: Any) -> None:
    r = upload(org, b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100, "broken.mp4")
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "invalid_video"
    app.config["HUB_MAX_VIDEO_MB"] = 1
    r = upload(org, BLUE[:8] + b"\x00" * (2 * 1024 * 1024), "big.mp4")
    assert r.status_code == 413
    assert "MB" in r.get_json()["error"]["message"]


def test_the_account_form_lists_every_platform_and_opens_a_manual_account(org: dict[str, Any]) -> None:
    c = login(org["client"], "admin")
    page = c.get("/accounts/new").get_data(as_text=True)
    for label in ("微信公众号", "微博", "抖音", "快手", "网站", "人工发布"):
        assert f">{label}</option>" in page
    assert page.count('<li data-platform="') == 6 and "视频号、头条号、人民号" in page
    r = c.post("/accounts/new", data={"csrf_token": _csrf(c, page), "unit": "cbeh", "platform": "manual",
                                      "platform_name": "人民号", "name": "陈巴尔虎旗人民号", "is_main": "yes"})
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    detail = c.get(r.headers["Location"]).get_data(as_text=True)
    assert "人民号（人工发布）" in detail
    # A manual account needs its platform name; another platform may not have one.
    api = org["api"]["admin"]
    r = api.post("/accounts", {"platform": "manual", "name": "x", "unit": "cbeh"})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "missing_platform_name"
    r = api.post("/accounts", {"platform": "wechat", "platform_name": "视频号", "name": "x", "unit": "cbeh",
                               "api_base": "http://127.0.0.1:9"})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_platform_name"
    # One main account per manual platform name: a second 人民号 is refused, a 视频号 is not.
    r = api.post("/accounts", {"platform": "manual", "platform_name": "人民号", "name": "y", "unit": "cbeh"})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "main_account_exists"
    assert api.post("/accounts", {"platform": "manual", "platform_name": "视频号", "name": "z",
                                  "unit": "cbeh"}).status_code == 201


def _csrf(client: Any, page: str) -> str:
    import re

    m = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert m
    return m.group(1)


def test_the_dispatch_page_form_records_a_manual_publication_with_a_screenshot(org: dict[str, Any], app: Any) -> None:
    api = org["api"]
    acc_id = open_manual(org)
    post = api["editor"].post("/posts", {"title": TITLE, "content": "<p>图文稿件，人工发到头条号。</p>",
                                         "account_ids": [acc_id]}).get_json()
    through_review(org, post)
    run_burst_worker(app)
    (d,) = api["editor"].get(f"/posts/{post['id']}").get_json()["dispatches"]
    c = login(org["client"], "editor")
    page = c.get(f"/dispatches/{d['id']}").get_data(as_text=True)
    assert "下一步" in page and "图文稿件，人工发到头条号。" in page
    r = c.post(f"/dispatches/{d['id']}/manual", data={
        "csrf_token": _csrf(c, page), "url": "http://127.0.0.1:9/toutiao/1", "published_at": "",
        "screenshot": (io.BytesIO(photo(40)), "shot.jpg")}, content_type="multipart/form-data")
    assert r.status_code == 302
    after = c.get(f"/dispatches/{d['id']}").get_data(as_text=True)
    assert "已登记人工发布" in after and "查看截图" in after
    got = api["editor"].get(f"/dispatches/{d['id']}").get_json()
    assert got["status"] == "published" and got["url"] == "http://127.0.0.1:9/toutiao/1"
    run_burst_worker(app)  # nothing listens there: recorded as not reachable, the publication stands
    got = api["editor"].get(f"/dispatches/{d['id']}").get_json()
    assert got["status"] == "published" and got["manual_check"]["status"] is None and got["manual_check"]["error"]
    assert "系统未能访问该链接" in c.get(f"/dispatches/{d['id']}").get_data(as_text=True)


def test_the_url_check_never_reaches_private_addresses() -> None:
    from hub.dispatch.jobs.manual import fetch

    for url in ("http://10.1.2.3/x", "http://192.168.0.1/", "http://169.254.169.254/latest/meta-data/"):
        found = fetch(url, 1.0)
        assert found["status"] is None and "内网" in found["error"]


def test_the_admin_sees_dispatches_awaiting_manual_publication_on_the_attention_page(org: dict[str, Any],
                                                                                      app: Any) -> None:
    import re
    from datetime import timedelta

    api = org["api"]
    acc_id = open_manual(org)
    video = upload(org, BLUE).get_json()
    post = api["editor"].post("/posts", {"title": TITLE, "content": "<p>草原防火，人人有责。</p>",
                                         "account_ids": [acc_id], "video": video["id"]}).get_json()
    through_review(org, post)
    run_burst_worker(app)
    (d,) = api["editor"].get(f"/posts/{post['id']}").get_json()["dispatches"]
    assert d["status"] == "awaiting_manual"
    with db.transaction() as s:  # it has waited for a while
        row = s.get(Dispatch, d["id"])
        assert row is not None
        row.updated_at = row.updated_at - timedelta(hours=3, minutes=5)

    c = login(org["client"], "admin")
    html = c.get("/dispatches").get_data(as_text=True)
    table = html.split('id="awaiting-manual"', 1)[1].split("</table>", 1)[0]
    assert f'data-dispatch="{d["id"]}"' in table and TITLE in table and "视频号（人工发布）" in table
    assert re.search(r'class="waited">\s*3\s*小时', table), table
    assert f'href="/dispatches/{d["id"]}#manual"' in table and "打开任务页面" in table
    # The dashboard's panel counts it.
    dash = c.get("/").get_data(as_text=True)
    assert 'id="awaiting-manual-count"' in dash and "有 1 个发布任务等待人工发布" in dash
    # The dispatch page the link leads to shows what to publish, and its editors record the URL there.
    assert 'id="manual-next"' in c.get(f"/dispatches/{d['id']}").get_data(as_text=True)
    assert 'id="manual-form"' in login(org["client"], "editor").get(f"/dispatches/{d['id']}").get_data(as_text=True)
    c = login(org["client"], "admin")

    # Once recorded, it leaves the list and the count.
    r = api["editor"].post(f"/dispatches/{d['id']}/manual", {"url": "https://channels.weixin.qq.com/x/1"})
    assert r.status_code == 200, r.get_json()
    table = c.get("/dispatches").get_data(as_text=True).split('id="awaiting-manual"', 1)[1].split("</table>", 1)[0]
    assert f'data-dispatch="{d["id"]}"' not in table
    assert 'id="awaiting-manual-count"' not in c.get("/").get_data(as_text=True)
