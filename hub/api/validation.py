"""Request bodies checked with the area schemas; a pydantic ``ValidationError`` becomes the API's own
error (the same codes and zh-CN messages the API has always given, docs/design.md §4.6)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from hub.checks.schemas import Finding
from hub.contracts import Out
from hub.errors import BadRequest, HubError

M = TypeVar("M", bound=BaseModel)

# field -> the error raised when that field is missing or wrong; "*" for any other problem.
Errors = Mapping[str, HubError]


def parse(model: type[M], data: Any, errors: Errors) -> M:
    """``data`` validated as ``model``; on a problem, the error ``errors`` names for its first field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error_for(exc, errors) from None


def error_for(exc: ValidationError, errors: Errors) -> HubError:
    for problem in exc.errors():
        loc = problem.get("loc") or ()
        field = str(loc[0]) if loc else ""
        if field in errors:
            return errors[field]
    return errors.get("*") or BadRequest("请求体格式不正确", code="invalid_body")


class ErrorBody(Out):
    model_config = ConfigDict(extra="allow")  # details vary by error: field, problems, status, ...

    code: str
    message: str
    findings: list[Finding] | None = None


class ErrorOut(Out):
    """Every error: {"error": {"code", "message", ...}}; a 422 from the checks carries findings
    (docs/design.md §6.2)."""

    error: ErrorBody
