"""Content checks as the hub uses them (the engine lives in review.checks).

* ``findings_for_revision``: the findings of a revision's title, summary and body with the
  current lexicon (shared files plus the database-held additions and disabled rules that
  apply to the post's unit), each with a stable ``id``, its ``field``, the
  ``lexicon_version`` and, when a reviewer accepted it, its ``override``.
* ``blocking``: what still stops a submission (block findings not overridden).
* ``override_finding``: a reviewer or admin of the post's unit, who did not write the post,
  accepts one blocking finding of the current revision with a reason (audited).
* ``preview``: the editor's 检查 button (plain text of the editor with offsets in its own
  indices, plus the HTML for the attribute checks).
* ``highlight_html``: the rendered content with the findings marked in place.
"""

from __future__ import annotations

import hashlib
import html as html_mod
import re
import threading
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub import audit
from hub.config import get_settings
from hub.errors import BadRequest, Conflict, Forbidden, NotFound, Unprocessable
from hub.i18n_marks import N_
from hub.models import (
    FindingOverride,
    LexiconDisable,
    LexiconEntry,
    LexiconVersion,
    Post,
    Revision,
    Unit,
    User,
)
from hub.permissions import is_admin_of

FIELDS = ("title", "summary", "content")
FIELD_LABELS = {"title": N_("标题"), "summary": N_("摘要"), "content": N_("正文"), "author": N_("作者"),
                "source_url": N_("原文链接")}
OVERRIDABLE_STATUSES = ("draft", "rejected", "in_review")
MAX_REASON = 2000
MAX_PREVIEW = 500_000  # characters of one preview request


# -- configuration -----------------------------------------------------------------------------
def allowed_domains() -> tuple[str, ...]:
    """Domains allowed in links besides *.gov.cn (``HUB_ALLOWED_DOMAINS``, comma-separated): the
    app's config when there is an app and it sets them, else the environment."""
    from flask import current_app, has_app_context

    return get_settings(current_app.config if has_app_context() else None).allowed_domains


# -- the database-held lexicon overlay --------------------------------------------------------
_overlay_lock = threading.Lock()
_overlay_cache: dict[tuple[str, int], Any] = {}


def latest_version(session: Session) -> LexiconVersion | None:
    """The newest change of the database-held lexicon (None: only the shared files)."""
    return session.scalars(select(LexiconVersion).order_by(LexiconVersion.number.desc()).limit(1)).first()


def version_label(number: int) -> str:
    """The lexicon version findings record: the shared files' version plus the change number."""
    from review.checks import LEXICON_VERSION

    return f"{LEXICON_VERSION}+{number}" if number else LEXICON_VERSION


def state_digest(session: Session) -> str:
    """SHA-256 over every active addition and disable (what the overlay is compiled from)."""
    h = hashlib.sha256()
    for row in _active_entries(session):
        h.update(repr((row.unit_id, row.category, row.wrong, row.right, row.severity, row.reason, row.exceptions,
                       row.tag, row.since)).encode())
        h.update(b"\n")
    h.update(b"--\n")
    for d in _active_disables(session):
        h.update(repr((d.unit_id, d.rule)).encode())
        h.update(b"\n")
    return h.hexdigest()


def _active_entries(session: Session) -> list[LexiconEntry]:
    return list(session.scalars(select(LexiconEntry).where(LexiconEntry.active.is_(True))
                                .order_by(LexiconEntry.id)).unique())


def _active_disables(session: Session) -> list[LexiconDisable]:
    return list(session.scalars(select(LexiconDisable).where(LexiconDisable.active.is_(True))
                                .order_by(LexiconDisable.id)).unique())


def split_exceptions(value: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in value.replace("｜", "|").split("|") if x.strip())


def current_overlay(session: Session) -> Any:
    """The compiled-once overlay of database-held lexicon changes (None when there are none).

    One small query per call (the newest version row); the entries are read again only when
    its digest changes, and the engine compiles one shared automaton per digest.
    """
    from review.checks import Addition, Overlay

    head = latest_version(session)
    if head is None:
        return None
    key = (head.digest, head.number)
    overlay = _overlay_cache.get(key)
    if overlay is not None:
        return overlay
    additions = tuple(Addition(scope=e.unit_id, category=e.category, wrong=e.wrong, right=e.right,
                               severity=e.severity, reason=e.reason, exceptions=split_exceptions(e.exceptions),
                               tag=e.tag, since=e.since) for e in _active_entries(session))
    disables = tuple((d.unit_id, d.rule) for d in _active_disables(session))
    overlay = Overlay(key=head.digest, label=version_label(head.number), additions=additions, disables=disables)
    with _overlay_lock:
        _overlay_cache.clear()
        _overlay_cache[key] = overlay
    return overlay


def unit_scopes(session: Session, unit_id: int) -> tuple[int, ...]:
    """The unit and its ancestors: whose lexicon additions and disables apply to its content."""
    unit = session.get(Unit, unit_id)
    return tuple(u.id for u in unit.path()) if unit is not None else ()


# -- findings ----------------------------------------------------------------------------------
def run_checks(content: str, *, is_html: bool | None = None) -> list[dict[str, Any]]:
    """Findings for ``content`` (text or HTML) as dicts in the API's shape (shared lexicon only)."""
    from review.checks import check_content

    return [f.to_dict() for f in check_content(content, is_html=is_html)]


def finding_id(field: str, rule: str, start: int, end: int) -> str:
    """A finding's stable id within a revision: its field, rule and span, hashed."""
    return hashlib.sha256(f"{field}\0{rule}\0{start}\0{end}".encode()).hexdigest()[:16]


def check_fields(session: Session, unit_id: int, fields: dict[str, tuple[str, bool | None]]) -> list[dict[str, Any]]:
    """Findings over named fields ({field: (text, is_html)}) with the lexicon of ``unit_id``."""
    from review.checks import check_content, lexicon_label

    overlay = current_overlay(session)
    label = lexicon_label(overlay)
    scopes = unit_scopes(session, unit_id)
    domains = allowed_domains()
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for field, (text, is_html) in fields.items():
        if not text:
            continue
        for f in check_content(text, is_html=is_html, allowed_domains=domains, overlay=overlay, scopes=scopes):
            d = f.to_dict()
            d["id"] = finding_id(field, f.rule, f.start, f.end)
            if d["id"] in seen:
                continue
            seen.add(d["id"])
            d["field"] = field
            d["lexicon_version"] = label
            out.append(d)
    return out


def revision_fields_to_check(rev: Revision) -> dict[str, tuple[str, bool | None]]:
    """Every field of a revision that may reach a reader, by name: the revision's own fields, each
    platform variant, and each field of each target account's rendering (what the platform is sent),
    a rendering field checked once when it repeats a field already read."""
    fields: dict[str, tuple[str, bool | None]] = {
        "title": (rev.title, False), "summary": (rev.summary, False), "content": (rev.content, True),
        "author": (rev.author, False), "source_url": (rev.source_url, False)}
    for i, article in enumerate(rev.articles or []):
        for key in ("title", "summary", "author", "source_url", "content"):
            value = article.get(key) or ""
            if value.strip():
                fields[f"articles.{i}.{key}"] = (value, key == "content")
    for platform, variant in sorted((rev.variants or {}).items()):
        for key, value in sorted((variant or {}).items()):
            if isinstance(value, str) and value.strip():
                fields[f"variants.{platform}.{key}"] = (value, False)
    seen = {(text, bool(html)) for text, html in fields.values()}
    for _acc, r in sorted((rev.renderings or {}).items(), key=lambda kv: int(kv[0])):
        html_fields = set(r.get("html_fields") or ())
        for key, value in sorted((r.get("fields") or {}).items()):
            html = key in html_fields
            if not isinstance(value, str) or not value.strip() or (value, html) in seen:
                continue
            seen.add((value, html))
            fields[f"rendering.{r.get('platform', '')}.{key}"] = (value, html)
    return fields


def rendering_findings(rev: Revision) -> list[dict[str, Any]]:
    """What a platform would refuse (block) or strip (warn), as findings of its rendering."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for _acc, r in sorted((rev.renderings or {}).items(), key=lambda kv: int(kv[0])):
        platform = r.get("platform", "")
        for severity, key in (("block", "problems"), ("warn", "warnings")):
            for message in r.get(key) or ():
                rule = f"platform.{platform}.{'refused' if severity == 'block' else 'stripped'}"
                fid = finding_id(f"rendering.{platform}", rule + message, 0, 0)
                if fid in seen:
                    continue
                seen.add(fid)
                out.append({"id": fid, "rule": rule, "category": "platform", "severity": severity, "start": 0,
                            "end": 0, "text": "", "suggestion": None, "message": message,
                            "field": f"rendering.{platform}", "lexicon_version": ""})
    return out


def _once(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A rendering field is made from the revision's fields (WeChat's body minus what WeChat strips, a
    Weibo status from the title): a finding of it that repeats one of those fields (same rule, same
    text) is the same problem, reported once, in the field the editor edits."""
    edited = {(f["rule"], f.get("text")) for f in findings if not f["field"].startswith("rendering.")}
    return [f for f in findings if not f["field"].startswith("rendering.") or (f["rule"], f.get("text")) not in edited]


def revision_findings(session: Session, rev: Revision, unit_id: int | None = None) -> list[dict[str, Any]]:
    """Findings over every field of a revision that may reach a reader (body offsets into its HTML),
    and what each target platform would refuse or strip."""
    if unit_id is None:
        post = session.get(Post, rev.post_id)
        unit_id = post.unit_id if post is not None else 0
    return _once(check_fields(session, unit_id, revision_fields_to_check(rev))) + rendering_findings(rev)


def findings_for_revision(session: Session, rev: Revision) -> list[dict[str, Any]]:
    """The revision's findings, each with ``override`` (who accepted it, why) or None."""
    findings = revision_findings(session, rev)
    overrides = {o.finding_id: o for o in session.scalars(
        select(FindingOverride).where(FindingOverride.revision_id == rev.id)).unique()}
    for f in findings:
        o = overrides.get(f["id"])
        f["override"] = override_json(o) if o is not None else None
    return findings


def override_json(o: FindingOverride) -> dict[str, Any]:
    from hub.times import iso

    return {"by": o.user.to_ref(), "reason": o.reason, "at": iso(o.at), "lexicon_version": o.lexicon_version}


def blocking(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Block findings no reviewer has overridden: these stop a submission."""
    return [f for f in findings if f["severity"] == "block" and not f.get("override")]


# -- overrides ---------------------------------------------------------------------------------
def may_override(session: Session, user: User, post: Post) -> bool:
    """A reviewer or admin of the post's unit who neither created nor edited the post."""
    from hub.posts.access import contributors

    if not (user.has_role("reviewer", post.unit_id) or is_admin_of(session, user, post.unit_id)):
        return False
    return user.id not in contributors(session, post)


def override_finding(session: Session, user: User, post_id: int, fid: str, body: Any) -> dict[str, Any]:
    """Accept one blocking finding of the post's current revision, with a reason (audited).

    Status order as docs/design.md §8 gives it: 404 post or finding unknown, 403 not allowed, 409 state
    (not before/in review, stale revision, already overridden), 400 bad body, 422 the finding
    does not block.
    """
    from hub.posts.access import contributors, get_post

    post = get_post(session, user, post_id, lock=True)
    if not (user.has_role("reviewer", post.unit_id) or is_admin_of(session, user, post.unit_id)):
        raise Forbidden("只有本单位审核人或管理员可以豁免检查结果", code="not_reviewer")
    if user.id in contributors(session, post):
        raise Forbidden("不能豁免自己撰写或修改过的稿件的检查结果", code="own_revision")
    rev = post.current_revision
    assert rev is not None
    findings = findings_for_revision(session, rev)
    finding = next((f for f in findings if f["id"] == fid), None)
    if finding is None:
        raise NotFound("该检查结果不存在（稿件可能已修改或词库已更新，请刷新）", code="finding_not_found")
    if post.status not in OVERRIDABLE_STATUSES:
        raise Conflict(f"稿件当前状态（{post.status}）不能豁免检查结果", code="not_overridable", status=post.status)
    if not isinstance(body, dict):
        raise BadRequest("请求体必须是 JSON 对象", code="invalid_body")
    given = body.get("revision_hash")
    if given is not None and given != rev.hash:
        raise Conflict("稿件已被修改，请刷新后再处理", code="stale_revision", current_hash=rev.hash)
    if finding["override"]:
        raise Conflict("该检查结果已被豁免", code="already_overridden", override=finding["override"])
    unknown = set(body) - {"reason", "revision_hash"}
    if unknown:
        raise BadRequest(f"未知字段：{', '.join(sorted(unknown))}", code="unknown_field")
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise BadRequest("豁免检查结果必须填写理由", code="missing_reason")
    if len(reason) > MAX_REASON:
        raise BadRequest(f"理由不得超过 {MAX_REASON} 个字符", code="invalid_reason")
    if finding["severity"] != "block":
        raise Unprocessable("只有“必须修改”（block）级别的检查结果需要豁免；提示类结果不影响提交",
                            code="finding_not_blocking", severity=finding["severity"])
    reason = reason.strip()
    o = FindingOverride(post_id=post.id, revision_id=rev.id, finding_id=fid, field=finding["field"],
                        rule=finding["rule"], category=finding["category"], severity=finding["severity"],
                        start_offset=finding["start"], end_offset=finding["end"], text=finding["text"],
                        reason=reason, lexicon_version=finding["lexicon_version"], user_id=user.id)
    session.add(o)
    session.flush()
    label = FIELD_LABELS.get(finding["field"], finding["field"])
    audit.record(session, "post.finding_override", object_type="post", object_id=post.id, unit=post.unit,
                 summary=f"豁免{label}检查结果「{finding['text'][:40]}」（{finding['rule']}）：{reason[:100]}",
                 details={"finding_id": fid, "field": finding["field"], "rule": finding["rule"],
                          "category": finding["category"], "start": finding["start"], "end": finding["end"],
                          "text": finding["text"][:200], "revision": rev.number, "revision_hash": rev.hash,
                          "lexicon_version": finding["lexicon_version"], "reason": reason})
    finding["override"] = override_json(o)
    return finding


# -- the editor's check button -----------------------------------------------------------------
def preview(session: Session, user: User, body: Any) -> dict[str, Any]:
    """Findings for the editor: ``text`` is the editor's plain text (offsets index it, so the
    editor can highlight in place), ``content`` its HTML (link and map checks on attributes,
    listed when the text alone does not show them), ``title``/``summary`` their inputs."""
    if not isinstance(body, dict):
        raise BadRequest("请求体必须是 JSON 对象", code="invalid_body")
    values: dict[str, str] = {}
    for key in ("text", "content", "title", "summary"):
        v = body.get(key, "")
        if v is None:
            v = ""
        if not isinstance(v, str):
            raise BadRequest(f"字段 {key} 必须是字符串", code="invalid_field", field=key)
        if len(v) > MAX_PREVIEW:
            raise Unprocessable(f"字段 {key} 过长（不超过 {MAX_PREVIEW} 个字符）", code="field_too_long", field=key)
        values[key] = v
    extra: dict[str, tuple[str, bool | None]] = {}
    for key in ("author", "source_url"):
        v = body.get(key)
        if v not in (None, ""):
            if not isinstance(v, str) or len(v) > 1000:
                raise BadRequest(f"字段 {key} 必须是不超过 1000 字的字符串", code="invalid_field", field=key)
            extra[key] = (v, False)
    variants = body.get("variants") or {}
    if not isinstance(variants, dict) or not all(
            isinstance(p, str) and isinstance(o, dict) and all(isinstance(k, str) and isinstance(t, str)
                                                               for k, t in o.items()) for p, o in variants.items()):
        raise BadRequest("variants 必须形如 {平台: {title?, summary?, text?}}", code="invalid_variants")
    for platform, o in sorted(variants.items()):
        for key, text in sorted(o.items()):
            if key in ("title", "summary", "text") and text.strip():
                if len(text) > MAX_PREVIEW:
                    raise Unprocessable(f"字段 variants.{platform}.{key} 过长", code="field_too_long")
                extra[f"variants.{platform}.{key}"] = (text, False)
    unit_id = _preview_unit(session, user, body.get("post_id"))
    findings = check_fields(session, unit_id, {"title": (values["title"], False),
                                               "summary": (values["summary"], False),
                                               "text": (values["text"], False), **extra})
    if values["content"]:
        shown = {(f["rule"], f["text"]) for f in findings}
        for f in check_fields(session, unit_id, {"content": (values["content"], True)}):
            if (f["rule"], f["text"]) not in shown:
                findings.append(f)
    from review.checks import lexicon_label

    return {"findings": findings, "lexicon_version": lexicon_label(current_overlay(session))}


def _preview_unit(session: Session, user: User, post_id: Any) -> int:
    """The unit whose lexicon applies: the edited post's, else the user's."""
    if post_id in (None, ""):
        return user.unit_id
    if not isinstance(post_id, int) or isinstance(post_id, bool):
        raise BadRequest("post_id 必须是稿件编号", code="invalid_post_id")
    from hub.posts.access import get_post

    return get_post(session, user, post_id).unit_id


# -- highlighting over rendered HTML -----------------------------------------------------------
_TAG = re.compile(r"<!--.*?-->|<[^>]*>", re.S)
_SEV_ORDER = {"block": 0, "warn": 1, "info": 2}


def highlight_html(content: str, findings: list[dict[str, Any]]) -> str:
    """``content`` with every body finding marked in place (``<mark class="finding …">``).

    Findings start and end on text (never inside a tag), so marks wrap text runs only and the
    markup stays well-formed: a finding across an inline tag (攻</b>府) gets one mark per run.
    An ``<img>`` finding (a map without 审图号) wraps the whole tag; findings inside attribute
    values (links) are listed, not marked. Overlapping findings share the runs they overlap.
    """
    spans = [(f["start"], f["end"], f) for f in findings
             if f.get("field", "content") == "content" and 0 <= f["start"] < f["end"] <= len(content)]
    if not spans:
        return content
    tags = [(m.start(), m.end()) for m in _TAG.finditer(content)]
    whole_tags = {(s, e) for s, e in tags}
    out: list[str] = []
    pos = 0
    cuts = sorted({p for s, e, _f in spans for p in (s, e)})
    for i, (ts, te) in enumerate([*tags, (len(content), len(content))]):
        if pos < ts:
            out.append(_mark_text(content, pos, ts, spans, cuts))
        if i < len(tags):
            covering = [f for s, e, f in spans if (s, e) == (ts, te) and (ts, te) in whole_tags]
            if covering and content[ts:ts + 4].lower() == "<img":
                out.append(_open_mark(covering) + content[ts:te] + "</mark>")
            else:
                out.append(content[ts:te])
        pos = te
    return "".join(out)


def _mark_text(content: str, a: int, b: int, spans: list[tuple[int, int, dict[str, Any]]],
               cuts: list[int]) -> str:
    points = [a, *(p for p in cuts if a < p < b), b]
    out: list[str] = []
    for s, e in zip(points, points[1:], strict=False):
        if s >= e:
            continue
        covering = [f for fs, fe, f in spans if fs <= s and e <= fe]
        piece = content[s:e]
        out.append(_open_mark(covering) + piece + "</mark>" if covering else piece)
    return "".join(out)


def _open_mark(covering: list[dict[str, Any]]) -> str:
    worst = min(covering, key=lambda f: _SEV_ORDER.get(f["severity"], 3))
    overridden = all(f.get("override") for f in covering)
    ids = " ".join(f["id"] for f in covering if f.get("id"))
    title = "；".join(f["message"] + (f"（建议：{f['suggestion']}）" if f.get("suggestion") else "")
                     for f in covering)
    cls = f"finding sev-{worst['severity']}" + (" overridden" if overridden else "")
    return (f'<mark class="{cls}" data-finding="{html_mod.escape(ids)}" '
            f'title="{html_mod.escape(title)}">')
