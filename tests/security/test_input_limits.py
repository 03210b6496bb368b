"""Input a user can type gets a clear 4xx and changes nothing (issue 20): ids beyond 64 bits on every
``<int:...>`` route, lone surrogates and deep nesting in JSON, dates out of range, non-ASCII digits
as ids, C0 control characters in titles; the Atom feed stays valid XML whatever a stored title holds."""

from __future__ import annotations

import re
from typing import Any
from xml.etree import ElementTree as ET

from sqlalchemy import func, select
from support import PASSWORD

from hub.db import db
from hub.models import AuditEntry, Post, utcnow

HUGE = str(2**64 + 7)
JUST_OVER = str(2**31)  # the id columns are INTEGER (32 bits on PostgreSQL)


def _counts() -> tuple[int, int]:
    s = db.session()
    return s.scalar(select(func.count()).select_from(Post)) or 0, s.scalar(
        select(func.count()).select_from(AuditEntry)) or 0


def _login(client: Any, username: str) -> None:
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 302


def _post(world: dict[str, Any], **fields: Any) -> Any:
    body = {"title": "标题", "content": "<p>正文</p>", "account_ids": world["accounts"][:1], **fields}
    return world["api"]["editor"].post("/posts", json=body)


def test_huge_ids_on_every_int_route_answer_404(app: Any, world: dict[str, Any], client: Any) -> None:
    api = world["api"]["admin"]
    rules = [r for r in app.url_map.iter_rules() if "<int:" in r.rule]
    assert len(rules) > 40
    _login(client, "admin")
    before = _counts()
    for rule in rules:
        path = re.sub(r"<int:\w+>", HUGE, rule.rule)
        path = re.sub(r"<(?:\w+:)?\w+>", "x", path)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if path.startswith("/api/v1"):
                r = api.client.open(path, method=method, headers=api._h(), json={})
            else:
                r = client.open(path, method=method, data={})
            assert r.status_code == 404, (method, path, r.status_code)
    anon = app.test_client()
    for n in (HUGE, JUST_OVER):
        for path in (f"/feeds/accounts/{n}.atom", f"/wechat/callback/{n}", f"/media/{n}"):
            assert anon.get(path).status_code == 404, path
        assert api.get(f"/posts/{n}").status_code == 404
    assert anon.post(f"/wechat/callback/{HUGE}", data=b"<xml/>").status_code == 404
    assert _counts() == before


def test_lone_surrogate_in_json_is_a_400(world: dict[str, Any]) -> None:
    api = world["api"]["editor"]
    before = _counts()
    raw = '{"title": "\\ud800 标题", "content": "<p>x</p>", "account_ids": [' + str(world["accounts"][0]) + "]}"
    r = api.client.post("/api/v1/posts", data=raw, headers={**api._h(), "Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.get_json()["error"]["code"] == "invalid_unicode"
    assert "代理字符" in r.get_json()["error"]["message"]
    r = api.post("/posts", json={"title": "空\x00字符", "content": "<p>x</p>", "account_ids": world["accounts"]})
    assert r.status_code == 400 and "空字符" in r.get_json()["error"]["message"]
    # as a key too, and in a lenient body (the service refuses it after its own checks)
    raw = '{"\\udfff": 1}'
    r = api.client.post("/api/v1/posts", data=raw, headers={**api._h(), "Content-Type": "application/json"})
    assert r.status_code == 400
    assert _counts() == before


def test_deeply_nested_json_is_a_400(world: dict[str, Any]) -> None:
    api = world["api"]["editor"]
    before = _counts()
    for depth in (40, 100_000):
        raw = '{"title": ' + "[" * depth + "]" * depth + "}"
        r = api.client.post("/api/v1/posts", data=raw, headers={**api._h(), "Content-Type": "application/json"})
        assert r.status_code == 400, depth
        assert r.get_json()["error"]["code"] == "json_too_deep"
    assert _counts() == before


def test_dates_out_of_range(world: dict[str, Any]) -> None:
    api = world["api"]["editor"]
    before = _counts()
    for value in ("0001-01-01T00:00:00+08:00", "0001-01-01T00:00:00", "9999-12-31T23:59:59-08:00"):
        r = _post(world, publish_at=value)
        assert r.status_code == 400, value
        assert r.get_json()["error"]["code"] == "invalid_publish_at"
        assert "范围" in r.get_json()["error"]["message"]
    assert _counts() == before
    admin = world["api"]["admin"]
    for q in ("to=9999-12-31", "from=0001-01-01", "from=2026-01-01&to=9999-12-31"):
        r = admin.get("/audit?" + q)
        assert r.status_code == 400, q
        assert r.get_json()["error"]["code"] == "invalid_date"
    assert admin.get(f"/audit?after={HUGE}").status_code == 400
    r = api.post("/posts", json={"title": "t", "content": "<p>x</p>", "account_ids": world["accounts"][:1]})
    assert r.status_code == 201


def test_cover_as_non_ascii_digits_or_huge_id_is_refused(world: dict[str, Any]) -> None:
    before = _counts()
    for cover in ("²", "١٢", HUGE):
        r = _post(world, cover=cover)
        assert 400 <= r.status_code < 500 and r.status_code != 404, (cover, r.status_code)
        assert r.get_json()["error"]["code"] in ("invalid_cover", "unknown_media"), cover
    for ids in ([2**70], [2**63], [2**31]):
        r = _post(world, account_ids=ids)
        assert r.status_code == 400 and r.get_json()["error"]["code"] == "number_out_of_range"
    r = _post(world, cover=2**70)
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "number_out_of_range"
    assert _counts() == before


def test_control_characters_in_titles_are_refused(world: dict[str, Any], client: Any) -> None:
    before = _counts()
    for title in ("标题\x01", "a\x1bb", "换\n行", "\x7f"):
        r = _post(world, title=title)
        assert r.status_code == 400, repr(title)
        err = r.get_json()["error"]
        assert err["code"] == "control_character" and err["field"] == "title"
        assert "控制字符" in err["message"] and "U+00" in err["message"]
    r = _post(world, variants={"wechat": {"title": "x\x08"}})
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "variants.wechat.title"
    r = _post(world, articles=[{"title": "y\x01", "content": "<p>z</p>"}])
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "articles.0.title"
    assert _counts() == before
    # the web form says so too
    _login(client, "editor")
    before = _counts()
    html = client.get("/posts/new").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    r = client.post("/posts/new", data={"title": "表单\x07标题", "content": "<p>x</p>", "csrf_token": token,
                                        "account_ids": str(world["accounts"][0])})
    assert r.status_code in (200, 400)
    assert "控制字符" in r.get_data(as_text=True)
    assert _counts() == before
    # a summary may hold line breaks
    r = _post(world, summary="第一行\n第二行")
    assert r.status_code == 201


def test_atom_feed_stays_valid_xml_for_old_titles(world: dict[str, Any], client: Any) -> None:
    """A title stored before titles were checked, with every C0 control character: the feed still parses."""
    from hub.models import Dispatch, Revision

    api = world["api"]["editor"]
    r = _post(world)
    assert r.status_code == 201
    pid = r.get_json()["id"]
    s = db.session()
    post = s.get(Post, pid)
    rev = s.get(Revision, post.current_revision_id)
    # every C0 character but NUL (no PostgreSQL text holds it) and a non-character
    bad = "".join(chr(c) for c in range(1, 32)) + "\ufffe 旧标题"
    rev.title = bad
    rev.summary = "摘要\x0b"
    rev.content = "<p>正文\x0c</p>"
    d = s.scalars(select(Dispatch).where(Dispatch.revision_id == rev.id)).first()
    if d is None:
        d = Dispatch(post_id=pid, revision_id=rev.id, account_id=world["accounts"][0], status="published")
        s.add(d)
    d.status, d.published_at = "published", utcnow()
    d.url = "https://mp.weixin.qq.com/s/x\x01"
    s.commit()
    assert api  # the feed is public
    r = client.get(f"/feeds/accounts/{world['accounts'][0]}.atom")
    assert r.status_code == 200
    root = ET.fromstring(r.data)
    titles = [e.text for e in root.iter("{http://www.w3.org/2005/Atom}title")]
    assert any(t and "旧标题" in t for t in titles), titles


def test_csv_answers_are_documented_with_one_charset(world: dict[str, Any], client: Any) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    admin = world["api"]["admin"]
    for path, query in (("/accounts/register", {"format": "csv"}), ("/lexicon/export", {})):
        r = admin.get(path, query_string=query)
        assert r.status_code == 200, path
        assert r.headers["Content-Type"] == "text/csv; charset=utf-8", r.headers["Content-Type"]
        assert "text/csv" in spec["paths"][path]["get"]["responses"]["200"]["content"], path
    _login(client, "admin")
    r = client.get("/accounts/register", query_string={"format": "csv"})
    if r.status_code == 200:
        assert r.headers["Content-Type"].count("charset") == 1


def test_nul_in_queries_and_forms_is_a_400(world: dict[str, Any], client: Any) -> None:
    admin = world["api"]["admin"]
    r = admin.get("/audit", query_string={"actor": "a\x00b"})
    assert r.status_code == 400 and "空字符" in r.get_json()["error"]["message"]
    _login(client, "editor")
    before = _counts()
    html = client.get("/posts/new").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    r = client.post("/posts/new", data={"title": "空\x00", "content": "<p>x</p>", "csrf_token": token,
                                        "account_ids": str(world["accounts"][0])})
    assert r.status_code == 400
    assert _counts() == before
