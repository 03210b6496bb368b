"""/api/v1/openapi.json, generated: the paths come from ``app.url_map``, what each endpoint takes and
returns from the :func:`contract` on its view, and the component schemas from the area models
(``Model.model_json_schema``). Nothing here is written by hand but the document's header.

In testing, every JSON answer of the API is also checked against the model its contract names, so the
description cannot drift from what the code sends (``check_response``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Flask, Response, current_app, request
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from hub.api.validation import ErrorOut

F = TypeVar("F", bound=Callable[..., Any])
PREFIX = "/api/v1"
REF = "#/components/schemas/{model}"
# A query parameter: its Python type (int, str, bool) or the tuple of the values it may take.
Query = type | tuple[str, ...]


@dataclass(frozen=True)
class Contract:
    """What one endpoint takes and returns."""

    summary: str
    out: type[BaseModel] | None  # None: the answer is a file (``files`` names its media types)
    status: int = 200
    body: type[BaseModel] | None = None
    body_required: bool = True  # False: no body or {} is accepted too (docs/design.md §6.2)
    body_media: str = "application/json"
    errors: Mapping[int, str] = field(default_factory=dict)
    query: Mapping[str, Query] = field(default_factory=dict)
    files: tuple[str, ...] = ()
    public: bool = False
    deprecated: bool = False  # an old path kept working for existing clients (OpenAPI ``deprecated``)


def contract(summary: str, *, out: type[BaseModel] | None, status: int = 200, body: type[BaseModel] | None = None,
             body_required: bool = True, body_media: str = "application/json",
             errors: Mapping[int, str] | None = None,
             query: Mapping[str, Query] | None = None, files: tuple[str, ...] = (),
             public: bool = False) -> Callable[[F], F]:
    """Declare on a view what it takes and returns; read by :func:`spec` and :func:`check_response`."""

    def mark(view: F) -> F:
        view.__contract__ = Contract(summary, out, status, body, body_required,  # type: ignore[attr-defined]
                                     body_media, errors or {}, query or {}, files, public)
        return view

    return mark


def contract_of(app: Flask, endpoint: str) -> Contract | None:
    view = app.view_functions.get(endpoint)
    return getattr(view, "__contract__", None)


_PARAM = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
_TYPES: dict[Any, str] = {int: "integer", str: "string", bool: "boolean"}


def _path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    """A Werkzeug rule as an OpenAPI path; an object's ``<int:x_id>`` is ``{id}`` as the API documents it."""
    params: list[dict[str, Any]] = []

    def sub(m: re.Match[str]) -> str:
        name = "id" if m.group(2).endswith("_id") else m.group(2)
        params.append({"name": name, "in": "path", "required": True,
                       "schema": {"type": "integer" if m.group(1) == "int" else "string"}})
        return "{" + name + "}"

    return _PARAM.sub(sub, rule[len(PREFIX):] or "/"), params


def _query(name: str, kind: Query) -> dict[str, Any]:
    schema = {"type": "string", "enum": list(kind)} if isinstance(kind, tuple) else {"type": _TYPES[kind]}
    return {"name": name, "in": "query", "required": False, "schema": schema}


def _json(model: type[BaseModel], media: str = "application/json") -> dict[str, Any]:
    return {media: {"schema": {"$ref": REF.format(model=model.__name__)}}}


def _operation(c: Contract, params: list[dict[str, Any]]) -> dict[str, Any]:
    ok: dict[str, Any] = {"description": c.summary}
    if c.out is not None:
        ok["content"] = _json(c.out)
    if c.files:
        ok.setdefault("content", {}).update({m: {"schema": {"type": "string", "format": "binary"}} for m in c.files})
    responses: dict[str, Any] = {str(c.status): ok}
    errors = dict(c.errors) if c.public else {401: "missing or invalid token", 429: "too many requests", **c.errors}
    if c.body is not None:  # not JSON / not an object / too deep / a lone surrogate; over MAX_CONTENT_LENGTH
        errors.setdefault(400, "the body is not valid JSON of the expected shape")
        errors.setdefault(413, "the body is too large")
    if params:  # <int:...> ids: no such object (or beyond 64 bits)
        errors.setdefault(404, "no such object")
    if c.query:
        errors.setdefault(400, "a query parameter is invalid")
    for status, desc in sorted(errors.items()):
        responses[str(status)] = {"description": desc, "content": _json(ErrorOut)}
    op: dict[str, Any] = {"summary": c.summary, "responses": responses}
    params = params + [_query(n, k) for n, k in c.query.items()]
    if params:
        op["parameters"] = params
    if c.body is not None:
        op["requestBody"] = {"required": c.body_required, "content": _json(c.body, c.body_media)}
    if c.public:
        op["security"] = []
    if c.deprecated:
        op["deprecated"] = True
    return op


def _components(models: list[tuple[type[BaseModel], str]]) -> dict[str, Any]:
    _, top = models_json_schema([(m, mode) for m, mode in models],  # type: ignore[misc]
                                ref_template=REF)
    return dict(sorted(top.get("$defs", {}).items()))


def spec(app: Flask) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    models: dict[type[BaseModel], str] = {ErrorOut: "serialization"}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith(PREFIX + "/"):
            continue
        c = contract_of(app, rule.endpoint)
        if c is None:
            continue  # tests/api/test_openapi_complete.py names any endpoint without a contract
        path, params = _path(rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(c, params)
        if c.out is not None:
            models.setdefault(c.out, "serialization")
        if c.body is not None:
            models.setdefault(c.body, "validation")
    return {
        "openapi": "3.1.0",
        "info": {"title": "政务新媒体发布中心 API", "version": "1.0.0",
                 "description": "Times are ISO 8601; a time without an offset means Asia/Shanghai. "
                                "Errors: {\"error\": {\"code\", \"message\", ...}}; status order 401, 404, 403, "
                                "409, 400/422 (docs/design.md §8)."},
        "servers": [{"url": PREFIX}],
        "security": [{"bearer": []}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
                       "schemas": _components(list(models.items()))},
        "paths": paths,
    }


def check_response(response: Response) -> Response:
    """In testing: the JSON an endpoint sends must be what its contract declares (errors: ``ErrorOut``)."""
    if not current_app.testing or not response.is_json or request.endpoint is None:
        return response
    c = contract_of(current_app, request.endpoint)
    model = ErrorOut if response.status_code >= 400 else c.out if c is not None else None
    if model is not None:
        model.model_validate(response.get_json())
    return response
