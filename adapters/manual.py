"""Manual-publish accounts: platforms without a public publishing API (视频号, 头条号, 人民号, …).

Nothing is sent by machine. The adapter only renders what the reviewers approve (title, digest, body,
and the video and cover by their hashes) so that the content checks, the review page and the revision
hash cover exactly what the editor will copy; after approval the worker parks the dispatch as
``awaiting_manual`` and an editor publishes it by hand and records the URL (hub/dispatch/manual.py).
"""

from __future__ import annotations

from .base import Adapter, PlatformError, Publication, PublishResult, Rendering
from .registry import register


@register
class ManualAdapter(Adapter):
    platform = "manual"
    label = "人工发布"
    default_api_base = ""
    credential_fields = ()
    can_find = False
    #: Nothing is called: no rate to keep.
    rate_per_second = 1000

    @classmethod
    def render(cls, pub: Publication, settings: dict[str, str] | None = None) -> Rendering:
        out = super().render(pub, settings)
        if pub.video_sha256:
            out.pictures.append("video")
        return out

    def verify_credentials(self) -> tuple[bool, str]:
        return True, "人工发布账号没有接口凭据：由编辑在平台上手工发布后回填链接"

    def publish(self, pub: Publication) -> PublishResult:
        raise PlatformError("人工发布账号不由系统发送：请在该平台手工发布后回填链接", code="manual")

    def withdraw(self, platform_ref: str | None, article_id: str | None) -> bool:
        raise NotImplementedError
