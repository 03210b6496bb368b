"""The people API (docs/people-and-sign-in.md).

* ``POST /users {username, name, unit, roles}`` — an admin of that unit creates a user without a
  password: 201 with a one-time set-up link (the only time it is shown).
* ``POST /users/<username>/disable {reason?}`` — sessions and API tokens stop at once, credentials the
  user could reveal get rotation tasks (hub/org/users.py).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, url_for

from hub.api.base import user
from hub.api.openapi import contract
from hub.api.validation import body_as
from hub.db import db
from hub.errors import BadRequest
from hub.models import User
from hub.org import people as people_svc
from hub.org.schemas import CreatedUserOut, DisableIn, UserIn, UserOut

bp = Blueprint("org", __name__)
__all__ = ["bp"]

BAD = BadRequest("请求体不正确：需要 username、unit 和 roles", code="bad_body")


def user_json(u: User) -> dict[str, Any]:
    return {"id": u.id, "username": u.username, "name": u.display_name(), "unit": u.unit.code,
            "roles": sorted({g.role for g in u.roles}), "active": bool(u.active)}


@bp.post("/users")
@contract("Create a user of a unit (admins of that unit); 201 with a one-time set-up link",
          out=CreatedUserOut, status=201, body=UserIn,
          errors={400: "bad body, username or role", 403: "not an admin of the unit", 404: "unknown unit",
                  409: "username taken"})
def create_user():
    data = body_as(UserIn, {"*": BAD})
    with db.transaction() as s:
        u, token = people_svc.create_person(s, user(), data.username, data.name, data.unit, data.roles)
        out = user_json(u)
    out["setup_link"] = url_for("web.org.setup_page", token=token, _external=True)
    out["setup_link_expires_in_hours"] = people_svc.LINK_HOURS
    return jsonify(CreatedUserOut.model_validate(out).dump()), 201


@bp.post("/users/<username>/disable")
@contract("Disable a user (admins of the user's unit): sessions and tokens stop at once",
          out=UserOut, body=DisableIn, body_required=False,
          errors={403: "not an admin of the unit", 404: "unknown user or not managed by the caller",
                  409: "already disabled, or the caller themself"})
def disable_user(username: str):
    data = body_as(DisableIn, {"*": BadRequest("请求体不正确", code="bad_body")}, optional=True)
    with db.transaction() as s:
        target = people_svc.user_by_username(s, user(), username)
        u = people_svc.disable_person(s, user(), target, data.reason)
        out = user_json(u)
    return jsonify(UserOut.model_validate(out).dump())
