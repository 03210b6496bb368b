"""The audit page and the per-post accountability record (问责留痕), HTML and PDF."""

from __future__ import annotations

import re
from typing import Any

from audit_helpers import Attacker, make_trail  # type: ignore[import-not-found]
from flask import g
from sqlalchemy import select, text
from support import ALL_CONFIRMATIONS, run_burst_worker, shanghai_day  # type: ignore[import-not-found]

from hub.db import db
from hub.models import AuditEntry, User


def login(client: Any, username: str) -> Any:
    """Log ``client`` in as ``username`` (the login form itself is tested elsewhere)."""
    u = db.session().scalars(select(User).where(User.username == username)).one()
    with client.session_transaction() as sess:
        sess["_user_id"] = f"{u.id}:{u.session_version}"
        sess["_fresh"] = True
    db.session.remove()
    # The test's app context is reused by the client's requests: drop the user Flask-Login cached in g.
    g.pop("_login_user", None)
    return client


def published_post(world: Any, app: Any) -> dict[str, Any]:
    api = world["api"]
    post = api["editor"].post("/posts", json={"title": "关于开展森林防火宣传的通知", "author": "旗林草局",
                                              "content": "<p>请各单位做好森林防火宣传。</p>",
                                              "account_ids": world["accounts"][:1]}).get_json()
    h = post["revision"]["hash"]
    assert api["editor"].post(f"/posts/{post['id']}/submit").status_code == 200
    for i, who in enumerate(["r1", "r2", "r3"]):
        r = api[who].post(f"/posts/{post['id']}/approve",
                          json={"revision_hash": h, "checks": ALL_CONFIRMATIONS, "comment": f"第{i + 1}审同意"})
        assert r.status_code == 200, r.get_json()
    run_burst_worker(app)
    final = api["editor"].get(f"/posts/{post['id']}").get_json()
    assert final["status"] == "published", final
    db.session.remove()
    return final


def test_audit_page_for_supervisor_with_filters_and_links(world: Any, app: Any, client: Any) -> None:
    post = published_post(world, app)
    login(client, "supervisor")
    r = client.get("/audit")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "审计日志" in html and 'id="audit-entries"' in html
    assert f'href="/posts/{post["id"]}"' in html  # entries link to their object
    r = client.get("/audit?action=post.approve")
    rows = re.findall(r'<tr data-seq="(\d+)">', r.get_data(as_text=True))
    assert len(rows) == 3
    assert "post.create" not in r.get_data(as_text=True).split('id="audit-entries"')[1]
    r = client.get(f"/audit?object_type=post&object_id={post['id']}&actor=r2")
    assert len(re.findall(r'<tr data-seq="', r.get_data(as_text=True))) == 1
    r = client.get("/audit?unit=other")
    body = r.get_data(as_text=True)
    assert "创建单位" in body and "陈巴尔虎旗发布" not in body
    today = shanghai_day(post["created_at"])  # the filter takes Asia/Shanghai dates
    r = client.get(f"/audit?from={today}&to={today}&action=post.submit")
    assert len(re.findall(r'<tr data-seq="', r.get_data(as_text=True))) == 1
    r = client.get("/audit?from=2026-99-01")
    assert r.status_code == 200 and "YYYY-MM-DD" in r.get_data(as_text=True)


def test_audit_page_verify_and_paging(world: Any, client: Any, factory: Any) -> None:
    factory.user("regional", "nmg", "supervisor")
    make_trail(60)
    login(client, "regional")
    r = client.get("/audit?verify=1")
    html = r.get_data(as_text=True)
    assert 'id="verify-result" data-ok="1"' in html
    seqs = [int(s) for s in re.findall(r'<tr data-seq="(\d+)">', html)]
    assert len(seqs) == 50 and seqs == sorted(seqs, reverse=True)
    older = re.search(r'href="([^"]+)" id="older-link"', html)
    assert older
    nxt = client.get(older.group(1).replace("&amp;", "&")).get_data(as_text=True)
    more = [int(s) for s in re.findall(r'<tr data-seq="(\d+)">', nxt)]
    assert more and max(more) == min(seqs) - 1


def test_audit_page_scoped_and_forbidden(world: Any, client: Any) -> None:
    login(client, "admin")
    html = client.get("/audit").get_data(as_text=True)
    assert "cbeh" in html and ">other<" not in html
    assert "没有符合条件的记录" in client.get("/audit?unit=other").get_data(as_text=True)
    login(client, "editor")
    r = client.get("/audit")
    assert r.status_code == 403 and "只有管理员和主管单位" in r.get_data(as_text=True)
    assert "审计日志</a>" not in client.get("/").get_data(as_text=True)


def test_accountability_record_html_pdf_json(world: Any, app: Any, client: Any) -> None:
    post = published_post(world, app)
    pid = post["id"]
    login(client, "editor")
    r = client.get(f"/posts/{pid}/accountability")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    for text_ in ("问责留痕记录", "r1", "r2", "r3", "初审", "复审", "终审", "政治关", "保密关",
                  post["revision"]["hash"], post["dispatches"][0]["url"], "第3审同意"):
        assert text_ in html, text_
    assert 'id="acc-verify" data-ok="1"' in html
    assert "/static/accountability.css" in html  # its print layout (no inline <style> under the CSP)
    assert "@media print" in client.get("/static/accountability.css").get_data(as_text=True)
    assert f'href="/posts/{pid}/accountability"' in client.get(f"/posts/{pid}").get_data(as_text=True)
    pdf = client.get(f"/posts/{pid}/accountability.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF") and b"STSong-Light" in pdf.data
    data = client.get(f"/posts/{pid}/accountability.json").get_json()
    assert data["verification"]["ok"] is True
    assert [rv["reviewer"]["username"] for rv in data["reviews"]] == ["r1", "r2", "r3"]
    assert all(rv["revision_hash"] == post["revision"]["hash"] and all(c["ok"] for c in rv["checks"])
               for rv in data["reviews"])
    assert data["dispatches"][0]["url"] == post["dispatches"][0]["url"]
    assert all(e["witnessed"] for e in data["entries"])
    exports = db.session().scalars(select(AuditEntry.summary).where(
        AuditEntry.action == "post.accountability_export")).all()
    assert len(exports) == 2 and "PDF" in exports[0]
    # Supervisors above the unit may see it; other units may not (404, as for the post).
    assert login(client, "supervisor").get(f"/posts/{pid}/accountability").status_code == 200
    login(client, "outsider")
    for suffix in ("", ".pdf", ".json"):
        assert client.get(f"/posts/{pid}/accountability{suffix}").status_code == 404


def test_accountability_record_shows_a_broken_trail(world: Any, app: Any, client: Any) -> None:
    post = published_post(world, app)
    seq = db.session().scalars(select(AuditEntry.seq).where(AuditEntry.action == "post.approve")
                               .order_by(AuditEntry.seq)).first()
    db.session.remove()
    with Attacker().conn() as c:
        c.execute(text("UPDATE audit_entries SET actor_username = 'someone-else' WHERE seq = :s"), {"s": seq})
    login(client, "editor")
    html = client.get(f"/posts/{post['id']}/accountability").get_data(as_text=True)
    assert 'id="acc-verify" data-ok="0"' in html and f"第 {seq} 条" in html
    assert client.get(f"/posts/{post['id']}/accountability.pdf").status_code == 200
