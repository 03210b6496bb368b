"""Manual publication: a dispatch to a manual-publish account (视频号, 头条号, 人民号, …).

After the final approval the worker checks the dispatch like any other (approval set, rendering,
video hash) and parks it as ``awaiting_manual`` (hub/dispatch/jobs/publish.py). Its page shows the
exact approved material to copy or download. The editor who published it by hand records the
resulting URL here (``POST /api/v1/dispatches/<id>/manual``, or the page's form): the dispatch becomes
``published`` with that URL and the recording editor as the audited actor; the hub then fetches the
URL (hub/dispatch/jobs/manual.py) and records what it found. The daily re-scan and the silence
monitor count it like every publication (they read published dispatches). docs/video-and-manual.md.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from adapters.base import PublishResult
from hub.approval.decisions import approval_set_valid
from hub.dispatch import queueing, state
from hub.dispatch.service import get_dispatch
from hub.errors import BadRequest, Conflict, Forbidden, Unprocessable
from hub.inputs import parse_id
from hub.models import Dispatch, Media, User, utcnow
from hub.models.states import DispatchStatus
from hub.permissions import is_editor_of
from hub.posts.schedule import parse_time

MANUAL = "manual"
KEYS = {"url", "published_at", "screenshot"}


def is_manual(d: Dispatch) -> bool:
    return d.account.platform == MANUAL


def record_manual(session: Session, user: User, dispatch_id: int, data: Any,
                  screenshot: Media | None = None) -> Dispatch:
    """An editor of the post's unit records the URL of a manual publication. 404 / 403 / 409 / 400
    in docs/design.md §8's order."""
    d = get_dispatch(session, user, dispatch_id)
    post = d.post
    if not is_editor_of(user, post.unit_id):
        raise Forbidden("只有稿件所属单位的编辑可以登记人工发布", code="not_editor")
    if not is_manual(d):
        raise Conflict("该账号由系统自动发布，不能登记人工发布", code="not_manual")
    if post.status == "withdrawn":
        raise Conflict("稿件已撤稿，不能再登记发布", code="post_withdrawn")
    if post.current_revision_id != d.revision_id:
        raise Conflict("稿件已修改，审核通过的版本已作废，不能登记旧版本的发布", code="stale_revision")
    if d.status != DispatchStatus.AWAITING_MANUAL:
        raise Conflict("该发布任务当前不在等待人工发布（尚未审核通过放行，或已登记、已取消）",
                       code="not_awaiting_manual", status=d.status)
    ok, reason = approval_set_valid(session, post, d.revision)
    if not ok:
        raise Conflict(f"审核记录已失效，不能登记发布：{reason}", code="approval_invalid")
    if not isinstance(data, dict):
        raise BadRequest("请求体必须是 JSON 对象", code="invalid_body")
    unknown = set(data) - KEYS
    if unknown:
        raise BadRequest(f"未知字段：{', '.join(sorted(unknown))}", code="unknown_field")
    url = data.get("url")
    if not isinstance(url, str) or not url.strip():
        raise BadRequest("请填写发布后的链接 url", code="missing_url", field="url")
    url = url.strip()
    if not url.startswith(("http://", "https://")) or len(url) > 500 or any(c.isspace() for c in url):
        raise Unprocessable("链接必须以 http:// 或 https:// 开头、不含空白且不超过 500 个字符",
                            code="invalid_url", field="url")
    at = parse_time(data.get("published_at")) if data.get("published_at") not in (None, "") else None
    now = utcnow()
    if at is not None and at > now + timedelta(minutes=5):
        raise Unprocessable("发布时间不能晚于现在", code="invalid_published_at", field="published_at")
    if screenshot is None and data.get("screenshot") not in (None, ""):
        sid = parse_id(data["screenshot"]) if isinstance(data["screenshot"], int | str) else None
        screenshot = session.get(Media, sid) if sid is not None else None
        if screenshot is None or screenshot.kind != "image" or screenshot.unit_id not in (None, post.unit_id):
            raise Unprocessable("截图必须是本单位上传的图片（POST /media）", code="unknown_media", field="screenshot")
    d.published_at = at or now
    d.manual_by_id = user.id
    d.screenshot_id = screenshot.id if screenshot is not None else None
    d.manual_check = None
    state.mark_published(session, d, PublishResult("published", url=url), "manual")
    d.updated_at = now
    state.settle_post(session, post)
    queueing.manual_check_after_commit(session, d.id)
    return d


def material(session: Session, d: Dispatch) -> dict[str, Any]:
    """What the editor copies or downloads: the approved rendering's fields, cover, video and body
    images, with short fingerprints (校验码) of the revision and video hashes."""
    from hub.content import html_to_text
    from hub.posts.video import fingerprint, video_url

    rev, account = d.revision, d.account
    rendering = (rev.renderings or {}).get(str(account.id)) or {}
    fields = dict(rendering.get("fields") or {})
    cover_id = rev.cover_id or account.default_cover_id
    video = session.get(Media, rev.video_id) if rev.video_id else None
    return {
        "title": fields.get("title", rev.title),
        "digest": fields.get("digest", rev.summary or ""),
        "text": html_to_text(fields.get("content", rev.content)),
        "cover_id": cover_id,
        "video": {"url": video_url(video), "size": video.size or 0, "duration": video.duration or 0.0,
                  "fingerprint": fingerprint(video.sha256)} if video is not None else None,
        "fingerprint": fingerprint(rev.hash),
    }
