"""The 咨询问答库: entries (question, answer, category, keywords, source policy, expiry date) are
content: checked and reviewed before they are served, never served after their expiry date
(then listed as due for review), and a new entry whose question nearly duplicates an active one
is flagged with that entry.

Near duplicates: MinHash (``datasketch``, 128 permutations) over the question's character
bigrams, punctuation and spaces removed; an estimated Jaccard similarity of at least
``NEAR_DUPLICATE`` flags the pair. Character shingles suit Chinese, which has no spaces between
words; bigrams keep short questions comparable."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub import audit
from hub.errors import BadRequest, Conflict, Forbidden, NotFound, Unprocessable
from hub.interaction import inbox
from hub.models import QaEntry, Unit, User, utcnow
from hub.oversight.monitor import today

NEAR_DUPLICATE = 0.6
NUM_PERM = 128
_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)


def qa_hash(question: str, answer: str, category: str, keywords: list[str], source_policy: str,
            expires_on: date | None) -> str:
    data = json.dumps({"question": question, "answer": answer, "category": category, "keywords": keywords,
                       "source_policy": source_policy, "expires_on": expires_on.isoformat() if expires_on else None},
                      sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(b"zhengwu-hub/qa/v1\n" + data).hexdigest()


def shingles(text: str) -> set[str]:
    t = _NOISE.sub("", text.casefold())
    return {t[i:i + 2] for i in range(len(t) - 1)} or ({t} if t else set())


def minhash(text: str) -> Any:
    from datasketch import MinHash

    m = MinHash(num_perm=NUM_PERM, seed=16)
    for s in shingles(text):
        m.update(s.encode("utf-8"))
    return m


def near_duplicate(session: Session, unit_id: int, question: str, exclude: int | None = None
                   ) -> tuple[QaEntry, float] | None:
    """The active entry of the unit whose question is most similar, if similar enough."""
    mine = minhash(question)
    best: tuple[QaEntry, float] | None = None
    for e in session.scalars(select(QaEntry).where(QaEntry.unit_id == unit_id, QaEntry.status == "active")).unique():
        if e.id == exclude:
            continue
        sim = float(mine.jaccard(minhash(e.question)))
        if sim >= NEAR_DUPLICATE and (best is None or sim > best[1]):
            best = (e, sim)
    return best


def _clean_keywords(raw: list[str]) -> list[str]:
    out: list[str] = []
    for k in raw:
        k = (k or "").strip()
        if k and k not in out:
            out.append(k[:40])
    if not out:
        raise BadRequest("至少需要一个关键词", code="missing_keywords", field="keywords")
    return out[:20]


def create(session: Session, user: User, unit_code: str | None, question: str, answer: str, category: str,
           keywords: list[str], source_policy: str = "", expires_on: date | None = None) -> QaEntry:
    from hub.checks.service import blocking, check_fields

    unit = _unit_for(session, user, unit_code)
    question, answer = question.strip(), answer.strip()
    if not question or not answer:
        raise BadRequest("问题和答案都不能为空", code="missing_text")
    kws = _clean_keywords(keywords)
    findings = check_fields(session, unit.id, {"question": (question, False), "answer": (answer, False)})
    if blocking(findings):
        raise Unprocessable("问答内容未通过内容检查", code="blocked_by_checks", findings=findings)
    dup = near_duplicate(session, unit.id, question)
    e = QaEntry(unit_id=unit.id, question=question, answer=answer, category=category.strip(), keywords=kws,
                source_policy=source_policy.strip(), expires_on=expires_on, status="in_review",
                revision_hash=qa_hash(question, answer, category.strip(), kws, source_policy.strip(), expires_on),
                findings=findings, duplicate_of_id=dup[0].id if dup else None,
                similarity=round(dup[1] * 100) if dup else None, author_id=user.id)
    session.add(e)
    session.flush()
    audit.record(session, "qa.create", object_type="qa_entry", object_id=e.id, unit=unit,
                 summary=f"问答库条目 #{e.id} 送审" + (f"（与条目 #{dup[0].id} 近似重复）" if dup else ""),
                 details={"hash": e.revision_hash, "duplicate_of": e.duplicate_of_id})
    return e


def _unit_for(session: Session, user: User, unit_code: str | None) -> Unit:
    from hub.org.service import unit_by_code

    unit = unit_by_code(session, unit_code) if unit_code else session.get(Unit, user.unit_id)
    assert unit is not None
    if unit.id not in inbox.visible_units(session, user):
        raise NotFound("单位不存在或不可见", code="unit_not_found")
    if not inbox.may_handle_unit(session, user, unit.id):
        raise Forbidden("只有本单位的编辑、审核人或管理员可以编写问答", code="not_handler")
    return unit


def get(session: Session, user: User, entry_id: int) -> QaEntry:
    e = session.get(QaEntry, entry_id)
    if e is None or e.unit_id not in inbox.visible_units(session, user):
        raise NotFound("问答条目不存在或不可见", code="qa_not_found")
    return e


def approve(session: Session, user: User, entry_id: int, revision_hash: str) -> QaEntry:
    e = get(session, user, entry_id)
    if not may_review(user, e):
        raise Forbidden("只有本单位的审核人或管理员可以审核问答", code="not_reviewer")
    if e.author_id == user.id:
        raise Forbidden("不能审核自己编写的问答", code="own_entry")
    if e.status != "in_review":
        raise Conflict("问答条目不在审核中", code="not_in_review")
    if revision_hash != e.revision_hash:
        raise Conflict("问答条目已修改，请按最新内容审核", code="stale_revision", revision_hash=e.revision_hash)
    e.status, e.approved_by_id, e.approved_at = "active", user.id, utcnow()
    audit.record(session, "qa.approve", object_type="qa_entry", object_id=e.id, unit=e.unit,
                 summary=f"问答库条目 #{e.id} 审核通过，开始使用", details={"hash": e.revision_hash})
    return e


def reject(session: Session, user: User, entry_id: int, reason: str) -> QaEntry:
    e = get(session, user, entry_id)
    if not may_review(user, e):
        raise Forbidden("只有本单位的审核人或管理员可以审核问答", code="not_reviewer")
    if e.status != "in_review":
        raise Conflict("问答条目不在审核中", code="not_in_review")
    if not reason.strip():
        raise BadRequest("退回需要说明理由", code="missing_reason", field="reason")
    e.status, e.reject_reason = "rejected", reason.strip()
    audit.record(session, "qa.reject", object_type="qa_entry", object_id=e.id, unit=e.unit,
                 summary=f"问答库条目 #{e.id} 被退回", details={})
    return e


def may_review(user: User, e: QaEntry) -> bool:
    """Reviewers of the entry's unit review the 问答库, and its admins (who keep the library) may too."""
    return inbox.may_review_unit(user, e.unit_id) or user.has_role("admin", e.unit_id)


def servable(e: QaEntry, as_of: date | None = None) -> bool:
    return e.status == "active" and (e.expires_on is None or e.expires_on >= (as_of or today()))


def expired(e: QaEntry, as_of: date | None = None) -> bool:
    return e.status == "active" and e.expires_on is not None and e.expires_on < (as_of or today())


def match(session: Session, unit: Unit, text: str, as_of: date | None = None) -> QaEntry | None:
    """The servable entry of the unit (or a unit above it) with the most keywords in ``text``."""
    folded = text.casefold()
    ids = [u.id for u in unit.path()]
    best: tuple[int, int, QaEntry] | None = None
    for e in session.scalars(select(QaEntry).where(QaEntry.unit_id.in_(ids), QaEntry.status == "active")
                             .order_by(QaEntry.id)).unique():
        if not servable(e, as_of):
            continue
        hits = sum(1 for k in e.keywords or [] if k.casefold() in folded)
        if hits and (best is None or hits > best[0]):
            best = (hits, -e.id, e)
    return best[2] if best else None


def listing(session: Session, user: User, unit_code: str | None = None) -> list[QaEntry]:
    ids = inbox.visible_units(session, user)
    stmt = select(QaEntry).where(QaEntry.unit_id.in_(ids))
    if unit_code:
        stmt = stmt.join(Unit, Unit.id == QaEntry.unit_id).where(Unit.code == unit_code)
    return list(session.scalars(stmt.order_by(QaEntry.id.desc())).unique())


def to_dict(e: QaEntry) -> dict[str, Any]:
    return {"id": e.id, "unit": e.unit.code, "question": e.question, "answer": e.answer, "category": e.category,
            "keywords": list(e.keywords or []), "source_policy": e.source_policy,
            "expires_on": e.expires_on.isoformat() if e.expires_on else None,
            "status": "expired" if expired(e) else e.status, "revision_hash": e.revision_hash,
            "duplicate_of": e.duplicate_of_id, "similarity": e.similarity, "served_count": e.served_count,
            "findings": e.findings or []}
