"""Weibo comments: what the public writes under the account's statuses or where it @mentions the account.

As Weibo's documentation describes them (open.weibo.com/wiki/2/comments/*):

* ``comments/to_me.json`` — comments others made on the account's statuses (kind "comment");
* ``comments/mentions.json`` — comments that @mention the account, on anyone's status (kind "mention");
* both take ``since_id`` (only comments with a larger id, i.e. newer), ``max_id`` (id ≤ max_id),
  ``count`` (default 50; 200 asked here) and ``page``, and answer newest first. Comment ids are one
  id space, so one ``since_id`` (the largest id seen) serves both lists. Pages are read with
  ``max_id`` = the oldest id seen − 1, which neither skips nor repeats when comments arrive meanwhile;
* ``comments/reply.json`` — ``cid`` (the comment), ``id`` (its status), ``comment`` (≤ 140 字): the reply,
  shown as "回复@昵称:…" (``without_mention`` 0, so the person is notified).

Calls, token and errors are the publishing adapter's (adapters/weibo.py): ``{"error_code", "error"}``
answers become :class:`PlatformError` with zh-CN messages; busy (10001/10009) is retried and raised
``retryable``; the hourly limits carry ``retry_after``; a lost reply answer is ``ambiguous``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .base import PlatformError
from .weibo import WeiboAdapter, weibo_length

DEFAULT_API_BASE = WeiboAdapter.default_api_base
PAGE_SIZE = 200
#: Pages read per list and call at most (the next call goes on from the largest id returned).
MAX_PAGES = 25
REPLY_MAX = 140
LISTS = (("comment", "/2/comments/to_me.json"), ("mention", "/2/comments/mentions.json"))

MESSAGES = {
    20012: "回复超过 140 字，微博拒绝了回复",
    20019: "已经发过相同的回复",
    20101: "微博上找不到该条微博（可能已被删除），无法回复",
    20201: "微博上找不到该条评论（可能已被删除），无法回复",
    20206: "该微博作者只允许互相关注的用户评论",
    20207: "该微博作者只允许可信用户评论",
}

__all__ = ["InboundComment", "PlatformError", "fetch_comments", "reply_comment"]


@dataclass
class InboundComment:
    """One comment from the public. ``kind``: "comment" (on the account's status) | "mention"."""

    comment_id: str
    status_id: str
    user_id: str
    text: str
    created_at: datetime  # timezone-aware, UTC
    kind: str


def _adapter(credentials: dict[str, str], api_base: str | None) -> WeiboAdapter:
    base = (api_base or credentials.get("api_base") or DEFAULT_API_BASE).rstrip("/")
    return WeiboAdapter(base, credentials)


def _refine(err: PlatformError) -> PlatformError:
    if err.code in MESSAGES:
        err.message = MESSAGES[err.code]
        err.args = (err.message,)
    return err


def _created(raw: Any) -> datetime:
    try:
        return datetime.strptime(str(raw), "%a %b %d %H:%M:%S %z %Y").astimezone(UTC)
    except ValueError:
        return datetime.now(UTC)


def _comment(item: dict[str, Any], kind: str) -> InboundComment | None:
    cid = str(item.get("idstr") or item.get("id") or "")
    raw_status, raw_user = item.get("status"), item.get("user")
    status: dict[str, Any] = raw_status if isinstance(raw_status, dict) else {}
    user: dict[str, Any] = raw_user if isinstance(raw_user, dict) else {}
    if not cid.isdigit():
        return None
    return InboundComment(comment_id=cid, status_id=str(status.get("idstr") or status.get("id") or ""),
                          user_id=str(user.get("idstr") or user.get("id") or ""),
                          text=str(item.get("text") or ""), created_at=_created(item.get("created_at")), kind=kind)


def fetch_comments(credentials: dict[str, str], *, since_id: str | None,
                   api_base: str | None = None) -> list[InboundComment]:
    """Every comment to the account and every comment mentioning it newer than ``since_id``, oldest first.

    ``credentials``: the account's (``access_token``). ``api_base``: the account's API base (else
    ``credentials["api_base"]``, else https://api.weibo.com). A comment in both lists is kind "comment".
    Raises :class:`PlatformError`.
    """
    adapter = _adapter(credentials, api_base)
    since = int(since_id) if since_id and str(since_id).isdigit() else 0
    found: dict[str, InboundComment] = {}
    for kind, path in LISTS:
        max_id = 0
        for _page in range(MAX_PAGES):
            params: dict[str, Any] = {"since_id": since, "count": PAGE_SIZE}
            if max_id:
                params["max_id"] = max_id
            try:
                res = adapter._call("GET", path, mutating=False, params=params)
            except PlatformError as exc:
                raise _refine(exc) from None
            items = [c for c in (res.get("comments") or []) if isinstance(c, dict)] if isinstance(res, dict) else []
            page = [c for c in (_comment(i, kind) for i in items) if c is not None and int(c.comment_id) > since]
            for c in page:
                found.setdefault(c.comment_id, c)
            if not page or len(items) < PAGE_SIZE:
                break
            max_id = min(int(c.comment_id) for c in page) - 1
    return sorted(found.values(), key=lambda c: int(c.comment_id))


def reply_comment(credentials: dict[str, str], *, status_id: str, comment_id: str, text: str,
                  api_base: str | None = None) -> str:
    """Reply ``text`` to the comment ``comment_id`` on status ``status_id``; returns the reply's id.

    Raises :class:`PlatformError` (``ambiguous`` when the answer was lost: the reply may exist).
    """
    if not text.strip():
        raise PlatformError("回复内容为空", code="empty")
    if weibo_length(text) > REPLY_MAX:
        raise PlatformError(MESSAGES[20012], code=20012)
    adapter = _adapter(credentials, api_base)
    try:
        res = adapter._call("POST", "/2/comments/reply.json", mutating=True,
                            data={"cid": comment_id, "id": status_id, "comment": text, "without_mention": 0,
                                  "comment_ori": 0})
    except PlatformError as exc:
        raise _refine(exc) from None
    reply_id = str((res or {}).get("idstr") or (res or {}).get("id") or "") if isinstance(res, dict) else ""
    if not reply_id:
        raise PlatformError("微博接受了回复，但没有返回回复编号", code="answer", ambiguous=True)
    return reply_id
