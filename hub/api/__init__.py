"""REST API under /api/v1: the parent blueprint ``api`` and, registered on it, each area's endpoints."""

from __future__ import annotations

from flask import Flask, current_app, jsonify

from hub.accounts import api as accounts_api
from hub.api.base import _token_key, bp
from hub.approval import api as approval_api
from hub.audit import api as audit_api
from hub.checks import api as checks_api
from hub.dispatch import api as dispatch_api
from hub.extensions import csrf, limiter
from hub.posts import api as posts_api

CHILDREN = (posts_api, approval_api, accounts_api, dispatch_api, checks_api, audit_api)
for _child in CHILDREN:
    bp.register_blueprint(_child.bp)


@bp.get("/openapi.json")
def openapi():  # type: ignore[no-untyped-def]
    from hub.api.openapi import spec

    return jsonify(spec())



def init_app(app: Flask) -> None:
    csrf.exempt(bp)
    for child in CHILDREN:  # Flask-WTF exempts by the request's own (innermost) blueprint
        csrf.exempt(child.bp)
    if not getattr(bp, "_hub_rate_limited", False):
        # ``limiter`` and ``bp`` live as long as the process: registering the limit on every
        # create_app() would stack N copies of it, each counting every request.
        limiter.limit(lambda: current_app.config["HUB_API_LIMIT"], key_func=_token_key)(bp)
        bp._hub_rate_limited = True  # type: ignore[attr-defined]
    app.register_blueprint(bp)
