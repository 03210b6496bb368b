"""JSON shapes of the API (DESIGN: operator interface)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.models import Account, Post, Revision


def iso(dt: datetime | None) -> str | None:
    return dt.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z") if dt else None


def account_json(a: Account, viewer: Any = None) -> dict[str, Any]:
    """An account; with ``viewer`` an admin or supervisor over its unit, also its filing (备案) data."""
    from hub.accounts.service import credential_status

    out = {
        "id": a.id, "platform": a.platform, "name": a.name, "unit": a.unit.code, "unit_name": a.unit.name,
        "status": a.status, "is_main": a.is_main, "justification": a.justification, "api_base": a.api_base,
        "credentials": {k: {"set": v["set"], "changed_at": v["changed_at"]}
                        for k, v in credential_status(a).items()},
        "created_at": iso(a.created_at),
    }
    if viewer is not None:
        from hub.accounts.filing import filing_details

        out.update(filing_details(a, viewer))
    return out


def revision_json(rev: Revision) -> dict[str, Any]:
    return {"number": rev.number, "hash": rev.hash, "title": rev.title, "content": rev.content,
            "summary": rev.summary, "author": rev.author, "category": rev.category,
            "is_original": rev.is_original, "source_url": rev.source_url,
            "cover": rev.cover_id, "variants": rev.variants or {}, "account_ids": list(rev.account_ids or []),
            "created_by": rev.created_by.to_ref(), "created_at": iso(rev.created_at)}


def post_json(session: Session, p: Post, brief: bool = False) -> dict[str, Any]:
    rev = p.current_revision
    out: dict[str, Any] = {
        "id": p.id, "unit": p.unit.code, "status": p.status,
        "title": rev.title if rev else "",
        "revision": {"number": rev.number, "hash": rev.hash} if rev else None,
        "creator": p.creator.to_ref(),
        "publish_at": iso(p.publish_at), "created_at": iso(p.created_at), "updated_at": iso(p.updated_at),
    }
    if brief:
        return out
    if rev:
        out["revision"] = revision_json(rev)
    steps = p.chain or []
    out["step"] = {"index": p.step, "name": steps[p.step]["name"] if p.status == "in_review" and
                   p.step < len(steps) else None, "total": len(steps)}
    def approval(a: Any) -> dict[str, Any]:
        return {"step": a.step, "step_name": a.step_name, "reviewer": a.reviewer.to_ref(),
                "decision": a.decision, "revision_hash": a.revision_hash, "checks": a.checks or {},
                "comment": a.comment, "at": iso(a.at), "voided": a.voided}

    # Approvals that count: those of the current revision not voided by an edit or rejection.
    out["approvals"] = [approval(a) for a in p.approvals
                        if not a.voided and rev is not None and a.revision_id == rev.id]
    out["approval_history"] = [approval(a) for a in p.approvals]
    from hub.checks.service import findings_for_revision

    try:
        out["findings"] = findings_for_revision(session, rev) if rev else []
    except ImportError:
        out["findings"] = []
    dispatches = session.scalars(select_dispatches(p)).all()
    out["dispatches"] = [
        {"id": d.id, "account_id": d.account_id, "account": d.account.name, "platform": d.account.platform,
         "status": d.status, "platform_ref": d.platform_ref, "url": d.url, "attempts": d.attempts,
         "error": d.error, "revision": d.revision.number, "published_at": iso(d.published_at)}
        for d in dispatches
    ]
    return out


def select_dispatches(p: Post) -> Any:
    from hub.models import Dispatch

    return select(Dispatch).where(Dispatch.post_id == p.id).order_by(Dispatch.id)
