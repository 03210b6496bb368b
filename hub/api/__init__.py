"""REST API under /api/v1: the parent blueprint ``api`` and, registered on it, each area's endpoints."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, jsonify
from flask.typing import ResponseReturnValue
from pydantic import ConfigDict

from hub.accounts import api as accounts_api
from hub.api.base import bp, token_key
from hub.api.openapi import check_response, contract, spec
from hub.approval import api as approval_api
from hub.audit import api as audit_api
from hub.checks import api as checks_api
from hub.contracts import Out
from hub.dispatch import api as dispatch_api
from hub.extensions import csrf, limiter
from hub.interaction import api as interaction_api
from hub.notify import api as notify_api
from hub.org import api as org_api
from hub.oversight import api as oversight_api
from hub.posts import api as posts_api

CHILDREN = (posts_api, approval_api, accounts_api, dispatch_api, checks_api, audit_api, oversight_api,
            notify_api, org_api, interaction_api)
for _child in CHILDREN:
    bp.register_blueprint(_child.bp)


bp.after_request(check_response)


class OpenApiDocument(Out):
    """This document (OpenAPI 3.1)."""

    model_config = ConfigDict(extra="allow")

    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]
    components: dict[str, Any]


@bp.get("/openapi.json")
@contract("This document: the API described by its own contracts", out=OpenApiDocument, public=True)
def openapi() -> ResponseReturnValue:
    return jsonify(spec(current_app))


def init_app(app: Flask) -> None:
    csrf.exempt(bp)
    for child in CHILDREN:  # Flask-WTF exempts by the request's own (innermost) blueprint
        csrf.exempt(child.bp)
    if not getattr(bp, "_hub_rate_limited", False):
        # ``limiter`` and ``bp`` live as long as the process: registering the limit on every
        # create_app() would stack N copies of it, each counting every request.
        limiter.limit(lambda: current_app.config["HUB_API_LIMIT"], key_func=token_key)(bp)
        bp._hub_rate_limited = True  # type: ignore[attr-defined]
    app.register_blueprint(bp)
