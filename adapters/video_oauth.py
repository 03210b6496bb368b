"""What the video platforms with user OAuth (抖音, 快手) share: credentials, rendering, the token set.

Both publish one video per post with a title/caption text and (快手: required) a cover picture; both
act for a user who authorised the hub's application through OAuth (authorisation code), so the
credentials are the application's (``client_key``, ``client_secret``) plus what the OAuth flow gives
(``open_id``, ``access_token``, ``refresh_token`` and their expiry times, UTC ISO-8601, and for 抖音 the
refresh-token renewals left). The hub runs the OAuth flow and the token lifecycle
(hub/accounts/oauth.py); the adapter only makes the platform calls (``authorize_url``,
``exchange_code``, ``refresh_access``, ``renew_refresh``) and answers the values to store.

During a publish the adapter refreshes an expired access token once itself (``stale_token``) and keeps
the new one in memory only: the daily token job writes refreshed tokens into the vault.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from .base import Adapter, CredentialField, Publication, Rendering

_TAG = re.compile(r"<[^>]+>")


def plain_text(content: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(_TAG.sub(" ", content or ""))).strip()


def norm(text: str) -> str:
    """Text without whitespace: how reconciliation recognises a dispatch's video by its title."""
    return re.sub(r"\s+", "", text or "")


def iso_in(seconds: Any) -> str:
    """The UTC time ``seconds`` from now, as stored in the credentials ("" if unknown)."""
    try:
        s = int(float(seconds))
    except (TypeError, ValueError):
        return ""
    return (datetime.now(UTC) + timedelta(seconds=max(0, s))).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


@dataclass
class TokenState:
    """What the stored credentials say about the authorisation (times in UTC; None: unknown)."""

    authorised: bool
    access_expires: datetime | None
    refresh_expires: datetime | None
    renewals_left: int | None  # None: the platform has no renewal (快手) or unknown


class OAuthVideoAdapter(Adapter):
    """Base of the 抖音 and 快手 adapters."""

    #: The hub runs the OAuth authorisation flow and the token lifecycle for this platform.
    oauth: ClassVar[bool] = True
    #: Whether the refresh token itself can be renewed (抖音 ``renew_refresh_token``, at most N times).
    renewable: ClassVar[bool] = False
    max_renewals: ClassVar[int] = 0
    can_find = True
    cover_required: ClassVar[bool] = False
    title_max: ClassVar[int] = 55
    text_max: ClassVar[int] = 1000
    video_max: ClassVar[int] = 4 * 1024 * 1024 * 1024
    key_label: ClassVar[str] = "Client Key（client_key）"

    @staticmethod
    def oauth_fields(key_label: str, renewable: bool) -> tuple[CredentialField, ...]:
        """The credential fields (called in the subclass body, where the class does not exist yet)."""
        fields = [
            CredentialField("client_key", key_label, secret=False),
            CredentialField("client_secret", "Client Secret（client_secret）"),
            CredentialField("open_id", "授权用户 open_id（授权后自动填写）", secret=False, required=False),
            CredentialField("access_token", "访问令牌 access_token（授权后自动填写）", required=False),
            CredentialField("refresh_token", "刷新令牌 refresh_token（授权后自动填写）", required=False),
            CredentialField("access_token_expires_at", "访问令牌到期时间（UTC，授权后自动填写）", secret=False, required=False),
            CredentialField("refresh_token_expires_at", "刷新令牌到期时间（UTC，授权后自动填写）", secret=False, required=False),
        ]
        if renewable:
            fields.append(CredentialField("refresh_renewals_left", "刷新令牌剩余续期次数（授权后自动填写）",
                                          secret=False, required=False))
        return tuple(fields)

    # -- rendering -------------------------------------------------------------------------
    @classmethod
    def compose(cls, fields: dict[str, str]) -> str:
        """The one text the platform is sent: the title, then the caption on its own line."""
        title, caption = fields.get("title", ""), fields.get("caption", "")
        return f"{title}\n{caption}" if caption else title

    @classmethod
    def validate(cls, title: str, content: str, summary: str, author: str,
                 variant: dict[str, Any] | None = None) -> list[str]:
        v = variant or {}
        problems = []
        head = (v.get("title") or title or "").strip()
        if not head:
            problems.append(f"{cls.label}视频标题不能为空")
        elif len(head) > cls.title_max:
            problems.append(f"{cls.label}视频标题不得超过 {cls.title_max} 字（现为 {len(head)} 字），"
                            f"请在{cls.label}版本中填写短标题（variants.{cls.platform}.title）")
        return problems

    @classmethod
    def render(cls, pub: Publication, settings: dict[str, str] | None = None) -> Rendering:
        v = pub.variant or {}
        problems = list(cls.validate(pub.title, pub.content, pub.summary, pub.author, v))
        warnings: list[str] = []
        title = (v.get("title") or pub.title or "").strip()
        caption = (v.get("caption") or pub.summary or "").strip()
        fields = {"title": title}
        if caption:
            fields["caption"] = caption
        if len(cls.compose(fields)) > cls.text_max:
            problems.append(f"{cls.label}视频的标题和简介合计不得超过 {cls.text_max} 字")
        if not (pub.video or pub.video_sha256):
            problems.append(f"{cls.label}只能发布视频：请为稿件添加视频")
        elif pub.video and len(pub.video) > cls.video_max:
            problems.append(f"视频超过{cls.label}的大小上限（{cls.video_max // (1024 * 1024)} MB）")
        if cls.cover_required and not pub.cover:
            problems.append(f"{cls.label}发布视频必须有封面图")
        if plain_text(pub.content) and not v.get("caption"):
            warnings.append(f"{cls.label}只发布视频、标题和简介，正文不会发到该平台")
        return Rendering(cls.platform, fields, pictures=["cover"] if pub.cover else [], warnings=warnings,
                         problems=problems)

    # -- the authorisation -----------------------------------------------------------------
    def token_state(self) -> TokenState:
        c = self.credentials
        left: int | None = None
        if self.renewable:
            try:
                left = int(c.get("refresh_renewals_left", ""))
            except ValueError:
                left = None
        return TokenState(bool(c.get("refresh_token") and c.get("open_id")), parse_iso(c.get("access_token_expires_at")),
                          parse_iso(c.get("refresh_token_expires_at")), left)

    def authorize_url(self, redirect_uri: str, state: str) -> str:
        """Where the admin's browser goes to authorise the application (the platform's page)."""
        raise NotImplementedError

    def exchange_code(self, code: str, redirect_uri: str) -> dict[str, str]:
        """Exchange the authorisation code: the credential values to store."""
        raise NotImplementedError

    def refresh_access(self) -> dict[str, str]:
        """A fresh access token from the refresh token: the credential values to store."""
        raise NotImplementedError

    def renew_refresh(self) -> dict[str, str]:
        """A renewed refresh token (platforms with ``renewable``): the credential values to store."""
        raise NotImplementedError

    def _describe_tokens(self) -> str:
        st = self.token_state()
        bj = timedelta(hours=8)

        def day(dt: datetime | None) -> str:
            return (dt + bj).strftime("%Y-%m-%d %H:%M") if dt else "未知"

        text = f"访问令牌 {day(st.access_expires)} 到期，刷新令牌 {day(st.refresh_expires)} 到期"
        if st.renewals_left is not None:
            text += f"（还可续期 {st.renewals_left} 次）"
        return text
