"""Building blocks of the area schemas (``hub/<area>/schemas.py``): one declaration per contract.

Request models (``In``) are what the API accepts; response models (``Out``) are what it returns.
Both feed ``/api/v1/openapi.json`` (hub/api/openapi.py). Response models keep the JSON exactly as
the API has always written it: a key that was absent stays absent (``exclude_unset``) and times are
the ISO 8601 strings of :func:`hub.times.iso`.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, WithJsonSchema

# A time as the API writes it: ISO 8601 in UTC with "Z" (docs/design.md §6.2).
Timestamp = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]
# A calendar date, YYYY-MM-DD.
DateStr = Annotated[str, WithJsonSchema({"type": "string", "format": "date"})]
# Free-form JSON kept as the platform or the engine gave it (details, limits, ...).
JsonObject = dict[str, Any]


class In(BaseModel):
    """A request body. Unknown fields are refused unless a model says otherwise."""

    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    """A response body; :meth:`dump` gives the JSON the API sends."""

    model_config = ConfigDict(extra="forbid")

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True)


class UserRef(Out):
    """A person as the API names them (reviewer, actor, creator): {id, username, name}."""

    id: int | None = None
    username: str
    name: str


class UnitRef(Out):
    code: str
    name: str


class NoBody(In):
    """An optional body with nothing in it: no body or ``{}`` (docs/design.md §6.2)."""

    model_config = ConfigDict(extra="ignore")
