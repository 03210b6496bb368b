"""Pull the figures of published items back from the platforms that give them, and read them back.

One pull covers one Beijing day: for every active account whose platform gives figures by API
(``Adapter.can_measure``: WeChat 图文分析 / 用户分析, Weibo counts; the website push protocol has no
view counter), the adapter is asked for the account's followers and for the running totals of each
of its publications of the last ``WINDOW_DAYS`` days. Each account is pulled in its own transaction:
a failure (platform error, missing credentials, locked vault) is stored on that account's row for the
day and never stops the others. The whole pull is one audit entry (``metrics.pull``) naming how many
accounts answered and which failed. Credentials are decrypted here, in the worker or CLI process,
handed to the adapter and dropped; nothing secret is stored or logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from adapters.base import Figures, MetricsRef
from adapters.registry import get_adapter
from hub import audit
from hub.accounts.service import decrypt_credentials
from hub.db import db
from hub.dispatch.holder import make_adapter
from hub.models import Account, AccountMetrics, Dispatch, PublicationMetrics

log = logging.getLogger(__name__)
SHANGHAI = ZoneInfo("Asia/Shanghai")
#: Publications younger than this are asked about (WeChat's statistics stop 30 days after publication).
WINDOW_DAYS = 30


def today() -> date:
    return datetime.now(UTC).astimezone(SHANGHAI).date()


def default_day() -> date:
    """The day a scheduled pull asks about: yesterday (WeChat's statistics end at yesterday)."""
    return today() - timedelta(days=1)


def measurable(platform: str) -> bool:
    try:
        return bool(get_adapter(platform).can_measure)
    except Exception:  # unknown or disabled platform
        return False


@dataclass
class PullResult:
    day: date
    accounts: int = 0
    publications: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # account name -> zh-CN reason

    def summary(self) -> str:
        text = (f"拉取阅读数据（{self.day.isoformat()}）：{self.accounts - len(self.failed)} 个账号成功，"
                f"{len(self.failed)} 个失败，{self.publications} 条发布有数据")
        if self.failed:
            text += "；失败：" + "；".join(f"{name}：{why}" for name, why in sorted(self.failed.items()))
        return text[:2000]


def _beijing_date(dt: datetime | None) -> date | None:
    return dt.replace(tzinfo=UTC).astimezone(SHANGHAI).date() if dt else None


def _dispatches(s: Session, account_id: int, day: date) -> list[Dispatch]:
    start = datetime.combine(day - timedelta(days=WINDOW_DAYS), datetime.min.time()) - timedelta(hours=8)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time()) - timedelta(hours=8)
    return list(s.scalars(select(Dispatch).where(
        Dispatch.account_id == account_id, Dispatch.status == "published",
        Dispatch.published_at >= start, Dispatch.published_at < end).order_by(Dispatch.id)))


def _upsert_account(s: Session, account_id: int, day: date, **values: Any) -> None:
    row = s.scalar(select(AccountMetrics).where(AccountMetrics.account_id == account_id, AccountMetrics.day == day))
    if row is None:
        row = AccountMetrics(account_id=account_id, day=day)
        s.add(row)
    for k, v in values.items():
        setattr(row, k, v)
    row.pulled_at = datetime.now(UTC).replace(tzinfo=None)


def _store(s: Session, account: Account, day: date, figures: Figures, by_key: dict[str, Dispatch]) -> int:
    as_of = figures.as_of or day
    stored = 0
    for key, item in figures.items.items():
        d = by_key.get(key)
        if d is None:
            continue
        row = s.scalar(select(PublicationMetrics).where(PublicationMetrics.dispatch_id == d.id,
                                                        PublicationMetrics.day == as_of))
        if row is None:
            row = PublicationMetrics(dispatch_id=d.id, account_id=account.id, day=as_of)
            s.add(row)
        row.reads, row.shares, row.comments, row.likes = item.reads, item.shares, item.comments, item.likes
        row.pulled_at = datetime.now(UTC).replace(tzinfo=None)
        stored += 1
    _upsert_account(s, account.id, as_of, followers=figures.followers, publications=stored, error=None)
    return stored


def pull_account(app: Any, account_id: int, day: date) -> tuple[int, str | None]:
    """Pull one account's figures for ``day`` in its own transaction: (publications stored, error)."""
    with db.transaction() as s:
        account = s.get(Account, account_id)
        if account is None:
            return 0, None
        dispatches = _dispatches(s, account.id, day)
        refs = [MetricsRef(key=str(d.id), platform_ref=d.platform_ref or "", article_id=d.article_id or "",
                           stats_ref=d.stats_ref or "", published_on=_beijing_date(d.published_at))
                for d in dispatches]
        try:
            creds = decrypt_credentials(account, app.extensions["hub_vault"])
        except Exception as exc:  # locked vault, missing key, tampered row
            reason = getattr(exc, "message", None) or "无法解密账号凭据"
            _upsert_account(s, account.id, day, error=reason)
            return 0, reason
        try:
            adapter = make_adapter(app, account, creds, None)
            figures = adapter.metrics(refs, day)
        except Exception as exc:  # PlatformError or anything unexpected: this account only
            reason = getattr(exc, "message", None) or "平台数据接口调用失败"
            if not getattr(exc, "message", None):
                log.warning("metrics pull failed for account %s", account_id, exc_info=True)
            _upsert_account(s, account.id, day, error=str(reason)[:500])
            return 0, str(reason)[:500]
        finally:
            del creds
        return _store(s, account, day, figures, {str(d.id): d for d in dispatches}), None


def pull(app: Any, day: date) -> PullResult:
    """Pull every measurable active account's figures for ``day`` and audit the pull once."""
    result = PullResult(day)
    with db.transaction() as s:
        accounts = [(a.id, a.name) for a in s.scalars(select(Account).where(Account.status == "active")
                                                        .order_by(Account.id)) if measurable(a.platform)]
    for account_id, name in accounts:
        result.accounts += 1
        stored, error = pull_account(app, account_id, day)
        result.publications += stored
        if error:
            result.failed[name] = error
    with db.transaction() as s:
        audit.record(s, "metrics.pull", object_type="metrics", object_id=day.isoformat(), summary=result.summary(),
                     details={"day": day.isoformat(), "accounts": result.accounts,
                              "failed": len(result.failed), "publications": result.publications})
    return result


# -- reading back ------------------------------------------------------------------------------
@dataclass
class DispatchFigures:
    day: date
    reads: int | None
    shares: int | None
    comments: int | None
    likes: int | None


def latest_for_dispatches(s: Session, dispatch_ids: list[int]) -> dict[int, DispatchFigures]:
    """The newest figures of each dispatch (by day)."""
    out: dict[int, DispatchFigures] = {}
    if not dispatch_ids:
        return out
    rows = s.scalars(select(PublicationMetrics).where(PublicationMetrics.dispatch_id.in_(dispatch_ids))
                     .order_by(PublicationMetrics.day))
    for r in rows:
        out[r.dispatch_id] = DispatchFigures(r.day, r.reads, r.shares, r.comments, r.likes)
    return out


def account_days(s: Session, account_id: int, days: int = 30) -> list[AccountMetrics]:
    """The account's rows of the last ``days`` days, oldest first."""
    since = today() - timedelta(days=days)
    return list(s.scalars(select(AccountMetrics).where(AccountMetrics.account_id == account_id,
                                                       AccountMetrics.day > since).order_by(AccountMetrics.day)))


def account_summary(s: Session, account_id: int) -> dict[str, Any]:
    """Followers now and 30 days ago, the reads of the last 30 days' publications, the last pull."""
    rows = account_days(s, account_id)
    with_followers = [r for r in rows if r.followers is not None]
    last = rows[-1] if rows else None
    since = today() - timedelta(days=30)
    pubs = list(s.scalars(select(PublicationMetrics).where(PublicationMetrics.account_id == account_id,
                                                          PublicationMetrics.day > since)
                          .order_by(PublicationMetrics.day)))
    newest: dict[int, PublicationMetrics] = {}
    for p in pubs:
        newest[p.dispatch_id] = p
    reads = [p.reads for p in newest.values() if p.reads is not None]
    return {
        "followers": with_followers[-1].followers if with_followers else None,
        "followers_day": with_followers[-1].day if with_followers else None,
        "followers_change": (with_followers[-1].followers or 0) - (with_followers[0].followers or 0)
        if len(with_followers) > 1 else None,
        "publications": len(newest),
        "reads": sum(reads) if reads else None,
        "shares": sum(p.shares or 0 for p in newest.values()) if newest else None,
        "likes": sum(p.likes or 0 for p in newest.values()) if newest else None,
        "last_day": last.day if last else None,
        "last_error": last.error if last else None,
        "days": [{"day": r.day, "followers": r.followers, "error": r.error} for r in rows[-7:]],
    }


def year_figures(s: Session, account_ids: list[int], year: int) -> dict[int, dict[str, int | None]]:
    """Per account, for the annual report: the year's reads (newest total of each publication whose
    figures were pulled in the year) and followers at the last pulled day of the year."""
    out: dict[int, dict[str, int | None]] = {a: {"reads": None, "followers": None} for a in account_ids}
    if not account_ids:
        return out
    first, last = date(year, 1, 1), date(year, 12, 31)
    newest: dict[int, PublicationMetrics] = {}
    for p in s.scalars(select(PublicationMetrics).where(PublicationMetrics.account_id.in_(account_ids),
                                                        PublicationMetrics.day >= first,
                                                        PublicationMetrics.day <= last)
                       .order_by(PublicationMetrics.day)):
        newest[p.dispatch_id] = p
    for p in newest.values():
        if p.reads is not None:
            out[p.account_id]["reads"] = (out[p.account_id]["reads"] or 0) + p.reads
    for r in s.scalars(select(AccountMetrics).where(AccountMetrics.account_id.in_(account_ids),
                                                    AccountMetrics.day >= first, AccountMetrics.day <= last,
                                                    AccountMetrics.followers.is_not(None))
                       .order_by(AccountMetrics.day)):
        out[r.account_id]["followers"] = r.followers
    return out


def post_figures(s: Session, post: Any) -> list[dict[str, Any]]:
    """Rows for the post page: each dispatch that went out, its account and newest figures (or None)."""
    sent = [d for d in post.dispatches if d.published_at is not None]
    latest = latest_for_dispatches(s, [d.id for d in sent])
    return [{"dispatch_id": d.id, "account": d.account.name, "platform": d.account.platform,
             "measurable": measurable(d.account.platform), "figures": latest.get(d.id),
             "withdrawn": d.status != "published"}
            for d in sorted(sent, key=lambda d: d.id)]


def account_figures(s: Session, account: Any) -> dict[str, Any]:
    """The account page's block: followers, the 30-day summary and the last pull's outcome."""
    return {"measurable": measurable(account.platform), **account_summary(s, account.id)}


def latest_followers(s: Session, account_ids: list[int]) -> dict[int, int]:
    """Per account, its newest follower count (one grouped query and one read)."""
    if not account_ids:
        return {}
    newest = (select(AccountMetrics.account_id, func.max(AccountMetrics.day).label("day"))
              .where(AccountMetrics.account_id.in_(account_ids), AccountMetrics.followers.is_not(None))
              .group_by(AccountMetrics.account_id).subquery())
    rows = s.execute(select(AccountMetrics.account_id, AccountMetrics.followers).join(
        newest, (newest.c.account_id == AccountMetrics.account_id) & (newest.c.day == AccountMetrics.day)))
    return {aid: int(n) for aid, n in rows if n is not None}
