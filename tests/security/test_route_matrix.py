"""Every route in ``app.url_map`` x every role x every relative unit, checked against hub/authz.py.

The org tree: region R > league M > banner L, and league S beside M under R (another branch).
Each role's user sits at M; the objects named in URLs (posts, accounts, units) exist at M (same),
L (below), R (above) and S (other). A route without a row in hub.authz.ENDPOINTS fails here.
"""

from __future__ import annotations

import re
from typing import Any

from checks.checks_helpers import csrf_token, login
from support import Api

from hub.authz import ENDPOINTS, RELATIONS, ROLES, SEES

UNITS = {"same": "m_unit", "below": "l_unit", "above": "r_unit", "other": "s_unit"}
SKIP_METHODS = {"HEAD", "OPTIONS"}


def test_every_endpoint_has_a_row(app):
    endpoints = {r.endpoint for r in app.url_map.iter_rules()}
    missing = sorted(endpoints - set(ENDPOINTS))
    assert not missing, (
        "routes without a row in the authorization table: " + ", ".join(missing)
        + " -- add one row per endpoint to ENDPOINTS in hub/authz.py (who may do it, on which object, "
          "from which relative units)")
    stale = sorted(set(ENDPOINTS) - endpoints)
    assert not stale, "rows in hub/authz.py ENDPOINTS for endpoints that no longer exist: " + ", ".join(stale)


def _org(factory, client) -> dict[str, Any]:
    factory.unit("r_unit", "自治区", kind="region")
    factory.unit("m_unit", "盟", parent="r_unit", kind="league")
    factory.unit("l_unit", "旗", parent="m_unit", kind="banner")
    factory.unit("s_unit", "另一盟", parent="r_unit", kind="league")
    apis: dict[str, Api] = {}
    for role in ROLES:
        factory.user(f"{role}_m", "m_unit", role)
        apis[role] = Api(client, factory.token(f"{role}_m"))
    accounts, posts = {}, {}
    for rel, code in UNITS.items():
        accounts[rel] = factory.account(code, f"{code} 发布").id
        if rel != "same":
            factory.user(f"editor_{code}", code, "editor")
        api = apis["editor"] if rel == "same" else Api(client, factory.token(f"editor_{code}"))
        r = api.post("/posts", json={"title": "关于开展安全生产检查的通知", "content": "<p>请各单位按时报送。</p>",
                                      "account_ids": [accounts[rel]]})
        assert r.status_code == 201, r.get_json()
        posts[rel] = r.get_json()["id"]
    return {"apis": apis, "accounts": accounts, "posts": posts}


def _url(rule: Any, org: dict[str, Any], rel: str) -> str:
    values = {}
    for arg in rule.arguments:
        if arg == "post_id":
            values[arg] = org["posts"][rel]
        elif arg == "account_id":
            values[arg] = org["accounts"][rel]
        elif arg == "code":
            values[arg] = UNITS[rel] if rule.endpoint != "web.set_language" else "zh_CN"
        elif arg == "field":
            values[arg] = "app_secret"
        elif arg == "fmt":
            values[arg] = "csv"
        elif arg in ("filename", "name"):
            values[arg] = "x.png"
        elif arg == "fid":
            values[arg] = "1"
        else:
            values[arg] = 1
    return rule.build(values, append_unknown=False)[1]


def _walk(app, rules, org, role, api_client, web_client, csrf, problems):
    for rule in rules:
        row = ENDPOINTS[rule.endpoint]
        rels = RELATIONS if row.obj is not None else ("same",)
        for method in sorted(rule.methods - SKIP_METHODS):
            for rel in rels:
                url = _url(rule, org, rel)
                is_api = url.startswith("/api/")
                if is_api:
                    headers = {} if role is None else {"Authorization": f"Bearer {org['tokens'][role]}"}
                    r = api_client.open(url, method=method, json={}, headers=headers)
                else:
                    data = {"csrf_token": csrf} if method != "GET" else None
                    r = web_client.open(url, method=method, data=data)
                got = r.status_code
                want = row.expected(role, rel)
                where = f"{method} {url} ({rule.endpoint}) as {role or 'anonymous'} from {rel}: got {got}"
                if got >= 500:
                    problems.append(f"{where}, a 5xx")
                    continue
                if is_api:
                    if want == 403 and got == 404 and row.obj not in SEES:
                        continue  # an object the test does not build (id 1 may not exist): 404 comes first
                    if got == 403 and (r.get_json() or {}).get("error", {}).get("code") == "not_revealable":
                        continue  # per field, not per role: app_secret is never shown, whoever asks
                    if want is not None and got != want:
                        problems.append(f"{where}, table says {want}")
                    elif want is None and got in (401, 403) and not row.public():
                        problems.append(f"{where}, table says allowed")
                    elif want is None and got == 404 and row.obj in ("post", "account", "unit"):
                        problems.append(f"{where}, table says visible")
                else:
                    if want == 401 and not (got in (302, 401) and "/login" in r.headers.get("Location", "/login")):
                        problems.append(f"{where}, anonymous must be sent to the login page")
                    elif want == 404 and method == "GET" and got not in (404, 302):
                        problems.append(f"{where}, table says 404")
                    elif want == 403 and method == "GET" and got == 200 and rule.endpoint != "web.dashboard":
                        problems.append(f"{where}, table says 403")


def test_route_matrix(app, factory, client):
    app.config["HUB_API_LIMIT"] = "1000000 per minute"
    org = _org(factory, client)
    org["tokens"] = {role: org["apis"][role].token for role in ROLES}
    rules = sorted((r for r in app.url_map.iter_rules() if r.endpoint != "static"),
                   key=lambda r: (r.endpoint == "web.logout", r.endpoint, r.rule))
    problems: list[str] = []
    anon = app.test_client()
    _walk(app, rules, org, None, anon, anon, csrf_token(anon.get("/login").get_data(as_text=True)), problems)
    for role in ROLES:  # editors and reviewers first: the admins' actions must not change what they see
        web = app.test_client()
        login(web, f"{role}_m")
        csrf = csrf_token(web.get("/", follow_redirects=True).get_data(as_text=True))
        _walk(app, rules, org, role, client, web, csrf, problems)
    assert not problems, f"{len(problems)} answers disagree with hub/authz.py:\n" + "\n".join(problems)


def test_405_has_allow_and_a_clear_body(client):
    r = client.put("/api/v1/posts", json={})
    assert r.status_code == 405
    assert set(r.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    err = r.get_json()["error"]
    assert err["code"] == "method_not_allowed" and "GET" in err["message"] and "不支持" in err["message"]
    page = client.delete("/posts")
    assert page.status_code == 405 and "GET" in page.headers["Allow"]
    html = page.get_data(as_text=True)
    assert "不支持该请求方法" in html and "Method Not Allowed" not in html
    assert re.search(r"<html", html)


def test_role_that_can_never_act_is_403_before_the_body(app, factory, client):
    """docs/design.md §8: 403 before 400 -- an editor opening an account with an empty body, a
    reviewer uploading an image without a file, a reviewer reading the audit trail."""
    factory.unit("u1", "旗", kind="banner")
    factory.user("ed", "u1", "editor")
    factory.user("rv", "u1", "reviewer")
    ed, rv = Api(client, factory.token("ed")), Api(client, factory.token("rv"))
    for api, method, path in ((ed, "post", "/accounts"), (rv, "post", "/media"), (rv, "post", "/posts"),
                              (ed, "post", "/lexicon/entries"), (ed, "post", "/inspections")):
        r = getattr(api, method)(path, json={})
        assert r.status_code == 403, (path, r.get_json())
        assert r.get_json()["error"]["message"]
    assert ed.post("/accounts", json={}).get_json()["error"]["code"] == "not_admin"
    assert rv.get("/audit").get_json()["error"]["code"] == "not_auditor"
    # An admin still gets the body's own error.
    factory.user("ad", "u1", "admin")
    r = Api(client, factory.token("ad")).post("/accounts", json={})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "missing_unit"
