"""The figures of a publication as the API shows them (inside a post's dispatches)."""

from __future__ import annotations

from pydantic import Field

from hub.contracts import Out


class FiguresOut(Out):
    """A publication's newest figures pulled from its platform (docs/read-counts.md)."""

    day: str = Field(description="the Beijing date (YYYY-MM-DD) the figures are of")
    reads: int | None = Field(description="阅读: readers (WeChat read_user); null where the platform gives none (Weibo)")
    shares: int | None = Field(description="转发 / 分享")
    comments: int | None = Field(description="评论")
    likes: int | None = Field(description="点赞")
