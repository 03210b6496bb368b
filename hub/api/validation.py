"""The API's side of the contracts: request bodies validated with the area schemas, a pydantic
``ValidationError`` turned into the API's own error (the same codes and zh-CN messages the API has
always given, docs/design.md §4.6), and the shape of every error answer.

The translation itself (:func:`hub.contracts.parse`) sits below the services, because the services
validate with the models at the same point as before (docs/design.md §8: the body is checked after
404, 403 and 409), and the web pages call the same services.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

from hub.api.base import body
from hub.checks.schemas import Finding
from hub.contracts import Out, Raise, parse

M = TypeVar("M", bound=BaseModel)


def body_as(model: type[M], errors: Mapping[str, Raise], optional: bool = False) -> M:
    """The request's JSON object (hub/api/base.py ``body``) validated as ``model``."""
    data: Any = body(optional=optional)
    return parse(model, data, errors)


class ErrorBody(Out):
    model_config = ConfigDict(extra="allow")  # details vary by error: field, problems, status, ...

    code: str
    message: str
    findings: list[Finding] | None = None


class ErrorOut(Out):
    """Every error: {"error": {"code", "message", ...}}; a 422 from the checks carries findings
    (docs/design.md §6.2)."""

    error: ErrorBody
