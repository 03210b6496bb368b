"""The contracts of the accounts area: an account and its filing (备案) data, credentials, filing
decisions, closure, the register and the vault status (docs/design.md §6.2)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, RootModel

from hub.contracts import DateStr, In, Out, Timestamp, UnitRef, UserRef
from hub.models import Account
from hub.times import iso


class FiledData(BaseModel):
    """The account's filed (备案) data beyond its name: given when filing, shown to admins and supervisors."""

    host_unit: str | None = None
    operating_unit: str | None = None
    responsible_person: str | None = None
    responsible_phone: str | None = None
    certification_name: str | None = None
    launch_date: DateStr | None = None
    ipv6: bool | None = None


# -- requests -------------------------------------------------------------------------------
class AccountPatch(FiledData, In):
    """api_base changes at once; filed data by a change filing (a pending account: refiled)."""

    name: str | None = None
    is_main: bool | None = None
    justification: str | None = None
    api_base: str | None = Field(None, description="scheme://host[:port]; plain http only to loopback")


class AccountIn(AccountPatch):
    """Open an account: is_main defaults to true; a secondary account needs a justification."""

    platform: str = Field(description="wechat | weibo | website | douyin | kuaishou | manual")
    platform_name: str | None = Field(None, max_length=50, description=(
        "manual only (required): the platform as it is called, e.g. 视频号, 头条号, 人民号"))
    name: str
    unit: str = Field(description="unit code")


class CredentialsIn(RootModel[dict[str, str]]):
    """Write-only, partial: fields given replace, others stay (wechat: app_id, app_secret)."""


class FilingCommentIn(In):
    model_config = ConfigDict(extra="ignore")

    comment: str | None = None


class AccountCloseIn(In):
    notice_text: str = Field(description="停更公告")
    notice_date: DateStr
    reason: str | None = None


class RevealIn(In):
    password: str = Field(description="the caller's own login password")
    reason: str


# -- responses ------------------------------------------------------------------------------
class CredentialState(Out):
    set: bool
    changed_at: Timestamp | None


class ClosureNotice(Out):
    text: str
    date: DateStr | None


class Verification(Out):
    at: Timestamp | None
    ok: bool | None
    message: str | None


class FilingStep(Out):
    level: int
    unit: UnitRef
    state: str = Field(description="approved | rejected | current | waiting | skipped")
    supervisor: UserRef | None
    decision: str | None
    comment: str | None
    at: Timestamp | None


class FilingOut(Out):
    id: int
    kind: str = Field(description="open | change | close")
    status: str
    reason: str | None
    snapshot: dict[str, Any]
    submitted_by: UserRef | None
    submitted_at: Timestamp | None
    decided_at: Timestamp | None
    current_level: int | None
    steps: list[FilingStep]


class FilingList(Out):
    filings: list[FilingOut]


class AccountOut(FiledData, Out):
    """An account; secrets are never shown. The filing fields only for admins and supervisors over its unit."""

    id: int
    platform: str
    platform_name: str = Field("", description="a manual-publish account's platform (视频号 …); else empty")
    name: str
    unit: str
    unit_name: str
    status: str
    is_main: bool
    justification: str | None
    api_base: str | None
    credentials: dict[str, CredentialState]
    created_at: Timestamp | None
    activated_at: Timestamp | None = None
    closed_at: Timestamp | None = None
    closure_notice: ClosureNotice | None = None
    verification: Verification | None = None
    naming_warnings: list[str] | None = None
    filing: FilingOut | None = None
    released: int | None = Field(None, description="after resume: held dispatches queued again")

    @classmethod
    def of(cls, a: Account, credentials: dict[str, dict[str, Any]], filing: dict[str, Any]) -> AccountOut:
        """``credentials``: the vault's per-field status; ``filing``: the filing data the viewer may see."""
        return cls(id=a.id, platform=a.platform, platform_name=a.platform_name or "", name=a.name, unit=a.unit.code, unit_name=a.unit.name,
                   status=a.status, is_main=a.is_main, justification=a.justification, api_base=a.api_base,
                   credentials={k: CredentialState(set=v["set"], changed_at=v["changed_at"])
                                for k, v in credentials.items()},
                   created_at=iso(a.created_at), **filing)


class AccountList(Out):
    accounts: list[AccountOut]


class VerifyOut(Out):
    ok: bool
    message: str


class RotateOut(Out):
    field: str
    password: str
    version: int | None
    previous_kept_until: Timestamp | None
    message: str


class RevealOut(Out):
    field: str
    value: str | None
    message: str


class OverdueCredential(Out):
    account_id: int
    account: str
    unit: str
    field: str
    changed_at: Timestamp | None
    age_days: int | None
    reason: str | None


class OverdueList(Out):
    max_age_days: int
    credentials: list[OverdueCredential]


class RegisterColumn(Out):
    key: str
    label: str


class Register(Out):
    """The account register (备案登记表) as JSON; ?format=csv|xlsx gives a file."""

    columns: list[RegisterColumn]
    accounts: list[dict[str, Any]]


class VaultStatus(Out):
    """Key versions and health (hub/accounts/vault_admin.py ``status``, without its ``source``)."""

    locked: bool
    message: str
    versions: list[int]
    current_version: int | None
    credentials_per_version: dict[int, int]
    archived_versions: int
    min_decryption_version: int | None
    oldest_version_in_use: int | None
    retired_versions: list[int]
    missing_versions: list[int]
    wrong_key_versions: list[int]
