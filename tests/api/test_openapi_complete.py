"""/api/v1/openapi.json is generated from the contracts and describes every /api/v1 rule
(issue 12: each contract declared once)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from openapi_spec_validator import validate

from hub.api.openapi import PREFIX

WRITE = {"post", "put", "patch"}


@pytest.fixture
def spec(client: Any) -> dict[str, Any]:
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    return r.get_json()


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "{id}" if m.group(1).endswith("_id") else f"{{{m.group(1)}}}",
                  rule[len(PREFIX):])


def _schemas(node: Any):
    """Every schema object under a responses/requestBody ``content`` map."""
    for media in (node.get("content") or {}).values():
        yield media.get("schema")


def test_every_api_rule_has_a_path_and_method(app: Any, spec: dict[str, Any]) -> None:
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(PREFIX + "/"):
            continue
        ops = spec["paths"].get(_openapi_path(rule.rule), {})
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            if method.lower() not in ops:
                missing.append(f"{method} {rule.rule} ({rule.endpoint})")
    assert not missing, "endpoints without a contract: " + ", ".join(sorted(missing))


def test_every_write_has_a_request_body(spec: dict[str, Any]) -> None:
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if method in WRITE:
                body = op.get("requestBody")
                assert body and body.get("content"), f"{method.upper()} {path} has no requestBody"
                assert isinstance(body.get("required"), bool), f"{method.upper()} {path}"


def test_optional_bodies_are_marked_not_required(spec: dict[str, Any]) -> None:
    ops = spec["paths"]
    assert ops["/posts/{id}/submit"]["post"]["requestBody"]["required"] is False
    assert ops["/accounts/{id}/filing/approve"]["post"]["requestBody"]["required"] is False
    assert ops["/posts"]["post"]["requestBody"]["required"] is True
    assert ops["/posts/{id}/approve"]["post"]["requestBody"]["required"] is True


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    return spec["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else schema


def test_every_response_has_a_schema(spec: dict[str, Any]) -> None:
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            assert op["responses"], f"{method.upper()} {path}"
            for status, resp in op["responses"].items():
                schemas = list(_schemas(resp))
                assert schemas, f"{method.upper()} {path} {status}: no content"
                for s in schemas:
                    assert s and _resolve(spec, s), f"{method.upper()} {path} {status}: empty schema"


def test_component_schemas_are_typed(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    for name, schema in schemas.items():
        assert schema.get("type") or schema.get("anyOf") or schema.get("enum"), f"{name}: untyped"
    for name in ("AccountOut", "AccountPatch", "PostPatch", "PostIn", "PostOut", "ApproveIn", "ErrorOut"):
        assert schemas[name].get("properties"), f"{name} has no properties"
    assert {"revision_hash", "checks"} <= set(schemas["ApproveIn"]["required"])
    assert set(schemas["Confirmations"]["required"]) == {"political", "legal", "policy", "secrecy", "wording"}
    assert {"credentials", "status", "api_base"} <= set(schemas["AccountOut"]["properties"])


def test_document_is_valid_openapi_3(spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.")
    validate(spec)


def test_openapi_is_public_and_generated(client: Any, spec: dict[str, Any]) -> None:
    assert spec["paths"]["/openapi.json"]["get"]["security"] == []
    assert "/posts/{id}/approve" in spec["paths"]
    assert "/posts/{id}/findings/{fid}/override" in spec["paths"]
