"""Renderings: what each target account's platform will be sent for a revision.

Every target account's adapter renders the revision (``Adapter.render``: the exact fields, as the
platform keeps them). The renderings are stored with the revision and covered by its hash, so a
reviewer's approval binds to them; the content checks read every field of every rendering; the
review page shows them; and the worker, before sending, renders again and refuses when the result
differs from what was approved (hub/dispatch/jobs/publish.py). docs/design.md §4.1.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.base import Publication, Rendering
from adapters.registry import UnknownPlatform, get_adapter
from hub.config import values_of
from hub.models import Account, Media, Revision
from hub.posts import library
from hub.posts.media import body_image_bytes

log = logging.getLogger(__name__)


def hub_settings(platform: str) -> dict[str, str]:
    """The hub settings the platform's adapter declares (``config_settings``, e.g. WeChat's title limit),
    as they are now."""
    try:
        wanted = get_adapter(platform).config_settings
    except UnknownPlatform:
        return {}
    return values_of(wanted, _app_config()) if wanted else {}


def account_settings(account: Account, vault: Any) -> dict[str, str]:
    """What shapes what the account is sent: the hub settings its adapter declares and the account's
    non-secret credential fields (e.g. Weibo's ``safe_url``); secrets are never read here."""
    try:
        public = {f.name for f in get_adapter(account.platform).credential_fields if not f.secret}
    except UnknownPlatform:
        return {}
    out = hub_settings(account.platform)
    if not public or vault is None:
        return out
    from hub.accounts.vault_admin import min_decryption_version
    from hub.vault import Sealed

    for c in account.credentials:
        if c.field in public:
            try:
                out[c.field] = vault.open(account.id, c.field, c.version,
                                          Sealed(c.key_version, c.wrapped_key, c.ciphertext),
                                          min_version=min_decryption_version(_session_of(account)))
            except Exception:  # a locked vault or a missing key: render without it (shown as a problem)
                log.warning("could not read setting %s of account %s", c.field, account.id)
    return out


def _session_of(account: Account) -> Any:
    from sqlalchemy.orm import object_session

    return object_session(account)


def _app_config() -> Any:
    try:
        from flask import current_app

        return current_app.config
    except RuntimeError:
        return None


def _vault() -> Any:
    try:
        from flask import current_app

        return current_app.extensions.get("hub_vault")
    except RuntimeError:
        return None


def publication_from_fields(fields: dict[str, Any], account: Account, cover: Media | None) -> Publication:
    """The adapter's view of a revision's fields for one account (no dispatch yet)."""
    return Publication(
        dispatch_id=0, title=fields.get("title", ""), content=fields.get("content", ""),
        summary=fields.get("summary", ""), author=fields.get("author", ""), source_url=fields.get("source_url", ""),
        cover=cover.data if cover else b"", cover_mime=cover.mime if cover else "", marker_url="",
        variant=dict((fields.get("variants") or {}).get(account.platform) or {}), link=fields.get("source_url") or "",
        articles=[{k: a.get(k, "") for k in ("title", "content", "summary", "author", "source_url", "cover_sha256")}
                  for a in fields.get("articles") or []],
        images=_images(fields, account), video_sha256=fields.get("video_sha256") or "",
        video_mime="video/mp4" if fields.get("video_sha256") else "", library=library.for_platform(fields))


def _images(fields: dict[str, Any], account: Account) -> dict[str, bytes]:
    session = _session_of(account)
    if session is None:
        return {}
    contents = [fields.get("content", ""), *(a.get("content", "") for a in fields.get("articles") or [])]
    return body_image_bytes(session, account.unit_id, contents)


def render(fields: dict[str, Any], account: Account, cover: Media | None, vault: Any = None) -> Rendering:
    adapter = get_adapter(account.platform)
    pub = publication_from_fields(fields, account, cover)
    settings = account_settings(account, vault if vault is not None else _vault())
    out = adapter.render(pub, settings)
    warnings, problems = adapter.render_notes(pub, settings)
    out.warnings += [w for w in warnings if w not in out.warnings]
    out.problems += [p for p in problems if p not in out.problems]
    return out


def render_targets(session: Session, fields: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{account id: rendering} for every target account of ``fields`` (a revision's fields)."""
    ids = [int(a) for a in fields.get("account_ids") or []]
    if not ids:
        return {}
    accounts = session.scalars(select(Account).where(Account.id.in_(ids)).order_by(Account.id)).unique().all()
    cover_id = fields.get("cover_id")
    out: dict[str, dict[str, Any]] = {}
    for acc in accounts:
        cid = cover_id or acc.default_cover_id
        cover = session.get(Media, cid) if cid else None
        try:
            out[str(acc.id)] = render(fields, acc, cover).to_json()
        except UnknownPlatform as exc:
            out[str(acc.id)] = Rendering(acc.platform, {}, problems=[str(exc)]).to_json()
    return out


def renderings_by_platform(rev: Revision) -> dict[str, list[dict[str, Any]]]:
    """The revision's renderings grouped by platform, identical ones once (what reviewers see)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for _acc, r in sorted((rev.renderings or {}).items(), key=lambda kv: int(kv[0])):
        same = out.setdefault(r.get("platform", ""), [])
        if r not in same:
            same.append(r)
    return out


def same_fields(approved: dict[str, Any] | None, now: Rendering) -> bool:
    """Whether ``now`` sends exactly the fields of the approved rendering."""
    return approved is not None and dict(approved.get("fields") or {}) == dict(now.fields)
