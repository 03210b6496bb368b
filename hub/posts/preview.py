"""The post editor's per-platform preview (see hub.web): a session JSON endpoint that answers,
for every platform among the ticked accounts, how the post will look there and which problems
the platform's adapter reports (the same ``validate()`` the save path runs, so the editor and
the server always agree). Called debounced by static/preview.js.

    POST /posts/platform-preview   JSON {title, content, summary, author, source_url, account_ids,
                                         post_id?, variants?}  (CSRF header, session login)
"""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import select

from hub.content import sanitize_html
from hub.errors import BadRequest, Unprocessable
from hub.i18n_marks import PLATFORM_LABELS
from hub.models import Account
from hub.posts import access as post_access

__all__ = ["preview"]

MAX_ACCOUNTS = 500
TEXT_LIMITS = {"title": 200, "summary": 1000, "author": 64, "source_url": 500, "content": 4 * 1024 * 1024}
#: WeChat fills an empty digest with the start of the body (this many characters).
WECHAT_AUTO_DIGEST = 54
#: Stands in for the link a Weibo status must carry when the post has no source URL (the
#: account's 安全域名 link is used then; its length is about that of a shortened link).
WEIBO_LINK_PLACEHOLDER = "http://t.cn/A6xxxxxx"


def _str(data: dict[str, Any], key: str) -> str:
    value = data.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRequest(f"{key} 必须是字符串", code="invalid_field", field=key)
    if len(value) > TEXT_LIMITS[key]:
        raise BadRequest(f"{key} 过长（不得超过 {TEXT_LIMITS[key]} 字）", code="field_too_long", field=key)
    return value


def _account_ids(data: dict[str, Any]) -> list[int]:
    ids = data.get("account_ids", [])
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise BadRequest("account_ids 必须是账号编号数组", code="invalid_account_ids")
    if len(ids) > MAX_ACCOUNTS:
        raise BadRequest(f"一次最多预览 {MAX_ACCOUNTS} 个账号", code="too_many_accounts")
    return sorted(set(ids))


def _variants(data: dict[str, Any]) -> dict[str, dict[str, str]]:
    v = data.get("variants") or {}
    if not isinstance(v, dict) or not all(
        isinstance(p, str) and isinstance(o, dict) and all(isinstance(x, str) for x in o.values())
        for p, o in v.items()
    ):
        raise BadRequest("variants 必须形如 {平台: {title?, summary?, text?}}", code="invalid_variants")
    return v


def _cover_url(media_id: int | None) -> str:
    return url_for("web.posts.media", media_id=media_id) if media_id else ""


def preview(session: Any, user: Any, data: Any) -> dict[str, Any]:
    """Per-platform previews and adapter problems for the editor's current content.

    Only accounts of the post's unit (or, for a new post, the user's own unit) may be named;
    any other id is refused with 422, revealing nothing about it.
    """
    from adapters.base import Publication
    from adapters.registry import UnknownPlatform, get_adapter
    from adapters.weibo import STATUS_MAX, WeiboAdapter, plain_text, weibo_length

    if not isinstance(data, dict):
        raise BadRequest("请求体必须是 JSON 对象", code="invalid_body")
    title, summary, author = _str(data, "title"), _str(data, "summary"), _str(data, "author")
    source_url = _str(data, "source_url").strip()
    content = sanitize_html(_str(data, "content"))
    ids = _account_ids(data)
    variants = _variants(data)
    post_cover: int | None = None
    post_id = data.get("post_id")
    if post_id not in (None, ""):
        if not isinstance(post_id, int) or isinstance(post_id, bool):
            raise BadRequest("post_id 必须是稿件编号", code="invalid_post_id")
        post = post_access.get_post(session, user, post_id)
        unit_id = post.unit_id
        if post.current_revision is not None:
            post_cover = post.current_revision.cover_id
    else:
        unit_id = user.unit_id
    accounts = list(session.scalars(select(Account).where(Account.id.in_(ids), Account.unit_id == unit_id)
                                    .order_by(Account.id)).unique()) if ids else []
    found = {a.id for a in accounts}
    missing = [i for i in ids if i not in found]
    if missing:
        raise Unprocessable(f"账号不存在或不属于本单位：{', '.join(map(str, missing))}",
                            code="unknown_accounts", account_ids=missing)
    by_platform: dict[str, list[Account]] = {}
    for a in accounts:
        by_platform.setdefault(a.platform, []).append(a)
    text = plain_text(content)
    out = []
    for platform in sorted(by_platform):
        group = by_platform[platform]
        variant = variants.get(platform) or {}
        entry: dict[str, Any] = {
            "platform": platform, "label": _(PLATFORM_LABELS.get(platform, platform)),
            "accounts": [{"id": a.id, "name": a.name} for a in group],
        }
        try:
            adapter = get_adapter(platform)
        except UnknownPlatform as exc:
            entry.update({"limits": {}, "problems": [str(exc)], "preview": {}})
            out.append(entry)
            continue
        v_title = variant.get("title") or title
        v_summary = variant.get("summary") or summary
        entry["limits"] = dict(adapter.limits)
        entry["problems"] = adapter.validate(title, content, summary, author, variant or None)
        if platform == "wechat":
            covers = [{"account_id": a.id, "url": _cover_url(a.default_cover_id)} for a in group]
            entry["preview"] = {
                "title": v_title, "author": author, "digest": v_summary or text[:WECHAT_AUTO_DIGEST],
                "digest_auto": not v_summary, "cover_url": _cover_url(post_cover),
                "account_covers": covers, "content": content,
            }
            entry["counts"] = {"title": len(v_title), "author": len(author), "summary": len(v_summary),
                               "content": len(content)}
        elif platform == "weibo":
            pub = Publication(dispatch_id=0, title=title, content=content, summary=summary, author=author,
                              source_url=source_url, cover=b"", cover_mime="", marker_url="",
                              variant=variant, link=source_url or WEIBO_LINK_PLACEHOLDER)
            status, long_post = WeiboAdapter("", {}).compose(pub)
            entry["preview"] = {"text": status, "long_post": long_post, "link_from_account": not source_url,
                                "title": v_title}
            entry["counts"] = {"text": weibo_length(status), "text_max": STATUS_MAX}
        else:
            entry["preview"] = {"title": v_title, "summary": v_summary, "content": content}
            entry["counts"] = {"title": len(v_title), "summary": len(v_summary)}
        out.append(entry)
    return {"platforms": out, "ok": not any(e["problems"] for e in out)}
