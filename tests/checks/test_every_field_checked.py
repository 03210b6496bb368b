"""Every field that may reach a reader is checked (issue 13): platform variants and the source URL
as well as the body, at submit, on the editor's 检查, on the review page and in the daily inspection;
and each target account's rendering is stored with the revision and covered by its hash."""

from __future__ import annotations

from typing import Any

from checks_helpers import finding, login  # type: ignore[import-not-found]
from sqlalchemy import select
from support import ALL_CONFIRMATIONS, run_burst_worker  # type: ignore[import-not-found]

from hub.db import db
from hub.models import InspectionFinding

CLEAN = "<p>请各单位做好冬季森林防火宣传工作。</p>"
VARIANTS = {"weibo": {"text": "联系人身份证110101199003074514，绝密★10年"}, "wechat": {"title": "扫黑险恶专项斗争"}}


def _post(world: dict[str, Any], **extra: Any) -> dict[str, Any]:
    r = world["api"]["editor"].post("/posts", json={"title": "关于做好冬季森林防火工作的通知", "content": CLEAN,
                                                    "account_ids": world["accounts"][:1], **extra})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def test_bad_text_only_in_variants_is_refused_at_submit_with_its_fields(world: dict[str, Any]) -> None:
    post = _post(world, variants=VARIANTS)
    r = world["api"]["editor"].post(f"/posts/{post['id']}/submit")
    assert r.status_code == 422
    err = r.get_json()["error"]
    assert err["code"] == "blocked_by_checks"
    fields = {(f["field"], f["rule"]) for f in err["findings"]}
    assert ("variants.weibo.text", "pii.id_card") in fields
    assert ("variants.weibo.text", "secret.mark") in fields
    assert ("variants.wechat.title", "typo.扫黑险恶") in fields
    pii = finding(err["findings"], "pii.id_card")
    assert VARIANTS["weibo"]["text"][pii["start"]:pii["end"]] == "110101199003074514"
    # The body alone is clean: nothing names it.
    assert not [f for f in err["findings"] if f["field"] == "content"]


def test_bad_source_url_is_refused_at_submit(world: dict[str, Any]) -> None:
    post = _post(world, source_url="https://www.cbeh.gov.cn/攻府/2026/1.html")
    r = world["api"]["editor"].post(f"/posts/{post['id']}/submit")
    assert r.status_code == 422
    assert ("source_url", "typo.攻府") in {(f["field"], f["rule"]) for f in r.get_json()["error"]["findings"]}


def test_editor_check_button_covers_variants_and_source_url(world: dict[str, Any], client: Any) -> None:
    login(client, "editor")
    csrf = client.get("/posts/new").get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    r = client.post("/checks/preview", json={"title": "通知", "text": "正文", "content": "<p>正文</p>",
                                             "variants": VARIANTS, "source_url": "https://www.cbeh.gov.cn/攻府.html"},
                    headers={"X-CSRFToken": csrf})
    assert r.status_code == 200, r.get_data(as_text=True)
    fields = {(f["field"], f["rule"]) for f in r.get_json()["findings"]}
    assert {("variants.weibo.text", "pii.id_card"), ("variants.wechat.title", "typo.扫黑险恶"),
            ("source_url", "typo.攻府")} <= fields
    bad = client.post("/checks/preview", json={"text": "x", "variants": {"weibo": "not an object"}},
                      headers={"X-CSRFToken": csrf})
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "invalid_variants"


def test_renderings_are_stored_hashed_and_shown(world: dict[str, Any], client: Any) -> None:
    api = world["api"]
    post = _post(world, variants={"wechat": {"title": "冬季森林防火提示"}})
    full = api["editor"].get(f"/posts/{post['id']}").get_json()
    h1 = full["revision"]["hash"]
    assert api["editor"].post(f"/posts/{post['id']}/submit").status_code == 200
    from hub.models import Revision

    rev = db.session().scalars(select(Revision).where(Revision.post_id == post["id"])).one()
    rendering = rev.renderings[str(world["accounts"][0])]
    assert rendering["platform"] == "wechat" and rendering["fields"]["title"] == "冬季森林防火提示"
    db.session.remove()
    # The review page shows what will be sent, HTML in a sandboxed frame (no scripts, no overlay).
    login(client, "r1")
    html = client.get(f"/review/{post['id']}").get_data(as_text=True)
    assert "冬季森林防火提示" in html
    assert 'class="rendering-frame" sandbox="allow-same-origin"' in html
    # A change that alters only what one platform is sent changes the hash (approvals bind to it).
    r = api["editor"].patch(f"/posts/{post['id']}", json={"variants": {"wechat": {"title": "冬季防火提示"}}})
    assert r.status_code == 200 and r.get_json()["revision"]["hash"] != h1


def test_daily_inspection_reads_variants_too(world: dict[str, Any], app: Any) -> None:
    """Published content whose lexicon later flags a word in a variant shows in the inspection."""
    api = world["api"]
    post = _post(world, variants={"wechat": {"summary": "部署党史教育工作"}})  # warn only: publishable
    assert api["editor"].post(f"/posts/{post['id']}/submit").status_code == 200
    h = post["revision"]["hash"]
    for who in ("r1", "r2", "r3"):
        r = api[who].post(f"/posts/{post['id']}/approve", json={"revision_hash": h, "checks": ALL_CONFIRMATIONS})
        assert r.status_code == 200, r.get_json()
    run_burst_worker(app)
    assert api["editor"].get(f"/posts/{post['id']}").get_json()["status"] == "published"
    r = api["admin"].post("/scans")
    assert r.status_code == 202, r.get_json()
    run_burst_worker(app)
    rows = db.session().scalars(select(InspectionFinding).where(InspectionFinding.post_id == post["id"])).all()
    assert ("variants.wechat.summary", "outdated.党史教育") in {(f.field, f.rule) for f in rows}
