"""Lexicon management for admins (issue 6): add, disable, switch shared rules off per unit,
import/export CSV, versions recorded by findings, audit entries, the page."""

from __future__ import annotations

import html
import json

from checks_helpers import csrf_token, draft, finding, login  # type: ignore[import-not-found]
from sqlalchemy import select

from hub.db import db
from hub.models import AuditEntry, Unit


def _rules(post):
    return {f["rule"] for f in post["findings"]}


def _unit_findings(code, text, is_html=False):
    from hub.checks.service import check_fields

    s = db.session()
    unit = s.scalars(select(Unit).where(Unit.code == code)).one()
    out = check_fields(s, unit.id, {"content": (text, is_html)})
    db.session.remove()
    return out


def test_unit_addition_flags_that_unit_and_below_only(world, factory):
    api = world["api"]
    factory.user("hlbe_admin", "hlbe", "admin")
    hlbe_admin = type(api["admin"])(api["admin"].client, factory.token("hlbe_admin"))
    text = "巴彦淖儿市召开会议"
    assert _unit_findings("cbeh", text) == []
    r = api["admin"].post("/lexicon/entries", json={"unit": "cbeh", "category": "typo", "wrong": "巴彦淖儿",
                                                    "right": "巴彦淖尔", "reason": "地名误写"})
    assert r.status_code == 201, r.get_json()
    entry = r.get_json()
    assert entry["active"] and entry["version_added"].endswith("+1")
    (f,) = _unit_findings("cbeh", text)
    assert f["rule"] == "typo.巴彦淖儿" and f["suggestion"] == "巴彦淖尔" and f["lexicon_version"].endswith("+1")
    assert _unit_findings("other", text) == [] and _unit_findings("hlbe", text) == []
    # An addition of the parent unit reaches its children.
    r = hlbe_admin.post("/lexicon/entries", json={"unit": "hlbe", "category": "ad", "wrong": "团购特惠价"})
    assert r.status_code == 201, r.get_json()
    assert [f["rule"] for f in _unit_findings("other", "团购特惠价")] == ["ad.团购特惠价"]
    assert [f["lexicon_version"] for f in _unit_findings("cbeh", "团购特惠价")] == [entry["version_added"][:-1] + "2"]
    # Posts record it: a cbeh draft is blocked by the unit's addition.
    post = draft(world, content="<p>巴彦淖儿市召开会议。</p>")
    assert "typo.巴彦淖儿" in _rules(post)
    # Disabling the addition: gone from new checks; the row stays with who and when.
    r = api["admin"].post(f"/lexicon/entries/{entry['id']}/disable", json={"reason": "已改为共享词库"})
    assert r.status_code == 200 and r.get_json()["active"] is False and r.get_json()["disabled_by"]["username"] == "admin"
    assert _unit_findings("cbeh", text) == []
    assert api["admin"].post(f"/lexicon/entries/{entry['id']}/disable").status_code == 409
    actions = [e.action for e in db.session().scalars(select(AuditEntry).order_by(AuditEntry.seq))]
    assert actions.count("lexicon.add") == 2 and actions.count("lexicon.disable") == 1
    listing = api["admin"].get("/lexicon?q=巴彦").get_json()
    assert listing["version"].endswith("+3") and [v["number"] for v in listing["versions"]] == [3, 2, 1]
    assert any(a["wrong"] == "巴彦淖儿" and not a["active"] for a in listing["additions"])


def test_who_may_change_the_lexicon(world, factory):
    api = world["api"]
    body = {"unit": "cbeh", "category": "typo", "wrong": "乌兰浩特儿", "right": "乌兰浩特"}
    assert api["editor"].post("/lexicon/entries", json=body).status_code == 403
    assert api["editor"].get("/lexicon").status_code == 403
    assert api["supervisor"].get("/lexicon").status_code == 200  # may browse
    assert api["supervisor"].post("/lexicon/entries", json=body).status_code == 403
    assert api["admin"].post("/lexicon/entries", json={**body, "unit": "other"}).status_code == 404
    assert api["admin"].post("/lexicon/entries", json={**body, "unit": "hlbe"}).status_code == 403
    assert api["admin"].post("/lexicon/entries", json={**body, "unit": "nope"}).status_code == 404
    entry = api["admin"].post("/lexicon/entries", json=body).get_json()
    factory.user("other_admin", "other", "admin")
    other_admin = type(api["admin"])(api["admin"].client, factory.token("other_admin"))
    assert other_admin.post(f"/lexicon/entries/{entry['id']}/disable").status_code == 404


def test_bad_additions_are_refused_with_specific_errors(world):
    api = world["api"]
    base = {"unit": "cbeh", "category": "typo", "wrong": "乌兰浩特儿", "right": "乌兰浩特"}
    cases = [
        ({**base, "category": "nonsense"}, 422, "invalid_category"),
        ({**base, "wrong": "儿"}, 422, "word_too_short"),
        ({**base, "right": ""}, 400, "missing_field"),
        ({**base, "right": "乌兰浩特兒"}, 422, "same_as_wrong"),
        ({**base, "severity": "fatal"}, 422, "invalid_severity"),
        ({**base, "exceptions": "乌兰浩特市"}, 422, "invalid_exceptions"),
        ({**base, "wrong": "攻府", "right": "政府"}, 409, "duplicate_entry"),  # in the shared lexicon
        ({**base, "wrong": "a\tb"}, 422, "invalid_word"),
        ({**base, "surprise": 1}, 400, "unknown_field"),
        ({"unit": "cbeh", "category": "sensitive", "wrong": "某某邪说", "tag": "9.9"}, 422, "invalid_tag"),
        ({"unit": "cbeh", "category": "domain", "wrong": "https://example.org"}, 422, "invalid_domain"),
        ({**base, "wrong": 5}, 400, "invalid_field"),
        ({**base, "reason": "=HYPERLINK(\"http://x\")"}, 422, "invalid_field"),  # CSV formula injection
    ]
    for body, status, code in cases:
        r = api["admin"].post("/lexicon/entries", json=body)
        assert (r.status_code, r.get_json()["error"]["code"]) == (status, code), body
    assert api["admin"].post("/lexicon/entries", json=base).status_code == 201
    r = api["admin"].post("/lexicon/entries", json=base)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "duplicate_entry"
    assert api["admin"].get("/lexicon").get_json()["version"].endswith("+1")  # refusals change nothing


def test_shared_rule_disabled_for_a_unit_and_lifted(world):
    api = world["api"]
    post = draft(world)
    assert "typo.攻府" in _rules(post)
    r = api["admin"].post("/lexicon/disables", json={"unit": "cbeh", "rule": "typo.攻府", "reason": "本地专名"})
    assert r.status_code == 201, r.get_json()
    d = r.get_json()
    post = api["editor"].get(f"/posts/{post['id']}").get_json()
    assert "typo.攻府" not in _rules(post) and "outdated.党史教育" in _rules(post)
    assert finding(post["findings"], "outdated.党史教育")["lexicon_version"].endswith("+1")
    assert [f["rule"] for f in _unit_findings("other", "攻府")] == ["typo.攻府"]
    r = api["admin"].post("/lexicon/disables", json={"unit": "cbeh", "rule": "typo.攻府", "reason": "again"})
    assert r.status_code == 409
    for rule in ("pii.id_card", "secret.mark", "no.such.rule"):
        r = api["admin"].post("/lexicon/disables", json={"unit": "cbeh", "rule": rule, "reason": "x"})
        assert r.status_code == 422 and r.get_json()["error"]["code"] == "unknown_rule"
    assert api["admin"].post("/lexicon/disables", json={"unit": "cbeh", "rule": "typo.攻府"}).status_code == 400
    assert api["admin"].post(f"/lexicon/disables/{d['id']}/lift").status_code == 200
    assert api["admin"].post(f"/lexicon/disables/{d['id']}/lift").status_code == 409
    post = api["editor"].get(f"/posts/{post['id']}").get_json()
    assert "typo.攻府" in _rules(post)
    assert finding(post["findings"], "typo.攻府")["lexicon_version"].endswith("+2")
    actions = {e.action for e in db.session().scalars(select(AuditEntry))}
    assert {"lexicon.rule_disable", "lexicon.rule_enable"} <= actions


def test_domain_and_source_additions(world):
    api = world["api"]
    content = '<p>来源：草原晨报</p><p><a href="https://www.example.org/a">链接</a></p>'
    assert {f["rule"] for f in _unit_findings("cbeh", content, True)} == {"link.source_unapproved", "link.external"}
    for body in ({"unit": "cbeh", "category": "domain", "wrong": "Example.org"},
                 {"unit": "cbeh", "category": "source", "wrong": "草原晨报"}):
        assert api["admin"].post("/lexicon/entries", json=body).status_code == 201
    assert _unit_findings("cbeh", content, True) == []


def test_csv_import_is_all_or_nothing_and_export_round_trips(world, factory):
    api = world["api"]
    good = ("category,wrong,right,severity,reason,exceptions,tag,since\n"
            "typo,乌兰浩特儿,乌兰浩特,block,地名,,,\n"
            "outdated,旗畜牧局,旗农牧和科技局,,机构改革,,,2019-03\n"
            "sensitive,某某邪说,,,,,6.7,\n"
            "typo,攻府,政府,,,,,\n"  # in the shared lexicon: skipped
            "typo,乌兰浩特儿,乌兰浩特,,,,,\n")  # repeated in the file: skipped
    bad = good + "typo,儿,而,,,,,\nnonsense,某词,,,,,,\n"
    r = api["admin"].client.post("/api/v1/lexicon/import?unit=cbeh", data=bad.encode(),
                                 headers={**api["admin"]._h(), "Content-Type": "text/csv"})
    assert r.status_code == 422
    err = r.get_json()["error"]
    assert err["code"] == "invalid_rows" and "第 7 行" in err["message"] and "第 8 行" in err["message"]
    assert api["admin"].get("/lexicon").get_json()["additions"] == []
    r = api["admin"].client.post("/api/v1/lexicon/import?unit=cbeh", data=("\ufeff" + good).encode(),
                                 headers=api["admin"]._h())
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["added"] == 3 and r.get_json()["skipped"] == 2 and r.get_json()["version"].endswith("+1")
    for raw in (b"", b"\xff\xfe", b"wrong,right\nx,y\n"):
        r = api["admin"].client.post("/api/v1/lexicon/import?unit=cbeh", data=raw, headers=api["admin"]._h())
        assert r.status_code == 422, raw
    exported = api["admin"].get("/lexicon/export").get_data(as_text=True)
    lines = exported.lstrip("\ufeff").splitlines()
    assert lines[0] == "scope,category,wrong,right,severity,reason,exceptions,tag,since"
    assert "cbeh,sensitive,某某邪说,,,,,6.7," in lines and len(lines) == 4
    shared = api["admin"].get("/lexicon/export?shared=1").get_data(as_text=True)
    assert "shared,typo,攻府,政府,block," in shared and "shared,source,新华社" in shared
    # Round trip: the export imports into another unit as it is.
    factory.user("hlbe_admin", "hlbe", "admin")
    hlbe_admin = type(api["admin"])(api["admin"].client, factory.token("hlbe_admin"))
    r = hlbe_admin.client.post("/api/v1/lexicon/import?unit=hlbe", data=exported.encode(), headers=hlbe_admin._h())
    assert r.status_code == 200 and r.get_json()["added"] == 3
    assert api["editor"].get("/lexicon/export").status_code == 403
    import_entry = next(e for e in db.session().scalars(select(AuditEntry)) if e.action == "lexicon.import")
    details = import_entry.details if isinstance(import_entry.details, dict) else json.loads(import_entry.details)
    assert details["added"] == 3


def test_lexicon_page_for_admins(world, client):
    login(client, "editor")
    assert client.get("/lexicon").status_code == 404
    login(client, "admin")
    page = client.get("/lexicon").get_data(as_text=True)
    assert "词库管理" in page and 'id="lexicon-add"' in page and "typo.攻府" in page
    token = csrf_token(page)
    r = client.post("/lexicon/entries", data={"csrf_token": token, "unit": "cbeh", "category": "typo",
                                              "wrong": "乌兰浩特儿", "right": "乌兰浩特", "severity": "",
                                              "tag": "", "since": "", "reason": "地名", "exceptions": ""})
    assert r.status_code == 302
    page = client.get("/lexicon").get_data(as_text=True)
    assert "乌兰浩特儿" in page and "+1" in page
    r = client.post("/lexicon/entries", data={"csrf_token": token, "unit": "cbeh", "category": "typo",
                                              "wrong": "儿", "right": "而"})
    page = html.unescape(client.get("/lexicon").get_data(as_text=True))
    assert "词条至少需要 2 个字符" in page
    page = client.get("/lexicon?category=outdated&q=党史").get_data(as_text=True)
    assert "outdated.党史教育" in page and "typo.攻府" not in page
    r = client.get("/lexicon/export.csv?shared=1")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    login(client, "supervisor")
    page = client.get("/lexicon").get_data(as_text=True)
    assert "词库管理" in page and 'id="lexicon-add"' not in page
