"""Errors raised by services and turned into JSON (API) or flash messages (UI).

Status order when several apply (docs/design.md §8): 401, 404, 403, 409, 400/422.
"""

from __future__ import annotations

from typing import Any


class HubError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, code: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = str(message)
        if code:
            self.code = code
        self.extra = extra

    def to_dict(self) -> dict[str, Any]:
        err: dict[str, Any] = {"code": self.code, "message": self.message}
        err.update(self.extra)
        return {"error": err}


class Unauthorized(HubError):
    status = 401
    code = "unauthorized"


class NotFound(HubError):
    status = 404
    code = "not_found"


class Forbidden(HubError):
    status = 403
    code = "forbidden"


class Conflict(HubError):
    status = 409
    code = "conflict"


class BadRequest(HubError):
    status = 400
    code = "bad_request"


class Unprocessable(HubError):
    status = 422
    code = "unprocessable"


class TooManyRequests(HubError):
    status = 429
    code = "rate_limited"


class VaultLocked(HubError):
    status = 503
    code = "vault_locked"


class TooLarge(HubError):
    status = 413
    code = "too_large"
