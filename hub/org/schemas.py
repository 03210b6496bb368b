"""Request and response bodies of the people API (hub/org/api.py)."""

from __future__ import annotations

from pydantic import Field

from hub.contracts import In, Out


class UserIn(In):
    username: str = Field(min_length=2, max_length=64, description="letters, digits and _.@- (2–64)")
    name: str = Field(default="", max_length=100, description="the person's name as staff see it")
    unit: str = Field(min_length=1, max_length=64, description="code of the unit the user belongs to")
    roles: list[str] = Field(min_length=1, max_length=4,
                             description="any of editor, reviewer, admin, supervisor (held at that unit)")


class DisableIn(In):
    reason: str = Field(default="", max_length=500)


class UserOut(Out):
    id: int
    username: str
    name: str
    unit: str = Field(description="unit code")
    roles: list[str]
    active: bool


class CreatedUserOut(UserOut):
    setup_link: str = Field(description="one-time link for the user to choose a password; shown only here")
    setup_link_expires_in_hours: int
