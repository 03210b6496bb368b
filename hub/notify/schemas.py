"""Request and response bodies of the notifications API (hub/notify/api.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from hub.contracts import In, Out


class ChannelIn(In):
    id: int | None = Field(default=None, description="an existing channel to change; omitted: a new one")
    kind: Literal["wecom", "wecom_app", "dingtalk", "email"]
    name: str = Field(default="", max_length=100)
    url: str | None = Field(default=None, max_length=1000,
                            description="webhook URL (wecom, dingtalk); write-only, kept when omitted")
    secret: str | None = Field(default=None, max_length=500,
                               description="钉钉 signing secret, the application's Secret (wecom_app), or the "
                                           "SMTP password (email); write-only, "
                                           "kept when omitted, removed with an empty string")
    msgtype: Literal["text", "markdown"] = "markdown"
    to: list[str] = Field(default_factory=list, max_length=50,
                          description="email: the unit's own mailboxes, besides the people who chose e-mail")
    username: str = Field(default="", max_length=200, description="email: SMTP login name")
    corpid: str = Field(default="", max_length=64, description="wecom_app: the 企业微信 corp id (企业ID)")
    agentid: int | None = Field(default=None, ge=0, le=2**31 - 1, description="wecom_app: the application's AgentId")
    api_base: str = Field(default="", max_length=300,
                          description="wecom_app: API root, default https://qyapi.weixin.qq.com")
    enabled: bool = True


class ChannelsIn(In):
    channels: list[ChannelIn] = Field(max_length=20)


class ChannelOut(Out):
    id: int
    kind: str
    name: str
    url: str | None = Field(description="the URL without its query (the key or token is never shown)")
    url_set: bool
    secret_set: bool
    msgtype: str
    to: list[str]
    username: str
    corpid: str
    agentid: int | None
    api_base: str
    enabled: bool
    updated_at: str | None


class ChannelsOut(Out):
    unit: str
    channels: list[ChannelOut]


class NotificationOut(Out):
    id: int
    kind: str
    text: str
    link: str = Field(description="absolute URL in the hub (HUB_EXTERNAL_URL)")
    post_id: int | None
    created_at: str
    read: bool


class NotificationsOut(Out):
    unread: int
    notifications: list[NotificationOut]
