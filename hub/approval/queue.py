"""The review queue ("待我审核") and the revision comparisons a reviewer sees.

A post is in a user's queue when it is in review, its current step names the
user, the user did not create or edit it, and the user has not yet acted on
its current revision (the rule is ``review.policy.awaits_decision``).
Comparisons use difflib over the fields the revision hash covers, against the
last revision the reviewer saw and against the last revision that passed every
step.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, lazyload

from hub.approval.chains import person, unit_path
from hub.content import html_to_text
from hub.i18n_marks import N_
from hub.inputs import parse_id
from hub.memo import memo
from hub.models import (
    Account,
    Approval,
    AuditEntry,
    Post,
    ReviewChain,
    Revision,
    RevisionView,
    RoleGrant,
    User,
    utcnow,
)
from hub.permissions import unit_children
from hub.posts.access import contributors
from review import policy
from review.chain import STEP_ROLES, Chain

QUEUE_LIMIT = 500
AGE_CHOICES = (1, 3, 7)


def awaiting_review(session: Session, user: User) -> list[Post]:
    """Posts waiting for ``user`` to decide on their current step, oldest submission first
    (the rule: ``review.policy.awaits_decision``).

    Its cost does not grow with the province's data: only posts of units where a chain can name
    the user are read (a step names a role at a unit of the post's path, so the post is in the
    subtree of one of the user's grants; or it names the user, in a chain some unit defined, so
    the post is in that unit's subtree), and the user's decisions and the posts' contributors are
    read in one query each for all of them.
    """
    known = memo(session, "awaiting_review", (Post, Approval, Revision, ReviewChain, RoleGrant))
    if user.id not in known:  # once per transaction: the badge, the dashboard and the queue all ask
        known[user.id] = _awaiting_review(session, user)
    return list(known[user.id])


def _awaiting_review(session: Session, user: User) -> list[Post]:
    units = _units_that_may_name(session, user)
    if not units:
        return []
    # Only what the queue, its badge and its filters read: never the revisions' bodies and renderings,
    # the approvals or the dispatches (deferred columns load if a caller does read them).
    posts = session.scalars(
        select(Post).where(Post.status == "in_review", Post.unit_id.in_(units))
        .options(joinedload(Post.current_revision).load_only(
                     Revision.id, Revision.post_id, Revision.number, Revision.hash, Revision.title,
                     Revision.category, Revision.account_ids, Revision.created_by_id),
                 lazyload(Post.approvals), lazyload(Post.dispatches))
        .order_by(Post.submitted_at, Post.id).limit(QUEUE_LIMIT)).unique().all()
    me = person(user)
    named: list[tuple[Post, Chain, tuple[int, ...]]] = []
    for p in posts:
        chain, path = Chain.from_json(p.chain or []), unit_path(p)
        step = chain.step_at(p.step)
        if step is not None and policy.named_by(step, me, path):
            named.append((p, chain, path))  # the cheap test first: most posts in review do not name this user now
    if not named:
        return []
    rev_ids = [p.current_revision_id for p, _c, _u in named]
    acted = set(session.scalars(select(Approval.revision_id).where(
        Approval.revision_id.in_(rev_ids), Approval.reviewer_id == user.id, Approval.voided.is_(False))))
    wrote: dict[int, set[int]] = {}
    for post_id, by in session.execute(select(Revision.post_id, Revision.created_by_id)
                                       .where(Revision.post_id.in_([p.id for p, _c, _u in named]))):
        wrote.setdefault(post_id, set()).add(by)
    return [p for p, chain, path in named
            if policy.awaits_decision(chain, p.step, me, path, contributors=wrote.get(p.id, set()) | {p.creator_id},
                                      acted=p.current_revision_id in acted)]


def _units_that_may_name(session: Session, user: User) -> set[int]:
    """Units whose posts' review chains may name ``user`` (see :func:`awaiting_review`)."""
    roots = {g.unit_id for g in user.roles if g.role in STEP_ROLES}  # an editor's grant names them nowhere
    for unit_id, steps in session.execute(select(ReviewChain.unit_id, ReviewChain.steps)
                                          .where(ReviewChain.steps.is_not(None))):
        if unit_id not in roots and any(user.id in (s.get("users") or []) for s in steps or []
                                        if isinstance(s, dict)):
            roots.add(unit_id)
    if not roots:
        return set()
    children = unit_children(session)
    out: set[int] = set()
    stack = list(roots)
    while stack:
        u = stack.pop()
        if u not in out:
            out.add(u)
            stack.extend(children.get(u, []))
    return out


def why_not_in_queue(session: Session, user: User, post: Post) -> str | None:
    """Why a post in review whose current step names ``user`` is not theirs to decide now (a
    label to translate), or None: the review box never vanishes without a reason."""
    if post.status != "in_review":
        return None
    chain = Chain.from_json(post.chain or [])
    path = unit_path(post)
    step = chain.step_at(post.step)
    me = person(user)
    if step is None or not policy.named_by(step, me, path):
        return None
    if user.id in contributors(session, post):
        return N_("本稿件由您撰写或修改，按“谁写稿、谁不审”的规定，须由其他审核人审核。")
    acted = session.scalar(select(Approval.id).where(Approval.revision_id == post.current_revision_id,
                                                     Approval.reviewer_id == user.id,
                                                     Approval.voided.is_(False)).limit(1))
    if acted is not None:
        return N_("您已审核过本版本，正在等待本环节的其他审核人。")
    return None


@dataclass
class QueueFilter:
    """Filters of the queue page and API; empty values mean "any"."""

    unit: str = ""
    account_id: int | None = None
    category: str = ""
    min_age_days: int | None = None

    @classmethod
    def from_args(cls, args: Any) -> QueueFilter:
        def as_int(key: str) -> int | None:
            raw = (args.get(key) or "").strip()
            return parse_id(raw)

        return cls(unit=(args.get("unit") or "").strip()[:64], account_id=as_int("account"),
                   category=(args.get("category") or "").strip()[:64], min_age_days=as_int("age"))

    def matches(self, p: Post) -> bool:
        rev = p.current_revision
        if self.unit and p.unit.code != self.unit:
            return False
        if self.account_id is not None and (rev is None or self.account_id not in (rev.account_ids or [])):
            return False
        if self.category and (rev is None or (rev.category or "") != self.category):
            return False
        if self.min_age_days is not None:
            since = p.submitted_at or p.created_at
            if since > utcnow() - timedelta(days=self.min_age_days):
                return False
        return True


@dataclass
class QueueView:
    posts: list[Post]
    total: int
    by_unit: dict[str, int] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    categories: list[str] = field(default_factory=list)
    accounts: dict[int, str] = field(default_factory=dict)


def queue_view(session: Session, user: User, flt: QueueFilter) -> QueueView:
    """The user's queue with counts per unit and the values the filters can take."""
    everything = awaiting_review(session, user)
    view = QueueView(posts=[p for p in everything if flt.matches(p)], total=len(everything))
    account_ids: set[int] = set()
    for p in everything:
        view.by_unit[p.unit.code] = view.by_unit.get(p.unit.code, 0) + 1
        view.units[p.unit.code] = p.unit.name
        if p.current_revision:
            if p.current_revision.category:
                view.categories.append(p.current_revision.category)
            account_ids |= set(p.current_revision.account_ids or [])
    view.categories = sorted(set(view.categories))
    if account_ids:
        view.accounts = {a.id: a.name for a in session.scalars(select(Account).where(Account.id.in_(account_ids)))}
    return view


def queue_json(view: QueueView) -> dict[str, Any]:
    from hub.times import iso

    return {"total": view.total, "count": len(view.posts), "by_unit": view.by_unit,
            "posts": [{"id": p.id, "title": p.current_revision.title if p.current_revision else "",
                       "unit": p.unit.code, "category": p.current_revision.category if p.current_revision else "",
                       "step": {"index": p.step, "name": (p.chain or [])[p.step]["name"]},
                       "submitted_at": iso(p.submitted_at),
                       "account_ids": list(p.current_revision.account_ids or []) if p.current_revision else []}
                      for p in view.posts]}


# -- what the reviewer saw ----------------------------------------------------------------------
def record_view(session: Session, user: User, post: Post) -> None:
    """Remember that ``user`` saw the post's current revision (idempotent)."""
    rev = post.current_revision
    if rev is None:
        return
    exists = session.scalar(select(RevisionView.id).where(
        RevisionView.post_id == post.id, RevisionView.user_id == user.id, RevisionView.revision_number == rev.number))
    if exists:
        return
    try:
        with session.begin_nested():
            session.add(RevisionView(post_id=post.id, user_id=user.id, revision_number=rev.number))
            session.flush()
    except IntegrityError:  # the same reviewer in two tabs at once
        pass


def last_seen_before(session: Session, user: User, post: Post) -> Revision | None:
    """The newest revision older than the current one that ``user`` saw or decided on."""
    rev = post.current_revision
    if rev is None:
        return None
    seen = set(session.scalars(select(RevisionView.revision_number).where(
        RevisionView.post_id == post.id, RevisionView.user_id == user.id, RevisionView.revision_number < rev.number)))
    decided = session.scalars(select(Revision.number).join(Approval, Approval.revision_id == Revision.id).where(
        Approval.post_id == post.id, Approval.reviewer_id == user.id, Revision.number < rev.number))
    numbers = seen | set(decided)
    return revision_by_number(session, post, max(numbers)) if numbers else None


def last_approved_before(session: Session, post: Post) -> Revision | None:
    """The newest revision older than the current one that passed every review step."""
    rev = post.current_revision
    if rev is None:
        return None
    best = 0
    for raw in session.scalars(select(AuditEntry.details).where(
            AuditEntry.object_type == "post", AuditEntry.object_id == str(post.id),
            AuditEntry.action == "post.approved")):
        try:
            n = int(json.loads(raw).get("revision") or 0)
        except (ValueError, TypeError, AttributeError):
            continue
        if n < rev.number:
            best = max(best, n)
    return revision_by_number(session, post, best) if best else None


def revision_by_number(session: Session, post: Post, number: int) -> Revision | None:
    return session.scalars(select(Revision).where(Revision.post_id == post.id, Revision.number == number)).first()


# -- diffs ----------------------------------------------------------------------------------------
_BLOCK_END = re.compile(r"</(p|h[1-6]|li|blockquote|pre|tr|section|figure|figcaption)>|<br\s*/?>", re.I)


def _body_lines(html: str) -> list[str]:
    parts = _BLOCK_END.split(html or "")
    # re.split keeps the captured tag names; drop them.
    chunks = [p for i, p in enumerate(parts) if i % 2 == 0]
    return [t for t in (html_to_text(c).strip() for c in chunks) if t]


def revision_lines(session: Session, rev: Revision) -> dict[str, list[str]]:
    """The revision's hashed fields as lines, per field label (zh-CN)."""
    names = {a.id: a.name for a in session.scalars(select(Account).where(Account.id.in_(rev.account_ids or [])))}
    variants = []
    for platform, v in sorted((rev.variants or {}).items()):
        for key in ("title", "summary", "text"):
            if v.get(key):
                variants.append(f"[{platform}] {key}: {v[key]}")
    return {
        N_("标题"): [rev.title], N_("摘要"): [rev.summary] if rev.summary else [], N_("作者"): [rev.author] if rev.author else [],
        N_("分类"): [rev.category] if rev.category else [], N_("原文链接"): [rev.source_url] if rev.source_url else [],
        N_("封面"): [rev.cover_sha256[:16] or "（账号默认封面）"], "正文": _body_lines(rev.content),
        "平台定制": variants, N_("发布账号"): [names.get(i, f"#{i}") for i in rev.account_ids or []],
    }


@dataclass
class FieldDiff:
    field: str
    lines: list[tuple[str, str]]  # (" " | "+" | "-", text)


def diff_revisions(session: Session, old: Revision, new: Revision) -> list[FieldDiff]:
    """Changed fields only, each as a line diff (difflib)."""
    a, b = revision_lines(session, old), revision_lines(session, new)
    out = []
    for name in b:
        if a.get(name, []) == b[name]:
            continue
        lines: list[tuple[str, str]] = []
        for line in difflib.ndiff(a.get(name, []), b[name]):
            tag = line[:1]
            if tag in (" ", "+", "-"):
                lines.append((tag, line[2:]))
        out.append(FieldDiff(name, lines))
    return out


def diff_json(diffs: list[FieldDiff]) -> list[dict[str, Any]]:
    return [{"field": d.field, "lines": [{"op": op, "text": t} for op, t in d.lines]} for d in diffs]
