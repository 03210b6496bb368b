"""The OpenAPI 3.1 description served at /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any


def _err(desc: str) -> dict[str, Any]:
    return {"description": desc, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _op(summary: str, responses: dict[str, str], body: str | None = None, optional_body: bool = False,
        params: list[dict[str, Any]] | None = None, ok_schema: str | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {}}
    for code, desc in responses.items():
        if code.startswith("2"):
            content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ok_schema}"}
                                            if ok_schema else {"type": "object"}}}
            op["responses"][code] = {"description": desc, "content": content}
        else:
            op["responses"][code] = _err(desc)
    if body:
        op["requestBody"] = {"required": not optional_body,
                             "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}}}
    if params:
        op["parameters"] = params
    return op


ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
FIELD = {"name": "field", "in": "path", "required": True, "schema": {"type": "string"}}
COMMON = {"401": "missing or invalid token", "404": "not found or not visible to the caller"}


def spec() -> dict[str, Any]:
    checks = {"type": "object", "required": ["political", "legal", "policy", "secrecy", "wording"],
              "properties": {k: {"type": "boolean"} for k in ("political", "legal", "policy", "secrecy", "wording")}}
    finding = {"type": "object", "properties": {
        "rule": {"type": "string"}, "category": {"type": "string", "enum": [
            "typo", "outdated", "leader", "sensitive", "pii", "secret", "map", "link", "ad"]},
        "severity": {"type": "string", "enum": ["block", "warn", "info"]},
        "start": {"type": "integer"}, "end": {"type": "integer"}, "text": {"type": "string"},
        "suggestion": {"type": ["string", "null"]}, "message": {"type": "string"}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "政务新媒体发布中心 API", "version": "1.0.0",
                 "description": "Times are ISO 8601; a time without an offset means Asia/Shanghai. "
                                "Errors: {\"error\": {\"code\", \"message\", ...}}; status order 401, 404, 403, "
                                "409, 400/422."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                    "type": "object", "required": ["code", "message"],
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                                   "findings": {"type": "array", "items": finding}}}}},
                "Finding": finding,
                "PostCreate": {"type": "object", "required": ["title", "content", "account_ids"], "properties": {
                    "title": {"type": "string"}, "content": {"type": "string", "description": "HTML"},
                    "summary": {"type": "string"}, "author": {"type": "string"}, "category": {"type": "string"},
                    "is_original": {"type": "boolean"}, "source_url": {"type": "string"},
                    "cover": {"type": ["string", "integer"], "description": "data: URL or media id"},
                    "variants": {"type": "object", "additionalProperties": {"type": "object", "properties": {
                        "title": {"type": "string"}, "summary": {"type": "string"}, "text": {"type": "string"}}}},
                    "account_ids": {"type": "array", "items": {"type": "integer"}},
                    "publish_at": {"type": ["string", "null"], "format": "date-time"}}},
                "PostPatch": {"type": "object", "description": "any PostCreate field"},
                "Approve": {"type": "object", "required": ["revision_hash", "checks"], "properties": {
                    "revision_hash": {"type": "string"}, "comment": {"type": "string"}, "checks": checks}},
                "Reason": {"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string"}}},
                "OptionalReason": {"type": "object", "properties": {"reason": {"type": "string"}}},
                "Post": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "unit": {"type": "string"}, "status": {"type": "string"},
                    "revision": {"type": "object"}, "approvals": {"type": "array"},
                    "findings": {"type": "array", "items": finding}, "dispatches": {"type": "array"}}},
                "Checks": {"type": "object", "required": ["content"], "properties": {"content": {"type": "string"}}},
                "AccountCreate": {"type": "object", "required": ["platform", "name", "unit"], "properties": {
                    "platform": {"type": "string"}, "name": {"type": "string"}, "unit": {"type": "string"},
                    "api_base": {"type": "string"}, "is_main": {"type": "boolean"},
                    "justification": {"type": "string"}, "host_unit": {"type": "string"},
                    "operating_unit": {"type": "string"}, "responsible_person": {"type": "string"},
                    "responsible_phone": {"type": "string"}, "certification_name": {"type": "string"},
                    "launch_date": {"type": "string", "format": "date"}, "ipv6": {"type": ["boolean", "null"]}}},
                "Account": {"type": "object"},
                "Credentials": {"type": "object", "additionalProperties": {"type": "string"}},
                "AccountPatch": {"type": "object", "properties": {k: {"type": t} for k, t in (
                    ("name", "string"), ("is_main", "boolean"), ("justification", "string"),
                    ("host_unit", "string"), ("operating_unit", "string"), ("responsible_person", "string"),
                    ("responsible_phone", "string"), ("certification_name", "string"),
                    ("launch_date", "string"), ("ipv6", ["boolean", "null"]), ("api_base", "string"))}},
                "AccountClose": {"type": "object", "required": ["notice_text", "notice_date"], "properties": {
                    "notice_text": {"type": "string"}, "notice_date": {"type": "string", "format": "date"},
                    "reason": {"type": "string"}}},
                "FilingApprove": {"type": "object", "properties": {"comment": {"type": "string"}}},
                "Reveal": {"type": "object", "required": ["password", "reason"], "properties": {
                    "password": {"type": "string", "description": "the caller's own login password"},
                    "reason": {"type": "string"}}},
            },
        },
        "paths": {
            "/posts": {
                "post": _op("Create a post (draft)", {"201": "created", **COMMON, "403": "not an editor",
                                                      "409": "target account not active",
                                                      "400": "bad body", "422": "invalid content"},
                            body="PostCreate", ok_schema="Post"),
                "get": _op("Posts the caller may see", {"200": "ok", "401": COMMON["401"]})},
            "/posts/{id}": {
                "get": _op("A post with revision, approvals, findings and dispatches", {"200": "ok", **COMMON},
                           params=[ID], ok_schema="Post"),
                "patch": _op("Edit: a new revision; approvals void; back to draft",
                             {"200": "ok", **COMMON, "403": "not an editor", "409": "state forbids",
                              "400": "bad body", "422": "invalid"}, body="PostPatch", params=[ID])},
            "/posts/{id}/submit": {"post": _op("Submit for review", {
                "200": "ok", **COMMON, "403": "forbidden", "409": "not draft/rejected",
                "422": "blocked by content checks (error.findings)"}, params=[ID])},
            "/posts/{id}/approve": {"post": _op("Approve the current step", {
                "200": "ok", **COMMON, "403": "role can never approve / own revision",
                "409": "not in review, stale hash, step taken, already acted", "400": "missing hash or check",
                "422": "a check not confirmed"}, body="Approve", params=[ID])},
            "/posts/{id}/reject": {"post": _op("Reject back to the editor", {
                "200": "ok", **COMMON, "403": "forbidden", "409": "state", "400": "missing reason"},
                body="Reason", params=[ID])},
            "/posts/{id}/history": {"get": _op("The post's audit entries", {"200": "ok", **COMMON}, params=[ID])},
            **_review_paths(),
            "/checks": {"post": _op("Run the content checks", {"200": "{findings: [...]}", "401": COMMON["401"],
                                                               "400": "bad body"}, body="Checks")},
            "/accounts": {
                "get": _op("Accounts the caller may see", {"200": "ok", "401": COMMON["401"]}),
                "post": _op("Open an account", {"201": "created", "401": COMMON["401"], "403": "not an admin",
                                                "409": "main account exists", "400": "bad body",
                                                "422": "invalid"}, body="AccountCreate", ok_schema="Account")},
            "/accounts/{id}": {"get": _op("An account (secrets never shown)", {"200": "ok", **COMMON},
                                          params=[ID], ok_schema="Account"),
                               "patch": _op("Change an account: api_base at once; filed data by a change "
                                            "filing (a pending account: refiled)", {
                                   "200": "ok", **COMMON, "403": "not an admin", "409": "closed / main exists",
                                   "400": "unknown or bad field", "422": "invalid"}, body="AccountPatch",
                                   params=[ID], ok_schema="Account")},
            "/accounts/{id}/credentials": {"put": _op("Write-only, partial credential update", {
                "200": "ok", **COMMON, "403": "not an admin", "400": "unknown field"}, body="Credentials",
                params=[ID])},
            "/accounts/{id}/credentials/verify": {"post": _op("A real call to the platform", {
                "200": "{ok, message}", **COMMON, "403": "not an admin"}, params=[ID])},
            "/accounts/{id}/filing/approve": {"post": _op(
                "Approve the due step of the account's filing (备案), lowest level first", {
                    "200": "ok", **COMMON, "403": "not a supervisor on the path / own filing",
                    "409": "not in review, out of turn, step taken, already decided", "400": "bad body"},
                body="FilingApprove", optional_body=True, params=[ID], ok_schema="Account")},
            "/accounts/{id}/filing/reject": {"post": _op("Reject the filing at the due step", {
                "200": "ok", **COMMON, "403": "not a supervisor on the path", "409": "not in review / out of turn",
                "400": "missing reason"}, body="Reason", params=[ID], ok_schema="Account")},
            "/accounts/{id}/filing/resubmit": {"post": _op("Submit a rejected opening filing again", {
                "200": "ok", **COMMON, "403": "not an admin", "409": "not pending / already in review"},
                params=[ID], ok_schema="Account")},
            "/accounts/{id}/filings": {"get": _op("The account's filings with their steps", {
                "200": "{filings}", **COMMON, "403": "not an admin or supervisor"}, params=[ID])},
            "/accounts/{id}/close": {"post": _op("File the closure with its public notice (停更公告)", {
                "200": "ok", **COMMON, "403": "not an admin", "409": "closed", "400": "missing notice"},
                body="AccountClose", params=[ID], ok_schema="Account")},
            "/accounts/{id}/suspend": {"post": _op(
                "Suspend an active account: {reason}; posts cannot target it, queued dispatches are held", {
                    "200": "ok", **COMMON, "403": "not an admin or supervisor over the account's unit",
                    "409": "not active", "400": "missing reason"},
                body="Reason", params=[ID], ok_schema="Account")},
            "/accounts/{id}/resume": {"post": _op(
                "Resume a suspended account: {reason?}; held dispatches are queued again (released: count)", {
                    "200": "ok", **COMMON, "403": "not an admin or supervisor over the account's unit",
                    "409": "not suspended", "400": "bad body"},
                body="OptionalReason", optional_body=True, params=[ID], ok_schema="Account")},
            "/accounts/register": {"get": _op("The account register (备案登记表): json, csv or xlsx", {
                "200": "{columns, accounts} or a file", "401": COMMON["401"], "403": "not an admin or supervisor",
                "404": "unit outside the caller's subtree", "400": "bad filter"}, params=[
                {"name": n, "in": "query", "schema": {"type": "string"}} for n in ("unit", "platform", "status")
            ] + [{"name": "format", "in": "query", "schema": {"type": "string", "enum": ["json", "csv", "xlsx"]}}])},
            "/accounts/{id}/credentials/{field}/rotate": {"post": _op(
                "Generate a console password: stored, shown once ({field, password, version})", {
                    "200": "ok", **COMMON, "403": "not an admin", "409": "closed", "422": "not a password field"},
                params=[ID, FIELD])},
            "/accounts/{id}/credentials/{field}/reveal": {"post": _op(
                "Show a console password once: password re-entry and reason; rate-limited; audited", {
                    "200": "{field, value}", **COMMON, "403": "not an admin / wrong password / not revealable",
                    "409": "not set", "400": "missing password or reason", "429": "too many reveals"},
                body="Reveal", params=[ID, FIELD])},
            "/accounts/{id}/credentials/{field}/rollback": {"post": _op(
                "Restore the previous version (kept for the grace period)", {
                    "200": "ok", **COMMON, "403": "not an admin", "409": "no previous version"},
                params=[ID, FIELD], ok_schema="Account")},
            "/accounts/credentials/overdue": {"get": _op("Credentials due for rotation in the caller's units", {
                "200": "{max_age_days, credentials}", "401": COMMON["401"]})},
            "/vault/status": {"get": _op("Vault key versions and health (admins)", {
                "200": "ok", "401": COMMON["401"], "403": "not an admin"})},
            "/audit": {"get": _op("Audit entries of the caller's unit subtree", {
                "200": "{entries, next_after}", "401": COMMON["401"], "403": "not an admin or supervisor",
                "400": "bad paging"}, params=[
                {"name": "after", "in": "query", "schema": {"type": "integer"}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 1000}},
                *({"name": n, "in": "query", "schema": {"type": "string"}}  # audit filters (hub/api_audit.py)
                  for n in ("actor", "action", "object_type", "object_id", "unit", "from", "to"))])},
            "/audit/verify": {"get": _op("Verify the audit chain", {"200": "{ok, entries, head}",
                                                                    "401": COMMON["401"], "403": "forbidden"})},
            "/openapi.json": {"get": {"summary": "This document", "security": [],
                                      "responses": {"200": {"description": "ok"}}}},
            **_area_paths("hub.checks.api"),
        },
    }


def _area_paths(module: str) -> dict[str, Any]:
    """Paths an area module describes itself (its ``openapi_paths(op, ID, COMMON)``)."""
    import importlib

    return importlib.import_module(module).openapi_paths(_op, ID, COMMON)  # type: ignore[no-any-return]


def _review_paths() -> dict[str, Any]:
    """Review area (issue 3): chains, scheduling, withdraw, pause, comments, queue, diffs."""
    unit = {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}
    state = {"200": "ok", **COMMON, "403": "role forbids", "409": "state forbids", "400": "bad body"}
    return {
        "/units/{code}/chain": {
            "get": _op("Chain in force (optionally ?category=), this unit's own chains and versions",
                       {"200": "ok", **COMMON}, params=[unit]),
            "put": _op("Save a new chain version: {steps: [{name, role?, unit?, levels_up?, users?, quorum: "
                       "any|all}], category?, note?, base_version?} or {inherit: true}",
                       {"200": "ok", **COMMON, "403": "not an admin", "409": "changed meanwhile",
                        "400": "invalid steps"}, params=[unit])},
        "/posts/{id}/schedule": {"post": _op("Set or change publish_at (null: as soon as approved / now)",
                                             {**state, "422": "time already passed"}, params=[ID])},
        "/posts/{id}/schedule/cancel": {"post": _op("Cancel the scheduled publication of an approved post",
                                                    state, params=[ID])},
        "/posts/{id}/withdraw": {"post": _op("Withdraw (撤稿) from every platform: {reason}", state, body="Reason",
                                             params=[ID])},
        "/platforms": {"get": _op("Enabled platforms: label, content limits and credential fields",
                                  {"200": "ok", "401": COMMON["401"]})},
        "/dispatches/{id}": {"get": _op("A dispatch with its attempt history (attempts_log) and reconciliation state",
                                        {"200": "ok", **COMMON}, params=[ID])},
        "/dispatches/{id}/retry": {"post": _op(
            "Admins: retry a failed dispatch once reconciliation confirmed the platform holds nothing "
            "(409 not_reconciled starts that check)",
            {"200": "ok", **COMMON, "403": "not an admin of the account's unit",
             "409": "not failed / not reconciled / stale revision", "400": "bad body"}, optional_body=False,
            params=[ID])},
        "/posts/{id}/comments": {
            "get": _op("The post's comment thread", {"200": "ok", **COMMON}, params=[ID]),
            "post": _op("Add a comment: {body}", {"201": "created", **COMMON, "400": "empty"}, params=[ID])},
        "/posts/{id}/diff": {"get": _op("Changes up to the current revision; ?against=seen|approved|<n>",
                                        {"200": "ok", **COMMON, "400": "bad against"}, params=[ID])},
        "/units/{code}/pause": {
            "get": _op("Whether publishing is paused for the unit", {"200": "ok", **COMMON}, params=[unit]),
            "post": _op("Pause publishing for the unit and its subtree: {reason}", state, params=[unit])},
        "/units/{code}/resume": {"post": _op("Resume publishing: {reason?}", state, params=[unit])},
        "/review/queue": {"get": _op("Posts awaiting the caller's decision; ?unit=&account=&category=&age=",
                                     {"200": "ok", "401": COMMON["401"]})},
    }
