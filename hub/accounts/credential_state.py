"""What an account's credentials look like to admins: set or missing, age, rotation due, previous
version kept (never a value); for one account or, with two queries, for a whole list page."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from adapters.registry import get_adapter
from hub.config import default, get_settings
from hub.models import Account, CredentialArchive, RotationTask, utcnow

DEFAULT_MAX_AGE_DAYS: int = default("HUB_CREDENTIAL_MAX_AGE_DAYS")


def max_age_days() -> int:
    """Credentials older than this are due for rotation (``HUB_CREDENTIAL_MAX_AGE_DAYS``, default 90; 0: 90)."""
    return max(0, get_settings(current_app.config).credential_max_age_days) or DEFAULT_MAX_AGE_DAYS


def revealable(field_name: str) -> bool:
    """Console login passwords are the only values an admin may reveal or generate."""
    return field_name.endswith("_password")


def credential_statuses_maps(session: Session, account_id: int) -> tuple[dict[str, datetime], dict[str, str]]:
    """(previous versions kept until, open rotation tasks' reasons), by field, of one account."""
    archived: dict[str, datetime] = {}
    tasks: dict[str, str] = {}
    for a in session.scalars(select(CredentialArchive).where(CredentialArchive.account_id == account_id,
                                                             CredentialArchive.destroy_after > utcnow())):
        archived[a.field] = max(archived.get(a.field, a.destroy_after), a.destroy_after)
    for t in session.scalars(select(RotationTask).where(RotationTask.account_id == account_id,
                                                        RotationTask.status == "open")):
        tasks[t.field] = t.reason
    return archived, tasks


def credential_statuses(session: Session, accounts: list[Account]) -> dict[int, dict[str, dict[str, Any]]]:
    """:func:`credential_status` of many accounts, with two queries for all of them (list pages)."""
    ids = [a.id for a in accounts if a.id is not None]
    archived: dict[int, dict[str, datetime]] = {}
    tasks: dict[int, dict[str, str]] = {}
    if ids:
        for aid, field, until in session.execute(
                select(CredentialArchive.account_id, CredentialArchive.field, CredentialArchive.destroy_after)
                .where(CredentialArchive.account_id.in_(ids), CredentialArchive.destroy_after > utcnow())):
            mine = archived.setdefault(aid, {})
            mine[field] = max(mine.get(field, until), until)
        for aid, field, reason in session.execute(
                select(RotationTask.account_id, RotationTask.field, RotationTask.reason)
                .where(RotationTask.account_id.in_(ids), RotationTask.status == "open")):
            tasks.setdefault(aid, {})[field] = reason
    return {a.id: credential_status(a, archived=archived.get(a.id, {}), tasks=tasks.get(a.id, {}))
            for a in accounts}


def credential_status(account: Account, *, archived: dict[str, datetime] | None = None,
                      tasks: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """Per field: set or missing, when last changed, rotation due, previous version kept until; never a value.

    ``archived`` and ``tasks`` (previous versions kept, open rotation tasks, by field) are read here
    unless the caller read them for many accounts at once (:func:`credential_statuses`)."""
    from hub.times import iso

    adapter = get_adapter(account.platform)
    have = {c.field: c for c in account.credentials}
    session = object_session(account)
    if archived is None or tasks is None:
        archived, tasks = {}, {}
        if session is not None and account.id is not None:
            got = credential_statuses_maps(session, account.id)
            archived, tasks = got
    now = utcnow()
    due_age = timedelta(days=max_age_days())
    out: dict[str, dict[str, Any]] = {}
    for f in adapter.credential_fields:
        c = have.get(f.name)
        out[f.name] = {
            "set": c is not None, "label": f.label, "required": f.required, "secret": f.secret,
            "choices": list(f.choices),
            "changed_at": c.changed_at.isoformat() + "Z" if c else None,
            "version": c.version if c else None,
            "age_days": (now - c.changed_at).days if c else None,
            "rotation_due": bool(c and (f.name in tasks or (f.secret and now - c.changed_at > due_age))),
            "rotation_task": tasks.get(f.name),
            "revealable": revealable(f.name),
            "previous_kept_until": iso(archived[f.name]) if f.name in archived else None,
        }
    return out
