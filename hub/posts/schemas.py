"""The contracts of the posts area: what POST/PATCH /posts accept and what a post looks like as JSON
(docs/design.md §6.2). Declared once: the API's output, the editor's form fields and
/api/v1/openapi.json all come from these models."""

from __future__ import annotations

from typing import Any

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.checks.schemas import Finding
from hub.contracts import In, Out, Timestamp, UserRef
from hub.metrics.schemas import FiguresOut
from hub.models import Approval, Dispatch, Post, Revision
from hub.times import iso


# -- requests -------------------------------------------------------------------------------
class Variant(In):
    """Per-platform wording: {title?, summary?, text?, mass_send?, send_ignore_reprint?} (every value a string).

    ``send_ignore_reprint`` (WeChat 群发 only): "1" (default) — when WeChat judges an article a
    repost (转载), the mass send goes on as a repost; "0" — WeChat stops the mass send."""

    title: str | None = None
    summary: str | None = None
    text: str | None = None
    mass_send: str | None = None
    send_ignore_reprint: str | None = Field(None, description='"1" continue (default) | "0" stop when judged a repost')


class ArticleIn(In):
    """One article after the main one (WeChat 次条)."""

    title: str = Field(max_length=200)
    content: str = Field(description="HTML")
    summary: str | None = Field(None, max_length=1000)
    author: str | None = Field(None, max_length=64)
    source_url: str | None = Field(None, max_length=500)
    cover: str | int | None = Field(None, description="a data: URL or a media id")


class PostPatch(In):
    """Any post field: a new revision, approvals void, status back to draft (docs/design.md §6.2)."""

    title: str | None = Field(None, max_length=200)
    content: str | None = Field(None, description="HTML")
    summary: str | None = Field(None, max_length=1000)
    author: str | None = Field(None, max_length=64, description="the byline shown on the platform (作者)")
    category: str | None = Field(None, max_length=64)
    is_original: bool | None = None
    source_url: str | None = Field(None, max_length=500, description="http:// or https://")
    cover: str | int | None = Field(None, description="a data: URL or a media id; none: the account's default cover")
    variants: dict[str, Variant] | None = Field(None, description="{platform: {title?, summary?, text?, mass_send?}}")
    articles: list[ArticleIn] | None = Field(None, max_length=7, description=(
        "WeChat: the articles after the main one (次条), at most 7; other platforms publish the main one only"))
    account_ids: list[int] | None = None
    video: int | None = Field(None, description=(
        "a video media id (POST /media with an MP4); null: no video. Douyin, Kuaishou and manual-publish "
        "accounts take it; a video post to WeChat, Weibo or a website is refused (422 platform_limits)"))
    publish_at: str | None = Field(None, json_schema_extra={"format": "date-time"},
                                   description="ISO 8601; without an offset: Asia/Shanghai; null: at once")
    metadata: MetadataIn | None = Field(None, description="信息公开 metadata (docs/library.md)")
    policy_ids: list[int] | None = Field(None, description=(
        "a 解读 (category interpretation): the ids of the unit's policies it explains; at least one to submit"))
    needs_interpretation: bool | None = Field(None, description="a policy: needs a 解读 (reminder until one is published)")


class MetadataIn(In):
    """信息公开 metadata of a library item."""

    index_no: str | None = Field(None, max_length=64, description="索引号")
    issuer: str | None = Field(None, max_length=100, description="发文机关")
    written_on: str | None = Field(None, json_schema_extra={"format": "date"}, description="成文日期 YYYY-MM-DD")
    doc_no: str | None = Field(None, max_length=64, description="发文字号")
    subject: str | None = Field(None, max_length=64, description="主题分类")


class PostIn(PostPatch):
    """A new post (a draft)."""

    title: str = Field(max_length=200)
    content: str = Field(description="HTML")
    account_ids: list[int] = Field(min_length=1)


class ValidityIn(In):
    """效力标注 of a policy: a new revision, reviewed like any edit (docs/library.md)."""

    status: str = Field(description='"valid" (有效) | "amended" (已修改) | "repealed" (已废止) | "expired" (失效)')
    effective_on: str | None = Field(None, json_schema_extra={"format": "date"}, description="生效日期")
    expires_on: str | None = Field(None, json_schema_extra={"format": "date"},
                                   description="失效日期: `hub validity run` marks the policy 失效 from it")
    replaced_by: int | None = Field(None, description="the post that replaces it (required for amended)")


class CommentIn(In):
    body: str = Field(min_length=1)


# -- responses ------------------------------------------------------------------------------
class RevisionRef(Out):
    number: int
    hash: str


class ArticleOut(Out):
    title: str
    content: str
    summary: str
    author: str
    source_url: str
    cover: int | None


class RevisionOut(RevisionRef):
    """A revision's content: what the hash covers (docs/design.md §4.1)."""

    title: str
    content: str
    summary: str
    author: str
    category: str
    is_original: bool
    source_url: str
    cover: int | None
    variants: dict[str, dict[str, str]]
    articles: list[ArticleOut]
    account_ids: list[int]
    video: int | None = Field(None, description="the video media id")
    video_sha256: str = Field("", description="SHA-256 of the video's bytes, covered by the revision hash")
    metadata: dict[str, str] = Field(default_factory=dict, description="信息公开 metadata")
    needs_interpretation: bool = False
    created_by: UserRef
    created_at: Timestamp | None

    @classmethod
    def of(cls, rev: Revision) -> RevisionOut:
        return cls(number=rev.number, hash=rev.hash, title=rev.title, content=rev.content, summary=rev.summary,
                   author=rev.author, category=rev.category, is_original=rev.is_original,
                   source_url=rev.source_url, cover=rev.cover_id, variants=rev.variants or {},
                   articles=[ArticleOut(title=a.get("title", ""), content=a.get("content", ""),
                                        summary=a.get("summary", ""), author=a.get("author", ""),
                                        source_url=a.get("source_url", ""), cover=a.get("cover_id"))
                             for a in rev.articles or []],
                   account_ids=list(rev.account_ids or []), video=rev.video_id,
                   video_sha256=rev.video_sha256 or "", metadata=(rev.library or {}).get("metadata") or {},
                   needs_interpretation=bool((rev.library or {}).get("needs_interpretation")),
                   created_by=UserRef.model_validate(rev.created_by.to_ref()),
                   created_at=iso(rev.created_at))


class PostRef(Out):
    id: int
    title: str


class ValidityOut(Out):
    status: str = Field(description="valid | amended | repealed | expired")
    label: str = Field(description="有效 / 已修改 / 已废止 / 失效")
    effective_on: str | None = None
    expires_on: str | None = None
    replaced_by: PostRef | None = None
    auto: bool = Field(False, description="applied by the scheduled expiry (hub validity run)")


class StepOut(Out):
    index: int
    name: str | None = Field(description="the current step's name while in review")
    total: int


class ApprovalOut(Out):
    step: int
    step_name: str
    reviewer: UserRef
    decision: str = Field(description='"approved" or "rejected"')
    revision_hash: str
    checks: dict[str, bool]
    comment: str
    at: Timestamp | None
    voided: bool

    @classmethod
    def of(cls, a: Approval) -> ApprovalOut:
        return cls(step=a.step, step_name=a.step_name, reviewer=UserRef.model_validate(a.reviewer.to_ref()), decision=a.decision,
                   revision_hash=a.revision_hash, checks=a.checks or {}, comment=a.comment, at=iso(a.at),
                   voided=a.voided)


class PostDispatchOut(Out):
    """One target account's dispatch as the post shows it."""

    id: int
    account_id: int
    account: str
    platform: str
    status: str
    platform_ref: str | None
    url: str | None
    attempts: int = Field(description="how many attempts were made")
    error: str | None
    revision: int
    published_at: Timestamp | None
    figures: FiguresOut | None = Field(None, description="the newest read counts pulled from the platform "
                                                         "(null until a pull brought some)")

    @classmethod
    def of(cls, d: Dispatch, figures: Any = None) -> PostDispatchOut:
        return cls(id=d.id, account_id=d.account_id, account=d.account.name, platform=d.account.platform,
                   status=d.status, platform_ref=d.platform_ref, url=d.url, attempts=d.attempts, error=d.error,
                   revision=d.revision.number, published_at=iso(d.published_at),
                   figures=FiguresOut(day=figures.day.isoformat(), reads=figures.reads, shares=figures.shares,
                                      comments=figures.comments, likes=figures.likes) if figures else None)


class PostBrief(Out):
    """A post in a list: no content, approvals or dispatches."""

    id: int
    unit: str
    status: str
    title: str
    revision: RevisionRef | None
    creator: UserRef
    publish_at: Timestamp | None
    created_at: Timestamp | None
    updated_at: Timestamp | None

    @classmethod
    def of(cls, p: Post | Any) -> PostBrief:
        rev = p.current_revision
        return cls(id=p.id, unit=p.unit.code, status=p.status, title=rev.title if rev else "",
                   revision=RevisionRef(number=rev.number, hash=rev.hash) if rev else None,
                   creator=UserRef.model_validate(p.creator.to_ref()), publish_at=iso(p.publish_at), created_at=iso(p.created_at),
                   updated_at=iso(p.updated_at))


class PostOut(PostBrief):
    """A post with its revision, approvals, findings and dispatches (GET /posts/<id>)."""

    revision: RevisionOut | None
    step: StepOut
    approvals: list[ApprovalOut] = Field(description="approvals that count: current revision, not voided")
    approval_history: list[ApprovalOut]
    findings: list[Finding]
    dispatches: list[PostDispatchOut]
    validity: ValidityOut | None = Field(None, description="a policy's validity (null for other categories)")
    policies: list[PostRef] = Field(default_factory=list, description="a 解读: the policies it explains")
    interpretations: list[PostRef] = Field(default_factory=list, description="a policy: the 解读 linking it")
    needs_interpretation_reminder: bool = Field(False, description="a policy marked 需解读 with no published 解读")

    @classmethod
    def of(cls, session: Session, p: Post, findings: list[dict[str, Any]]) -> PostOut:  # type: ignore[override]
        """``findings``: the current revision's, with their overrides (hub/checks/service.py)."""
        rev = p.current_revision
        steps = p.chain or []
        brief = PostBrief.of(p)
        dispatches = session.scalars(select(Dispatch).where(Dispatch.post_id == p.id).order_by(Dispatch.id)).all()
        from hub.metrics.service import latest_for_dispatches

        figures = latest_for_dispatches(session, [d.id for d in dispatches if d.published_at is not None])
        return cls(
            **{k: getattr(brief, k) for k in PostBrief.model_fields if k != "revision"},
            revision=RevisionOut.of(rev) if rev else None,
            step=StepOut(index=p.step, name=steps[p.step]["name"] if p.status == "in_review" and p.step < len(steps)
                         else None, total=len(steps)),
            approvals=[ApprovalOut.of(a) for a in p.approvals
                       if not a.voided and rev is not None and a.revision_id == rev.id],
            approval_history=[ApprovalOut.of(a) for a in p.approvals],
            findings=[Finding.model_validate(f) for f in findings],
            dispatches=[PostDispatchOut.of(d, figures.get(d.id)) for d in dispatches],
            **_library_views(session, p),
        )


class PostList(Out):
    posts: list[PostBrief]
    next_after: str | None = Field(default=None, description="cursor of the next page (after=…); null on the last")


class CommentOut(Out):
    id: int
    user: UserRef
    revision: int | None
    body: str
    at: Timestamp | None


class MediaUpload(In):
    """``POST /media``: one file as the multipart field ``file``: a body image (JPG, PNG, GIF or WebP,
    ≤ 10 MB) or a video (MP4, ≤ ``HUB_MAX_VIDEO_MB``, streamed to disk)."""

    file: bytes = Field(json_schema_extra={"format": "binary"})


class MediaOut(Out):
    """A stored image (put ``url`` in an ``<img src>`` of ``content``, or its id in ``cover``) or video
    (its id in a post's ``video``)."""

    id: int
    kind: str = Field(description='"image" or "video"')
    url: str = Field(description="/media/<id>/<first 32 hex of sha256>.<ext> (signed-in users of the unit)")
    sha256: str
    bytes: int = Field(description="size in bytes")
    mime: str
    width: int | None
    height: int | None
    size: int
    duration: float | None = Field(None, description="a video's duration in seconds")


def _library_views(session: Session, p: Post) -> dict[str, Any]:
    from hub.posts import library

    rev = p.current_revision
    v = library.validity_of(rev)
    return {
        "validity": ValidityOut(status=v["status"], label=str(library.VALIDITY_STATUSES[v["status"]]),
                                effective_on=v.get("effective_on"), expires_on=v.get("expires_on"),
                                replaced_by=PostRef(**v["replaced_by"]) if v.get("replaced_by") else None,
                                auto=bool(v.get("auto"))) if v else None,
        "policies": [PostRef(id=x["id"], title=x["title"]) for x in library.policies_of(rev)],
        "interpretations": [PostRef(id=i.id, title=i.current_revision.title if i.current_revision else "")
                            for i in library.interpretations_of(session, p)],
        "needs_interpretation_reminder": library.needs_reminder(session, p),
    }


class CalendarItemOut(Out):
    post_id: int
    title: str
    status: str
    kind: str = Field(description="scheduled (at publish_at) or published (at its dispatches' published_at)")
    at: str = Field(description="ISO 8601 UTC; for a published post, its first publication that day")
    day: str = Field(description="the Beijing day (YYYY-MM-DD) it is shown on")
    unit: str
    accounts: list[str]
    movable: bool = Field(description="whether the caller may reschedule it (POST /posts/<id>/schedule)")


class CalendarOut(Out):
    first_day: str = Field(description="first Beijing day shown (YYYY-MM-DD)")
    last_day: str = Field(description="last Beijing day shown, inclusive")
    items: list[CalendarItemOut]
