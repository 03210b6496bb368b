"""The library fields of a post (issue 17 parts 3 and 4): category, 信息公开 metadata, policy ↔ 解读
links and 效力标注 (validity).

They live in ``Revision.library`` (and the category in ``Revision.category``), so they are reviewed,
hashed and rendered with the rest of the revision (hub/content.py ``revision_hash``); the website
rendering carries them (adapters/website.py). ``PolicyLink`` rows mirror the current revision's
links so a policy finds its 解读. docs/library.md.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hub.errors import BadRequest, Unprocessable
from hub.i18n_marks import N_
from hub.models import PolicyLink, Post, Revision

#: The categories (code → label). A revision's ``category`` holds the code; older free-text
#: categories (e.g. 栏目 names that review chains are configured for) are kept as they are.
CATEGORIES: dict[str, str] = {
    "policy": N_("政策文件"), "interpretation": N_("政策解读"), "work": N_("工作动态"),
    "notice": N_("通知公告"), "personnel": N_("人事信息"), "finance": N_("财政信息"),
}
POLICY_CATEGORIES = ("policy", "政策文件")
INTERPRETATION_CATEGORIES = ("interpretation", "政策解读")
METADATA_KEYS = {"index_no": 64, "issuer": 100, "written_on": 10, "doc_no": 64, "subject": 64}
METADATA_LABELS = {"index_no": N_("索引号"), "issuer": N_("发文机关"), "written_on": N_("成文日期"),
                   "doc_no": N_("发文字号"), "subject": N_("主题分类")}
VALIDITY_STATUSES: dict[str, str] = {"valid": N_("有效"), "amended": N_("已修改"), "repealed": N_("已废止"),
                                     "expired": N_("失效")}
LIBRARY_FIELDS = ("metadata", "policy_ids", "needs_interpretation")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def is_policy(category: str | None) -> bool:
    return (category or "") in POLICY_CATEGORIES


def is_interpretation(category: str | None) -> bool:
    return (category or "") in INTERPRETATION_CATEGORIES


def category_label(code: str | None) -> str:
    return CATEGORIES.get(code or "", code or "")


def _date(value: Any, field: str) -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or not _DATE.match(value):
        raise BadRequest(f"{field} 必须是 YYYY-MM-DD 格式的日期", code="invalid_date", field=field)
    try:
        date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{field} 不是有效日期", code="invalid_date", field=field) from None
    return value


def _metadata(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequest("metadata 必须是对象：{index_no, issuer, written_on, doc_no, subject}",
                         code="invalid_metadata")
    unknown = set(value) - set(METADATA_KEYS)
    if unknown:
        raise BadRequest(f"metadata 含未知字段：{', '.join(sorted(unknown))}", code="invalid_metadata")
    out: dict[str, str] = {}
    for key, limit in METADATA_KEYS.items():
        v = value.get(key)
        if v in (None, ""):
            continue
        if not isinstance(v, str) or len(v) > limit or any(ord(c) < 32 for c in v):
            raise BadRequest(f"metadata.{key} 必须是不超过 {limit} 字的单行文字", code="invalid_metadata",
                             field=f"metadata.{key}")
        out[key] = _date(v, f"metadata.{key}") if key == "written_on" else v.strip()
    return out


def _policy_refs(session: Session, unit_id: int, value: Any, self_id: int | None) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in value):
        raise BadRequest("policy_ids 必须是稿件编号数组", code="invalid_policy_ids", field="policy_ids")
    ids = sorted(set(value) - ({self_id} if self_id else set()))
    posts = {p.id: p for p in session.scalars(select(Post).where(Post.id.in_(ids))).unique()} if ids else {}
    bad = [i for i in ids if i not in posts or posts[i].unit_id != unit_id
           or not is_policy(getattr(posts[i].current_revision, "category", None))]
    if bad:
        raise Unprocessable(f"关联的政策文件不存在、不属于本单位或不是政策文件：{', '.join(map(str, bad))}",
                            code="unknown_policies", policy_ids=bad)
    return [{"id": i, "title": posts[i].current_revision.title} for i in ids]  # type: ignore[union-attr]


def validate(session: Session, unit_id: int, data: dict, f: dict, self_id: int | None) -> None:
    """Merge the library fields of ``data`` into the revision fields ``f`` (in place)."""
    lib = dict(f.get("library") or {})
    if "metadata" in data:
        lib["metadata"] = _metadata(data["metadata"])
    if "policy_ids" in data:
        lib["policies"] = _policy_refs(session, unit_id, data["policy_ids"], self_id)
    if "needs_interpretation" in data:
        if not isinstance(data["needs_interpretation"], bool):
            raise BadRequest("needs_interpretation 必须是布尔值", code="invalid_field", field="needs_interpretation")
        lib["needs_interpretation"] = data["needs_interpretation"]
    category = f.get("category", "")
    if not is_interpretation(category):
        lib.pop("policies", None)
    if not is_policy(category):
        lib.pop("needs_interpretation", None)
        lib.pop("validity", None)
    f["library"] = {k: v for k, v in lib.items() if v not in (None, {}, [], False)}


def validity_fields(session: Session, post: Post, data: Any) -> dict[str, Any]:
    """The validity a ``POST /posts/<id>/validity`` body asks for (checked)."""
    if not isinstance(data, dict):
        raise BadRequest("请求体必须是 JSON 对象", code="invalid_body")
    unknown = set(data) - {"status", "effective_on", "expires_on", "replaced_by"}
    if unknown:
        raise BadRequest(f"未知字段：{', '.join(sorted(unknown))}", code="unknown_field")
    status = data.get("status")
    if status not in VALIDITY_STATUSES:
        raise BadRequest("status 必须是 valid、amended、repealed 或 expired", code="invalid_validity",
                         field="status")
    out: dict[str, Any] = {"status": status}
    for key in ("effective_on", "expires_on"):
        if v := _date(data.get(key), key):
            out[key] = v
    if out.get("effective_on") and out.get("expires_on") and out["expires_on"] < out["effective_on"]:
        raise Unprocessable("失效日期不能早于生效日期", code="invalid_validity", field="expires_on")
    rb = data.get("replaced_by")
    if rb is not None:
        if not isinstance(rb, int) or isinstance(rb, bool):
            raise BadRequest("replaced_by 必须是稿件编号", code="invalid_validity", field="replaced_by")
        other = session.get(Post, rb)
        if other is None or other.id == post.id or other.unit_id != post.unit_id or other.current_revision is None:
            raise Unprocessable("替代的稿件不存在或不属于本单位", code="unknown_replacement", field="replaced_by")
        out["replaced_by"] = {"id": other.id, "title": other.current_revision.title}
    elif status == "amended":
        raise Unprocessable("标注“已修改”时请指明修改后的文件（replaced_by）", code="missing_replacement",
                            field="replaced_by")
    return out


def sync_links(session: Session, post: Post, rev: Revision) -> None:
    """Make ``PolicyLink`` match the 解读's current revision."""
    session.execute(delete(PolicyLink).where(PolicyLink.interpretation_id == post.id))
    for p in (rev.library or {}).get("policies") or []:
        session.add(PolicyLink(interpretation_id=post.id, policy_id=int(p["id"])))
    session.flush()


def policies_of(rev: Revision | None) -> list[dict[str, Any]]:
    return list(((rev.library or {}).get("policies") or []) if rev is not None else [])


def interpretations_of(session: Session, post: Post) -> list[Post]:
    """The 解读 whose current revision links ``post``, oldest first."""
    return list(session.scalars(select(Post).join(PolicyLink, PolicyLink.interpretation_id == Post.id)
                                .where(PolicyLink.policy_id == post.id).order_by(Post.id)).unique())


def validity_of(rev: Revision | None) -> dict[str, Any] | None:
    if rev is None or not is_policy(rev.category):
        return None
    return dict((rev.library or {}).get("validity") or {"status": "valid"})


def needs_reminder(session: Session, post: Post) -> bool:
    """A policy marked 需解读 with no published 解读 linking it yet."""
    rev = post.current_revision
    if rev is None or not is_policy(rev.category) or not (rev.library or {}).get("needs_interpretation"):
        return False
    return not any(p.status in ("published", "partially_published") for p in interpretations_of(session, post))


#: The banner on the item (the website shows it above the article): what each status says.
BANNERS = {"amended": "本文件已修改", "repealed": "本文件已废止", "expired": "本文件已失效"}


def banner(validity: dict[str, Any] | None) -> str:
    """The Chinese banner text of a validity (sent to the website verbatim, so not translated)."""
    if not validity or validity.get("status") not in BANNERS:
        return ""
    text = BANNERS[validity["status"]]
    if validity["status"] == "expired" and validity.get("expires_on"):
        text += f"（{validity['expires_on']} 起）"
    rb = validity.get("replaced_by")
    if rb:
        text += f"，现行文件：《{rb.get('title', '')}》"
    return text


def published_dispatches(session: Session, post: Post) -> list[Any]:
    """The post's dispatches that reached a platform and are still up there."""
    from hub.models import Dispatch

    return list(session.scalars(select(Dispatch).where(Dispatch.post_id == post.id,
                                                       Dispatch.status == "published").order_by(Dispatch.id)))


def for_platform(fields: dict[str, Any]) -> dict[str, Any]:
    """What a platform that shows the library fields is given (``Publication.library``): plain Chinese
    labels and values, derived only from the revision's fields (so rendering it again gives the same)."""
    lib = fields.get("library") or {}
    category = fields.get("category") or ""
    out: dict[str, Any] = {}
    if category:
        out["category"] = str(CATEGORIES.get(category, category))
    meta = lib.get("metadata") or {}
    if meta:
        out["metadata"] = [[str(METADATA_LABELS[k]), meta[k]] for k in METADATA_KEYS if meta.get(k)]
    if lib.get("policies"):
        out["policies"] = [{"id": p["id"], "title": p["title"]} for p in lib["policies"]]
    validity = lib.get("validity")
    if validity and is_policy(category):
        out["validity"] = {"status": validity["status"], "label": str(VALIDITY_STATUSES[validity["status"]]),
                           **{k: validity[k] for k in ("effective_on", "expires_on", "replaced_by") if validity.get(k)}}
        if text := banner(validity):
            out["banner"] = text
    return out


def unit_policies(session: Session, unit_id: int, limit: int = 200) -> list[Post]:
    """The unit's policies, newest first (the editor's pick list for a 解读's links)."""
    return list(session.scalars(select(Post).join(Revision, Revision.id == Post.current_revision_id).where(
        Post.unit_id == unit_id, Post.status != "withdrawn", Revision.category.in_(POLICY_CATEGORIES))
        .order_by(Post.id.desc()).limit(limit)).unique())
