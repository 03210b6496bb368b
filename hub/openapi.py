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
                "Post": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "unit": {"type": "string"}, "status": {"type": "string"},
                    "revision": {"type": "object"}, "approvals": {"type": "array"},
                    "findings": {"type": "array", "items": finding}, "dispatches": {"type": "array"}}},
                "Checks": {"type": "object", "required": ["content"], "properties": {"content": {"type": "string"}}},
                "AccountCreate": {"type": "object", "required": ["platform", "name", "unit"], "properties": {
                    "platform": {"type": "string"}, "name": {"type": "string"}, "unit": {"type": "string"},
                    "api_base": {"type": "string"}, "is_main": {"type": "boolean"},
                    "justification": {"type": "string"}}},
                "Account": {"type": "object"},
                "Credentials": {"type": "object", "additionalProperties": {"type": "string"}},
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
            "/checks": {"post": _op("Run the content checks", {"200": "{findings: [...]}", "401": COMMON["401"],
                                                               "400": "bad body"}, body="Checks")},
            "/accounts": {
                "get": _op("Accounts the caller may see", {"200": "ok", "401": COMMON["401"]}),
                "post": _op("Open an account", {"201": "created", "401": COMMON["401"], "403": "not an admin",
                                                "409": "main account exists", "400": "bad body",
                                                "422": "invalid"}, body="AccountCreate", ok_schema="Account")},
            "/accounts/{id}": {"get": _op("An account (secrets never shown)", {"200": "ok", **COMMON},
                                          params=[ID], ok_schema="Account")},
            "/accounts/{id}/credentials": {"put": _op("Write-only, partial credential update", {
                "200": "ok", **COMMON, "403": "not an admin", "400": "unknown field"}, body="Credentials",
                params=[ID])},
            "/accounts/{id}/credentials/verify": {"post": _op("A real call to the platform", {
                "200": "{ok, message}", **COMMON, "403": "not an admin"}, params=[ID])},
            "/audit": {"get": _op("Audit entries of the caller's unit subtree", {
                "200": "{entries, next_after}", "401": COMMON["401"], "403": "not an admin or supervisor",
                "400": "bad paging"}, params=[
                {"name": "after", "in": "query", "schema": {"type": "integer"}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 1000}}])},
            "/audit/verify": {"get": _op("Verify the audit chain", {"200": "{ok, entries, head}",
                                                                    "401": COMMON["401"], "403": "forbidden"})},
            "/openapi.json": {"get": {"summary": "This document", "security": [],
                                      "responses": {"200": {"description": "ok"}}}},
        },
    }
