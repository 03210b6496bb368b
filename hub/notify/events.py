"""What happened → the people to tell → in-app items and deliveries through the unit's channels.

Each event is recorded inside the transaction of the action that caused it (in a savepoint: a
problem here is logged and never fails that action) and its deliveries are queued once that
transaction commits (hub.db.after_commit). If Redis is down then, the deliveries stay pending in
the database and the sweeper (hub/notify/jobs.py) sends them later.

An event's key names the event; a delivery's key is event + recipient + channel and is unique
in the database, so the same event never becomes two messages through one channel to one recipient.
Texts name the post by its title at most: nothing secret or personal.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.config import get_settings
from hub.db import after_commit
from hub.models import (
    Notification,
    NotifyChannel,
    NotifyDelivery,
    NotifyPreference,
    Post,
    RoleGrant,
    User,
    utcnow,
)
from hub.queue import get_queue

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., None])
#: The people to tell, or a function that finds them (called where a failure cannot hurt the action).
People = Iterable[int] | Callable[[], Iterable[int]]

DELIVER = "hub.notify.jobs.deliver"
JOB_TIMEOUT = 120


def hub_path(endpoint: str, **values: Any) -> str:
    """A path in the hub (works in a request, a worker job or the CLI: no request context needed)."""
    return current_app.url_map.bind("localhost").build(endpoint, values)


def absolute(path: str) -> str:
    base = get_settings(current_app.config).external_url.rstrip("/")
    return base + path if path.startswith("/") else path


def admins_of(session: Session, unit_id: int) -> list[int]:
    return list(session.scalars(select(RoleGrant.user_id).join(User, User.id == RoleGrant.user_id).where(
        RoleGrant.role == "admin", RoleGrant.unit_id == unit_id, User.active.is_(True))).unique())


def enqueue(config: dict[str, Any], delivery_ids: Iterable[int], delay: float = 0) -> int:
    """Put delivery jobs on the queue; False-y when Redis is unreachable (the sweeper catches up)."""
    from datetime import timedelta

    n = 0
    try:
        q = get_queue(config)
        for did in delivery_ids:
            if delay > 0:
                q.enqueue_in(timedelta(seconds=delay), DELIVER, did, job_timeout=JOB_TIMEOUT)
            else:
                q.enqueue(DELIVER, did, job_timeout=JOB_TIMEOUT)
            n += 1
    except Exception:
        log.warning("could not enqueue notification deliveries; the sweeper will send them")
    return n


def never_raises(fn: F) -> F:
    """An event helper: whatever goes wrong is logged; the action that caused the event goes on."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            fn(*args, **kwargs)
        except Exception:
            log.warning("notification %s could not be recorded", fn.__name__, exc_info=True)

    return wrapper  # type: ignore[return-value]


def emit(session: Session, kind: str, key: str, *, unit_id: int, users: People, title: str,
         text: str = "", link: str = "", post_id: int | None = None) -> None:
    """Record one event for ``users`` (in-app) and the unit's channels; never raises."""
    try:
        with session.begin_nested():
            people = users() if callable(users) else users
            ids = _emit(session, kind, key, unit_id=unit_id, users=people, title=title, text=text, link=link,
                        post_id=post_id)
    except Exception:
        log.warning("notification %s could not be recorded", kind, exc_info=True)
        return
    if ids:
        config = dict(current_app.config)
        after_commit(session, lambda: enqueue(config, ids))


def _emit(session: Session, kind: str, key: str, *, unit_id: int, users: Iterable[int], title: str,
          text: str, link: str, post_id: int | None) -> list[int]:
    people = sorted(set(session.scalars(select(User.id).where(User.id.in_(set(users)), User.active.is_(True)))))
    title, text = title[:200], text[:280]
    message = f"{title}\n{text}" if text else title
    known = set(session.scalars(select(Notification.user_id).where(Notification.event_key == key[:160])))
    for uid in people:
        if uid not in known:
            session.add(Notification(user_id=uid, unit_id=unit_id, kind=kind, event_key=key[:160],
                                     text=message[:500], link=link, post_id=post_id))
    prefs = {p.user_id: p for p in session.scalars(select(NotifyPreference).where(
        NotifyPreference.user_id.in_(people)))} if people else {}
    url = absolute(link) if link else absolute("/")
    rows: list[NotifyDelivery] = []
    for ch in session.scalars(select(NotifyChannel).where(NotifyChannel.unit_id == unit_id,
                                                          NotifyChannel.enabled.is_(True))):
        wanted: list[tuple[str, int | None, str]] = []  # (recipient, user id, status)
        if ch.kind in ("wecom", "dingtalk"):
            # The group hears of it unless everyone concerned switched this kind off.
            if not people or any(getattr(prefs.get(u), f"{ch.kind}_on", True) for u in people):
                wanted.append(("group", None, "pending"))
        elif ch.kind == "wecom_app":
            # An application message to each person who gave their 企业微信 account and kept it on.
            for uid in people:
                p = prefs.get(uid)
                if p is not None and p.wecom_userid and p.wecom_on:
                    wanted.append((f"u{uid}", uid, "pending"))
        else:
            for uid in people:
                p = prefs.get(uid)
                if p is not None and p.email and p.email_on:
                    wanted.append((f"u{uid}", uid, "held" if p.digest else "pending"))
            if (ch.options or {}).get("to"):
                wanted.append(("unit", None, "pending"))
        for recipient, to_user, status in wanted:
            dkey = f"{key}|{recipient}|{ch.id}"[:255]
            if session.scalar(select(NotifyDelivery.id).where(NotifyDelivery.key == dkey)) is not None:
                continue
            row = NotifyDelivery(key=dkey, channel_id=ch.id, user_id=to_user, kind=kind, text=message[:500],
                                 link=url[:300], status=status, next_at=utcnow())
            session.add(row)
            rows.append(row)
    session.flush()
    return [r.id for r in rows if r.status == "pending"]


# -- the events -----------------------------------------------------------------------------
def _stamp() -> int:
    return int(utcnow().timestamp() * 1000)


def _title_of(post: Post) -> str:
    rev = post.current_revision
    return (rev.title if rev else "") or f"稿件 {post.id}"


@never_raises
def review_waiting(session: Session, post: Post, step_name: str, user_ids: People) -> None:
    """A review step waits for these people: a link straight to the review page."""
    rev = post.current_revision
    stamp = int((post.submitted_at or utcnow()).timestamp())
    emit(session, "review_waiting", f"review:{post.id}:{rev.id if rev else 0}:{post.step}:{stamp}",
         unit_id=post.unit_id, users=user_ids, title=f"待您审核（{step_name}）：《{_title_of(post)}》",
         text=f"{post.unit.name}的稿件已到{step_name}环节，请审核。",
         link=hub_path("web.approval.review_post", post_id=post.id), post_id=post.id)


@never_raises
def post_returned(session: Session, post: Post, step_name: str, user_ids: People) -> None:
    emit(session, "post_returned", f"returned:{post.id}:{_stamp()}", unit_id=post.unit_id, users=user_ids,
         title=f"稿件被退回：《{_title_of(post)}》", text=f"{step_name}环节退回了稿件，请查看退回理由并修改。",
         link=hub_path("web.posts.post_page", post_id=post.id), post_id=post.id)


OUTCOME_TEXT = {"published": ("post_published", "稿件已发布：《{t}》", "全部平台发布成功。"),
                "failed": ("post_failed", "稿件发布失败：《{t}》", "请查看稿件页面的失败原因，联系管理员重试。"),
                "partially_published": ("post_failed", "稿件部分发布失败：《{t}》",
                                        "部分平台发布成功，其余失败，请查看稿件页面。")}


@never_raises
def post_outcome(session: Session, post: Post, status: str, user_ids: People) -> None:
    if status not in OUTCOME_TEXT:
        return
    kind, title, text = OUTCOME_TEXT[status]
    emit(session, kind, f"{status}:{post.id}:{_stamp()}", unit_id=post.unit_id, users=user_ids,
         title=title.format(t=_title_of(post)), text=text,
         link=hub_path("web.posts.post_page", post_id=post.id), post_id=post.id)


@never_raises
def dispatch_unconfirmed(session: Session, dispatch_id: int, post: Post, account_name: str,
                         unit_id: int) -> None:
    emit(session, "dispatch_unconfirmed", f"unconfirmed:{dispatch_id}:{_stamp()}", unit_id=unit_id,
         users=lambda: admins_of(session, unit_id), title=f"发布结果无法核实：《{_title_of(post)}》",
         text=f"发往「{account_name}」的发布结果无法向平台核实，请管理员处理。",
         link=hub_path("web.posts.post_page", post_id=post.id), post_id=post.id)


@never_raises
def silence(session: Session, alert_id: int, days: int, account_name: str, unit_id: int, veto: bool) -> None:
    emit(session, "silence", f"silence:{alert_id}:{days}", unit_id=unit_id, users=lambda: admins_of(session, unit_id),
         title=f"账号静默预警：「{account_name}」", text=f"已 {days} 天未更新" + ("（2 周无更新，单项否决）" if veto else "") + "。",
         link=hub_path("web.oversight.monitor_page"))


@never_raises
def rectification_opened(session: Session, rect_id: int, unit_id: int, due_on: str) -> None:
    emit(session, "rectification_open", f"rectification:{rect_id}:open", unit_id=unit_id,
         users=lambda: admins_of(session, unit_id), title="收到通报，需要整改",
         text=f"请于 {due_on} 前报送整改情况和问责情况。", link=hub_path("web.oversight.rectifications_page"))


@never_raises
def rectification_due(session: Session, rect_id: int, unit_id: int, due_on: str) -> None:
    emit(session, "rectification_due", f"rectification:{rect_id}:overdue", unit_id=unit_id,
         users=lambda: admins_of(session, unit_id), title="整改已逾期", text=f"整改期限 {due_on} 已过，已上报上级单位。",
         link=hub_path("web.oversight.rectifications_page"))


@never_raises
def credential_due(session: Session, key: str, account_name: str, unit_id: int) -> None:
    """``key`` names what is due: ``credential:<id>:<version>`` (too old) or ``rotation:<task id>``."""
    emit(session, "credential_due", key, unit_id=unit_id,
         users=lambda: admins_of(session, unit_id), title=f"账号密码到期：「{account_name}」",
         text="该账号的平台凭据已超过轮换期限，请尽快更换。", link=hub_path("web.accounts.account_overdue"))
