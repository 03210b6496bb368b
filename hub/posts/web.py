"""Posts pages: list, editor, post page, submit and the media route."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from hub.approval import decisions as decisions_svc
from hub.content import media_src
from hub.db import db
from hub.errors import BadRequest, HubError
from hub.inputs import parse_id, request_json
from hub.models import Account, Dispatch, Media, Post
from hub.permissions import visible_unit_ids
from hub.posts import access as post_access
from hub.posts import library
from hub.posts import media as media_mod
from hub.posts import preview as preview_mod
from hub.posts import service as posts_svc
from hub.web.base import STATUS_LABELS, awaiting_review, run_action, status_label

bp = Blueprint("posts", __name__)


# -- posts --------------------------------------------------------------------------------
@bp.get("/posts")
@login_required
def posts():
    from hub.errors import BadRequest
    from hub.models import Unit
    from hub.posts import listing, search

    s = db.session()
    status = request.args.get("status", "")
    status = status if status in STATUS_LABELS else ""
    q = request.args.get("q", "").strip()[:search.MAX_QUERY]
    category = request.args.get("category", "").strip()[:64]
    visible = visible_unit_ids(s, current_user)
    units = s.execute(select(Unit.id, Unit.code, Unit.name).where(Unit.id.in_(visible)).order_by(Unit.id)).all() \
        if len(visible) > 1 else []
    unit = request.args.get("unit", "")
    unit = unit if any(u.code == unit for u in units) else ""
    error = ""
    try:
        terms = search.parse_query(q)
    except BadRequest:
        terms, error = [], _("搜索词最多 %(n)d 个（以空格分隔），且不能含控制字符", n=search.MAX_TERMS)
    shown = {u.id for u in units if u.code == unit} if unit else visible
    if error:
        shown = set()
    after = request.args.get("after") or None
    args: dict[str, Any] = {"status": status or None, "q": terms or None, "category": category or None}
    try:
        rows, next_after = listing.list_posts(s, shown, after=after, **args)
    except BadRequest:  # a stale or edited link: start again from the first page
        rows, next_after = listing.list_posts(s, shown, **args)
        after = None
    link = {"status": status or None, "q": q or None, "category": category or None, "unit": unit or None}
    return render_template("posts/list.html", posts=rows, status=status, next_after=next_after, paged=bool(after),
                           statuses=[k for k in posts_svc_statuses()], q=q, category=category, unit=unit,
                           units=units, link=link, error=error)


def posts_svc_statuses() -> list[str]:
    from hub.models import POST_STATUSES

    return list(POST_STATUSES)


def _editor_accounts(unit_id: int) -> list[Account]:
    s = db.session()
    return list(s.scalars(select(Account).where(Account.unit_id == unit_id, Account.status == "active")
                          .order_by(Account.id)).unique())


VARIANT_FIELDS = ("title", "summary", "text")


def _form_variants(form: Any) -> dict[str, dict[str, str]]:
    """Per-platform overrides from fields named ``variant-<platform>-<field>`` (empty ones dropped)."""
    from adapters.registry import platforms

    out: dict[str, dict[str, str]] = {}
    for platform in platforms():
        v = {k: form.get(f"variant-{platform}-{k}", "").strip() for k in VARIANT_FIELDS}
        v = {k: x for k, x in v.items() if x}
        if platform == "wechat" and form.get("variant-wechat-mass_send") == "on":
            v["mass_send"] = "1"
            reprint = form.get("variant-wechat-send_ignore_reprint", "")
            if reprint in ("0", "1"):
                v["send_ignore_reprint"] = reprint
        if v:
            out[platform] = v
    return out


def _form_data() -> dict[str, Any]:
    f = request.form
    data: dict[str, Any] = {
        "title": f.get("title", ""), "content": f.get("content", ""), "summary": f.get("summary", ""),
        "author": f.get("author", ""), "category": f.get("category", ""), "source_url": f.get("source_url", ""),
        "is_original": f.get("is_original") == "on",
        "metadata": {k: f.get(f"metadata-{k}", "").strip() for k in library.METADATA_KEYS},
        "policy_ids": sorted({i for i in (parse_id(x) for x in f.getlist("policy_ids")) if i is not None}),
        "needs_interpretation": f.get("needs_interpretation") == "on",
    }
    ids = [parse_id(x) for x in f.getlist("account_ids")]
    data["account_ids"] = sorted({i for i in ids if i is not None})
    publish_at = f.get("publish_at", "").strip()
    data["publish_at"] = publish_at or None
    data["variants"] = _form_variants(f)
    data["articles"] = [{"title": t, "summary": sm, "author": au, "content": c} for t, sm, au, c in zip(
        f.getlist("article-title"), f.getlist("article-summary"), f.getlist("article-author"),
        f.getlist("article-content"), strict=False)]
    data["video"] = parse_id(f.get("video", "")) if f.get("video", "").strip() else None
    upload = request.files.get("cover")
    if upload and upload.filename:
        raw = upload.read()
        mime = upload.mimetype or "image/jpeg"
        data["cover"] = f"data:{mime};base64,{base64.b64encode(raw).decode()}"
    elif f.get("video_cover", "").strip().isdigit():  # the frame editor.js captured from the new video
        data["cover"] = parse_id(f["video_cover"])
    return data


def _with_video_url(values: dict[str, Any]) -> dict[str, Any]:
    """The editor's video preview plays the stored file (its hash-named URL)."""
    from hub.posts.video import video_url

    m = db.session().get(Media, values["video"]) if values.get("video") else None
    values["video_url"] = video_url(m) if m is not None and m.kind == "video" else ""
    return values


@bp.route("/posts/new", methods=["GET", "POST"])
@login_required
def new_post():
    if not current_user.has_role("editor"):
        flash(_("只有编辑可以撰写稿件"), "error")
        return redirect(url_for("web.dashboard"))
    accounts = _editor_accounts(current_user.unit_id)
    values: dict[str, Any] = {"account_ids": [a.id for a in accounts[:1]]}
    if request.method == "POST":
        values = _form_data()
        try:
            with db.transaction() as s:
                post = posts_svc.create_post(s, current_user, values)
            flash(_("稿件已保存为草稿"), "success")
            return redirect(url_for("web.posts.post_page", post_id=post.id))
        except HubError as exc:
            flash(exc.message, "error")
    return render_template("posts/form.html", post=None, values=_with_video_url(values), accounts=accounts,
                           variant_platforms=_variant_platforms(accounts), limits=_upload_limits(),
                           **_library_choices(current_user.unit_id, None))


@bp.route("/posts/<int:post_id>/edit", methods=["GET", "POST"])
@login_required
def edit_post(post_id: int):
    s = db.session()
    post = _post_or_404(post_id)
    if post.status not in posts_svc.EDITABLE_STATUSES:  # say so before the form, not after saving
        flash(_(posts_svc.EDIT_REFUSALS.get(post.status, posts_svc.EDIT_REFUSED)), "warn")
        return redirect(url_for("web.posts.post_page", post_id=post_id))
    rev = post.current_revision
    assert rev is not None
    values: dict[str, Any] = {
        "title": rev.title, "content": rev.content, "summary": rev.summary, "author": rev.author,
        "category": rev.category, "source_url": rev.source_url, "is_original": rev.is_original,
        "account_ids": list(rev.account_ids), "publish_at": _local_input(post.publish_at),
        "variants": dict(rev.variants or {}), "articles": [dict(a) for a in rev.articles or []],
        "video": rev.video_id, "metadata": dict((rev.library or {}).get("metadata") or {}),
        "policy_ids": [p["id"] for p in library.policies_of(rev)],
        "needs_interpretation": bool((rev.library or {}).get("needs_interpretation")),
    }
    if request.method == "POST":
        values = _form_data()
        try:
            data = dict(values)
            if not data.get("publish_at"):
                data["publish_at"] = None
            with db.transaction() as s:
                posts_svc.update_post(s, current_user, post_id, data)
            flash(_("已保存：生成新版本，之前的审核意见作废，需重新提交审核"), "success")
            return redirect(url_for("web.posts.post_page", post_id=post_id))
        except HubError as exc:
            flash(exc.message, "error")
    accounts = _editor_accounts(post.unit_id)
    return render_template("posts/form.html", post=post, values=_with_video_url(values), accounts=accounts,
                           variant_platforms=_variant_platforms(accounts), limits=_upload_limits(),
                           **_library_choices(post.unit_id, post.id))


def _library_choices(unit_id: int | None, post_id: int | None) -> dict[str, Any]:
    """The editor's choices for the library fields: categories, metadata labels, the unit's policies."""
    policies = [p for p in library.unit_policies(db.session(), unit_id) if p.id != post_id] if unit_id else []
    return {"categories": {k: _(v) for k, v in library.CATEGORIES.items()},
            "metadata_labels": {k: _(v) for k, v in library.METADATA_LABELS.items()}, "unit_policies": policies}


def _upload_limits() -> dict[str, int]:
    """The sizes the server refuses, for the editor to refuse the same before sending (editor.js)."""
    from hub.content import MAX_BODY_IMAGE_BYTES, MAX_COVER_BYTES

    request_bytes = int(current_app.config.get("MAX_CONTENT_LENGTH") or 0)
    return {"image": MAX_BODY_IMAGE_BYTES, "cover": MAX_COVER_BYTES, "request": request_bytes,
            "image_mb": MAX_BODY_IMAGE_BYTES // (1024 * 1024), "cover_mb": MAX_COVER_BYTES // (1024 * 1024),
            "request_mb": request_bytes // (1024 * 1024)}


def _variant_platforms(accounts: list[Account]) -> list[str]:
    return sorted({a.platform for a in accounts})


def _local_input(dt: datetime | None) -> str:
    from hub.posts.schedule import SHANGHAI

    return dt.replace(tzinfo=UTC).astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M") if dt else ""


def _post_or_404(post_id: int) -> Post:
    try:
        return post_access.get_post(db.session(), current_user, post_id)
    except HubError:
        abort(404)


@bp.get("/posts/<int:post_id>")
@login_required
def post_page(post_id: int):
    from hub.posts.api import post_json

    s = db.session()
    post = _post_or_404(post_id)
    data = post_json(s, post)
    can_review = post in awaiting_review(current_user)
    can_edit = post.status in posts_svc.EDITABLE_STATUSES and (
        current_user.has_role("editor", post.unit_id) or current_user.has_role("reviewer", post.unit_id))
    can_submit = post.status in ("draft", "rejected") and current_user.has_role("editor", post.unit_id)
    edit_refusal = posts_svc.EDIT_REFUSALS.get(post.status) if not can_edit else None
    accounts = {a.id: a for a in s.scalars(select(Account).where(
        Account.id.in_(post.current_revision.account_ids if post.current_revision else [])))}
    from hub.metrics.service import post_figures

    can_mark = bool(data.get("validity")) and (current_user.has_role("editor", post.unit_id)
                                               or current_user.has_role("reviewer", post.unit_id))
    return render_template("posts/post.html", post=post, data=data, can_review=can_review, can_edit=can_edit,
                           can_mark=can_mark, validity_labels={k: _(v) for k, v in library.VALIDITY_STATUSES.items()},
                           category_label=_(library.CATEGORIES[post.current_revision.category])
                           if post.current_revision and post.current_revision.category in library.CATEGORIES
                           else (post.current_revision.category if post.current_revision else ""),
                           metadata_labels={k: _(v) for k, v in library.METADATA_LABELS.items()},
                           unit_policies=[p for p in library.unit_policies(s, post.unit_id) if p.id != post.id]
                           if can_mark else [],
                           can_submit=can_submit, accounts=accounts, figures=post_figures(s, post),
                           edit_refusal=_(edit_refusal) if edit_refusal else None,
                           confirmation_labels=decisions_svc.CONFIRMATION_LABELS)


@bp.get("/posts/<int:post_id>/frame")
@login_required
def post_frame(post_id: int):
    """The post's body as the post page's sandboxed frame shows it (``rev``: the revision the page showed)."""
    from hub.web.base import content_frame

    post = _post_or_404(post_id)
    rev = post.current_revision
    if rev is None or request.args.get("rev") != rev.hash:
        abort(404)
    return content_frame(rev.content or "")


@bp.get("/posts/<int:post_id>/status.json")
@login_required
def post_status(post_id: int):
    s = db.session()
    post = _post_or_404(post_id)
    from hub.dispatch.service import live_extra
    from hub.i18n_marks import OUTCOME_LABELS

    ds = s.scalars(select(Dispatch).where(Dispatch.post_id == post.id).order_by(Dispatch.id)).unique().all()
    out = []
    for d in ds:
        extra = live_extra(s, d)
        for a in extra["attempts_log"]:  # the live table shows words, never the outcome code
            a["outcome_label"] = _(OUTCOME_LABELS[a["outcome"]]) if a["outcome"] in OUTCOME_LABELS else ""
        out.append({"id": d.id, "status": d.status, "status_label": status_label(d.status), "url": d.url,
                    "attempts": d.attempts, "error": d.error or "", **extra})
    return jsonify({"status": post.status, "status_label": status_label(post.status), "dispatches": out})




@bp.post("/posts/<int:post_id>/validity")
@login_required
def validity(post_id: int):
    f = request.form
    data: dict[str, Any] = {"status": f.get("status", "")}
    for key in ("effective_on", "expires_on"):
        if f.get(key, "").strip():
            data[key] = f[key].strip()
    if f.get("replaced_by", "").strip():
        data["replaced_by"] = parse_id(f["replaced_by"])
    try:
        with db.transaction() as s:
            posts_svc.request_validity(s, current_user, post_id, data)
        flash(_("效力标注已保存为新版本，审核通过后生效"), "success")
    except HubError as exc:
        flash(exc.message, "error")
    return redirect(url_for("web.posts.post_page", post_id=post_id))


@bp.post("/posts/<int:post_id>/submit")
@login_required
def submit(post_id: int):
    run_action(lambda s: posts_svc.submit_post(s, current_user, post_id), _("已提交审核"))
    return redirect(url_for("web.posts.post_page", post_id=post_id))


@bp.post("/posts/<int:post_id>/approve")
@login_required
def approve(post_id: int):
    body = {"revision_hash": request.form.get("revision_hash", ""), "comment": request.form.get("comment", ""),
            "checks": {k: request.form.get(f"check_{k}") == "on" for k in decisions_svc.CONFIRMATION_KEYS}}
    run_action(lambda s: decisions_svc.approve_post(s, current_user, post_id, body), _("审核通过"))
    return redirect(url_for("web.posts.post_page", post_id=post_id))


@bp.post("/posts/<int:post_id>/reject")
@login_required
def reject(post_id: int):
    body = {"reason": request.form.get("reason", ""), "revision_hash": request.form.get("revision_hash") or None}
    run_action(lambda s: decisions_svc.reject_post(s, current_user, post_id, body), _("已退回编辑"))
    return redirect(url_for("web.posts.post_page", post_id=post_id))


@bp.get("/media/<int:media_id>")
@login_required
def media(media_id: int):
    s = db.session()
    m = s.get(Media, media_id)
    if m is None or (m.unit_id is not None and m.unit_id not in visible_unit_ids(s, current_user)):
        abort(404)
    resp = make_response(m.data)
    resp.headers["Content-Type"] = m.mime
    resp.headers["Cache-Control"] = "private, max-age=3600"
    return resp


@bp.get("/media/<int:media_id>/<string:name>")
@login_required
def body_image(media_id: int, name: str):
    """A stored body image at its stable URL (``hub.content.media_src``), for signed-in users who may
    see its unit: the editor, the post page and the review page's rendering frames (same origin)."""
    s = db.session()
    m = s.get(Media, media_id)
    if m is not None and m.kind == "video":
        return _video(s, m, name)
    if (m is None or media_src(m.id, m.sha256, m.mime) != f"/media/{media_id}/{name}"
            or (m.unit_id is not None and m.unit_id not in visible_unit_ids(s, current_user))):
        abort(404)
    resp = make_response(m.data)
    resp.headers["Content-Type"] = m.mime
    resp.headers["Cache-Control"] = "private, max-age=31536000, immutable"  # the URL names the content
    resp.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return resp


def _video(s: Any, m: Media, name: str):
    """The exact video file (HTTP ranges, so the reviewer's player can seek), at its hash-named URL."""
    from hub.posts.video import video_file, video_url

    path = video_file(m)
    if (video_url(m) != f"/media/{m.id}/{name}" or not path.is_file()
            or (m.unit_id is not None and m.unit_id not in visible_unit_ids(s, current_user))):
        abort(404)
    resp = send_file(path, mimetype=m.mime, conditional=True, etag=m.sha256, max_age=3600)
    resp.headers["Cache-Control"] = "private, max-age=3600"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return resp


@bp.post("/posts/media")
def upload_body_image():
    """The editor's image upload (multipart ``file``, optional ``post_id``): 201 with the media's URL,
    or a Chinese JSON error (413 over 10 MB, 422 not an image) — the editor shows it and keeps the draft."""
    if not current_user.is_authenticated:
        return jsonify({"error": {"code": "unauthorized", "message": _("请先登录")}}), 401
    upload = request.files.get("file")
    post_id = request.form.get("post_id", "")
    try:
        if upload is None:
            raise BadRequest(_("请选择要上传的图片"), code="missing_file")
        with db.transaction() as s:
            out = media_mod.upload_any(s, current_user, upload.stream,
                                       int(post_id) if post_id.isdigit() and parse_id(post_id) is not None else None)
    except HubError as exc:
        resp = jsonify(exc.to_dict())
        resp.status_code = exc.status
        return resp
    return jsonify(out), 201


# -- the editor's live per-platform preview (logic in hub.posts.preview) --------------
@bp.post("/posts/platform-preview")
def platform_preview():
    """The editor's live per-platform preview: JSON in, previews and problems out."""
    if not current_user.is_authenticated:
        return jsonify({"error": {"code": "unauthorized", "message": "请先登录"}}), 401
    try:
        return jsonify(preview_mod.preview(db.session(), current_user, request_json()))
    except HubError as exc:
        db.session.rollback()
        resp = jsonify(exc.to_dict())
        resp.status_code = exc.status
        return resp


@bp.app_context_processor
def _preview_globals() -> dict[str, Any]:
    def platform_limits() -> dict[str, dict[str, int]]:
        """Content limits of every enabled adapter (the editor's instant counters)."""
        from adapters.registry import get_adapter, platforms

        return {name: dict(get_adapter(name).limits) for name in platforms()}

    return {"platform_limits": platform_limits}


# -- calendar -----------------------------------------------------------------------------
@bp.get("/calendar")
@login_required
def calendar_page():
    """Month or week of scheduled and published posts (Beijing days), filtered by unit and account."""
    from hub.posts import calendar as cal

    s = db.session()
    view = request.args.get("view", "month")
    if view not in cal.VIEWS:
        view = "month"
    try:
        on = cal.parse_day(request.args.get("date"))
    except BadRequest:
        on = None
    unit_code = request.args.get("unit", "").strip() or None
    try:
        unit_ids, unit = cal.scope_units(s, current_user, unit_code)
    except BadRequest:
        unit_ids, unit = cal.scope_units(s, current_user, None)
        unit_code = None
    all_units = cal.visible_units(s, visible_unit_ids(s, current_user))
    accounts = cal.visible_accounts(s, current_user, unit_ids)
    names = {a.id: a.name for a in accounts}
    account_id = parse_id(request.args.get("account"))
    if account_id not in names:
        account_id = None
    win = cal.window(view, on)
    found = cal.items(s, current_user, win, unit_ids, names, account_id)
    return render_template("posts/calendar.html", win=win, days=cal.by_day(found), count=len(found),
                           units=all_units, unit_code=unit_code, unit=unit, accounts=accounts,
                           account_id=account_id, today=cal.today_local(), view=view)
