"""The 监测台 (the supervisor's home page): every monitored account of the units the user oversees
as of today — last publication, days without one, publications in 7 and 30 days, share of
originals (30 days), open alerts and rectifications, filings in review and credentials due for
rotation, followers as the platforms last gave them (hub/metrics) (one grouped query per figure) — filtered, sorted, exported as XLSX, and the
publications per week per unit drawn as small inline SVG bar charts (server-side: no script, no
CDN, no vendored library)."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from adapters.registry import UnknownPlatform, get_adapter
from hub.i18n_marks import PLATFORM_LABELS, platform_text
from hub.metrics import service as metrics_svc
from hub.models import (
    Credential,
    Dispatch,
    Filing,
    InboxMessage,
    MonitorAlert,
    Rectification,
    Revision,
    RotationTask,
    Unit,
    User,
    utcnow,
)
from hub.oversight import monitor
from hub.oversight.rectifications import OPEN
from hub.permissions import overseen_unit_ids

SORTS = ("unit", "name", "platform", "last_published_at", "days_silent", "posts_7d", "posts_30d", "original_share",
         "alerts", "rectifications", "filings", "credentials", "followers")
WEEKS = 8


def may_view(user: User) -> bool:
    return any(g.role in ("supervisor", "admin") for g in user.roles)


def rows(session: Session, user: User, unit: str = "", platform: str = "", sort: str = "days_silent",
         desc: bool = True, as_of: date | None = None) -> dict[str, Any]:
    as_of = as_of or monitor.today()
    ids = overseen_unit_ids(session, user)
    units = {u.id: u for u in session.scalars(select(Unit).where(Unit.id.in_(ids)).order_by(Unit.id))}
    if unit:
        chosen = [u for u in units.values() if u.code == unit]
        ids = {chosen[0].id} if chosen else set()
    accounts = [a for a in monitor.accounts_of(session, ids) if not platform or a.platform == platform]
    states = monitor.states(session, accounts, as_of)
    start = monitor.day_end_utc(as_of - timedelta(days=WEEKS * 7))
    pubs = session.execute(select(Dispatch.account_id, Dispatch.published_at, Revision.is_original)
                           .join(Revision, Revision.id == Dispatch.revision_id)
                           .where(Dispatch.account_id.in_([a.id for a in accounts] or [-1]),
                                  Dispatch.published_at.is_not(None), Dispatch.published_at >= start,
                                  Dispatch.published_at < monitor.day_end_utc(as_of))).all()
    rects = session.scalars(select(Rectification).where(Rectification.unit_id.in_(ids or {-1}),
                                                        Rectification.status.in_(OPEN))).unique().all()
    filings, creds = _filings_in_review(session, accounts), _credentials_due(session, accounts)
    tokens = _token_alerts(session, accounts)
    followers = metrics_svc.latest_followers(session, [a.id for a in accounts])
    out = []
    for st in states:
        a = st.account
        if a.id in tokens:  # 抖音/快手: the authorisation runs out (hub/accounts/oauth.py)
            st.alerts.append(tokens[a.id])
        recent = [(at, orig) for aid, at, orig in pubs if aid == a.id and at is not None
                  and (as_of - monitor.beijing_date(at)).days < 30]
        mine = [r for r in rects if r.account_id == a.id or (r.account_id is None and r.unit_id == a.unit_id)]
        out.append({"id": a.id, "unit": a.unit.code, "unit_name": a.unit.name, "name": a.name, "platform": a.platform,
                    "platform_text": platform_text(a.platform, a.platform_name),
                    "last_published_at": st.last_published_at, "days_silent": st.days_silent,
                    "posts_7d": st.posts_7d, "posts_30d": st.posts_30d,
                    "original_share": round(100 * sum(1 for _, o in recent if o) / len(recent)) if recent else None,
                    "alerts": st.alerts, "rectifications": len(mine),
                    "overdue": sum(1 for r in mine if r.due_on < as_of),
                    "filings": filings.get(a.id, 0), "credentials": creds.get(a.id, 0),
                    "followers": followers.get(a.id)})
    key = sort if sort in SORTS else "days_silent"

    def sort_key(r: dict[str, Any]) -> tuple[bool, Any]:
        v = r[key]
        v = len(v) if isinstance(v, list) else v
        return (v is None, v if v is not None else 0)

    out.sort(key=sort_key, reverse=desc)
    # publications per week per unit (oldest week first)
    unit_of = {a.id: a.unit_id for a in accounts}
    weekly: dict[int, list[int]] = {}
    for aid, at, _orig in pubs:
        if at is None:
            continue
        w = (as_of - monitor.beijing_date(at)).days // 7
        if 0 <= w < WEEKS:
            weekly.setdefault(unit_of[aid], [0] * WEEKS)[WEEKS - 1 - w] += 1
    charts = [{"unit": units[uid].name, "weeks": weekly.get(uid, [0] * WEEKS)}
              for uid in sorted({a.unit_id for a in accounts})]
    return {"as_of": as_of, "rows": out, "charts": charts, "units": list(units.values()),
            "messages": _messages(session, units, ids, as_of),
            "platforms": list(PLATFORM_LABELS)}  # every platform, whether or not an account is on it yet


def _token_alerts(session: Session, accounts: list[Any]) -> dict[int, dict[str, Any]]:
    """Per account: its open token alert (需重新授权), as the board shows alerts. One query."""
    return {al.account_id: {"kind": "token", "level": al.level, "since": al.since.isoformat(), "days": al.days}
            for al in session.scalars(select(MonitorAlert).where(
                MonitorAlert.kind == "token", MonitorAlert.closed_at.is_(None),
                MonitorAlert.account_id.in_([a.id for a in accounts] or [-1]))).unique()
            if al.account_id is not None}


def _messages(session: Session, units: dict[int, Unit], ids: set[int], as_of: date) -> list[dict[str, Any]]:
    """政民互动 this month per unit (hub/interaction/stats.py): received, answered, in time, average
    working days, and the messages open past their due date."""
    from hub.interaction.stats import figures

    start = as_of.replace(day=1)
    overdue = {int(uid): int(n) for uid, n in session.execute(select(InboxMessage.unit_id, func.count()).where(
        InboxMessage.unit_id.in_(ids or {-1}), InboxMessage.status != "closed",
        InboxMessage.due_on < as_of).group_by(InboxMessage.unit_id)).all()}
    out = []
    for uid in sorted(ids):
        f = figures(session, {uid}, start, as_of + timedelta(days=1))
        if f["received"] or overdue.get(uid):
            out.append({"unit": units[uid].name, **f, "overdue": int(overdue.get(uid, 0))})
    return out


def _filings_in_review(session: Session, accounts: list[Any]) -> dict[int, int]:
    """Per account: its filings (备案) still awaiting a supervisor. One grouped query."""
    return {aid: int(n) for aid, n in session.execute(
        select(Filing.account_id, func.count()).where(Filing.status == "in_review",
                                                      Filing.account_id.in_([a.id for a in accounts] or [-1]))
        .group_by(Filing.account_id))}


def _credentials_due(session: Session, accounts: list[Any]) -> dict[int, int]:
    """Per account: secret credential fields due for rotation, as hub.accounts.service.overdue_credentials
    counts them (older than the maximum age, or with an open rotation task). Two queries."""
    from hub.accounts.service import max_age_days

    ids = [a.id for a in accounts] or [-1]
    cutoff = utcnow() - timedelta(days=max_age_days())
    secret: dict[int, set[str]] = {}
    for a in accounts:
        try:
            secret[a.id] = {f.name for f in get_adapter(a.platform).credential_fields if f.secret}
        except UnknownPlatform:
            secret[a.id] = set()
    due: dict[int, set[str]] = {}
    for aid, field in session.execute(select(Credential.account_id, Credential.field).where(
            Credential.account_id.in_(ids), Credential.changed_at < cutoff)):
        if field in secret.get(aid, set()):
            due.setdefault(aid, set()).add(field)
    for aid, field in session.execute(select(RotationTask.account_id, RotationTask.field).where(
            RotationTask.account_id.in_(ids), RotationTask.status == "open")):
        due.setdefault(aid, set()).add(field)
    return {aid: len(fields) for aid, fields in due.items()}


COLUMNS = (("unit_name", "单位"), ("name", "账号"), ("platform", "平台"), ("last_published_at", "最近发布"),
           ("days_silent", "未更新天数"), ("posts_7d", "7天发布"), ("posts_30d", "30天发布"),
           ("original_share", "原创占比(%)"), ("alerts", "预警"), ("rectifications", "整改中"), ("overdue", "整改逾期"),
           ("filings", "备案待审"), ("credentials", "凭据待轮换"), ("followers", "粉丝"))


def to_xlsx(board: dict[str, Any], local_time: Any) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "监测台"
    ws.append([label for _, label in COLUMNS])
    for r in board["rows"]:
        cells = []
        for k, _label in COLUMNS:
            v = r[k]
            if k == "platform":
                v = r.get("platform_text", v)
            elif k == "last_published_at":
                v = local_time(v) if v else ""
            elif k == "alerts":
                v = "、".join(("需重新授权" if a.get("kind") == "token" else "留言逾期" if a.get("kind") == "message_overdue"
                               else "单项否决" if a["level"] == "veto"
                              else "预警") for a in v)
            cells.append("" if v is None else v)
        ws.append(cells)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
