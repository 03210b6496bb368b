"""Building blocks of the area schemas (``hub/<area>/schemas.py``): one declaration per contract.

Request models (``In``) are what the API accepts; response models (``Out``) are what it returns.
Both feed ``/api/v1/openapi.json`` (hub/api/openapi.py). Response models keep the JSON exactly as
the API has always written it: a key that was absent stays absent (``exclude_unset``) and times are
the ISO 8601 strings of :func:`hub.times.iso`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, WithJsonSchema
from pydantic_core import ErrorDetails

from hub.errors import BadRequest, HubError

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
    """A response body; :meth:`dump` gives what the API hands to ``jsonify`` (plain Python values, so
    the JSON is the same as before: integer keys, key order, ...)."""

    model_config = ConfigDict(extra="forbid")

    def dump(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


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


M = TypeVar("M", bound=BaseModel)
# What a problem with one field raises: an error, or a function of that field's problems (all of them).
Raise = HubError | Callable[[list[ErrorDetails]], HubError]
ROOT = ""  # the body itself (not a JSON object)


def parse(model: type[M], data: Any, errors: Mapping[str, Raise]) -> M:
    """``data`` validated as ``model``. On a problem, the error ``errors`` gives for the first field
    (in the model's field order) that has one: the codes and zh-CN messages the API has always given
    (docs/design.md §4.6). ``errors[ROOT]`` is for a body that is not an object, ``errors["*"]`` for the rest."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error_for(exc, errors) from None


def error_for(exc: ValidationError, errors: Mapping[str, Raise]) -> HubError:
    problems = exc.errors()
    for problem in problems:
        loc = problem.get("loc") or ()
        key = str(loc[0]) if loc else ROOT
        found = errors.get(key)
        if found is not None:
            return found if isinstance(found, HubError) else found(
                [p for p in problems if (p.get("loc") or ("",))[0] == key])
    fallback = errors.get("*")
    if isinstance(fallback, HubError):
        return fallback
    return BadRequest("请求体必须是 JSON 对象", code="invalid_body")
