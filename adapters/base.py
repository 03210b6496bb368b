"""The one small interface every platform adapter implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class CredentialField:
    name: str
    label: str  # zh-CN label shown to admins
    secret: bool = True
    required: bool = True


@dataclass
class Publication:
    """What the worker hands an adapter: content of one approved revision for one account."""

    dispatch_id: int
    title: str
    content: str
    summary: str
    author: str
    source_url: str
    cover: bytes
    cover_mime: str
    marker_url: str  # identifies this dispatch among the account's publications (reconciliation)
    variant: dict[str, Any] = field(default_factory=dict)


@dataclass
class PublishResult:
    status: str  # "published" | "submitted" (platform still publishing)
    platform_ref: str | None = None
    article_id: str | None = None
    url: str | None = None
    draft_ref: str | None = None


class PlatformError(Exception):
    """A platform call failed.

    ``retryable``: known not to have happened and worth retrying (busy, rate limit).
    ``ambiguous``: the request may have been acted on (timeout / dropped after sending).
    ``stale_token``: the access token was rejected; refresh once and retry.
    """

    def __init__(self, message: str, *, code: Any = None, retryable: bool = False,
                 ambiguous: bool = False, stale_token: bool = False, quota: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.retryable = retryable
        self.ambiguous = ambiguous
        self.stale_token = stale_token
        self.quota = quota


class Adapter:
    """Base class: one subclass per platform, registered in ``adapters.registry``."""

    platform: ClassVar[str] = ""
    label: ClassVar[str] = ""
    credential_fields: ClassVar[tuple[CredentialField, ...]] = ()
    limits: ClassVar[dict[str, int]] = {}
    default_api_base: ClassVar[str] = ""

    def __init__(self, api_base: str, credentials: dict[str, str], token_cache: Any = None) -> None:
        self.api_base = api_base.rstrip("/")
        self.credentials = credentials
        self.token_cache = token_cache

    @classmethod
    def enabled(cls) -> bool:
        return True

    @classmethod
    def validate(cls, title: str, content: str, summary: str, author: str,
                 variant: dict[str, Any] | None = None) -> list[str]:
        """Problems (zh-CN) that the platform would refuse; empty if fine."""
        return []

    def verify_credentials(self) -> tuple[bool, str]:
        raise NotImplementedError

    def publish(self, pub: Publication) -> PublishResult:
        raise NotImplementedError

    def status(self, platform_ref: str) -> PublishResult:
        raise NotImplementedError
