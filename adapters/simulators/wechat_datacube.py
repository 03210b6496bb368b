"""The WeChat simulator's statistics (数据统计): 图文分析 and 用户分析, as WeChat documents them.

    POST /datacube/getarticletotaldetail  {begin_date, end_date}  publications (发表 and 群发) published
         in the range: {"list": [{"ref_date", "msgid": "<msg_data_id>_<index>", "publish_type",
         "detail_list": [{"stat_date", "read_user", "share_user", "comment_count", "like_user",
         "collection_user", "zaikan_user", ...}]}], "is_delay": false}; one detail entry per day from
         the publication date to yesterday (at most 30 days, past end_date as WeChat's own answers
         show), each the total from publication to that day
    POST /datacube/getarticletotal        {begin_date, end_date}  群发 only (WeChat no longer maintains
         it): {"list": [{"ref_date", "msgid", "title", "details": [{"stat_date", "target_user",
         "int_page_read_user", "int_page_read_count", "share_user", "share_count", "add_to_fav_user",
         ...}]}]}
    POST /datacube/getusercumulate        {begin_date, end_date}  {"list": [{"ref_date", "cumulate_user"}]}

Dates are YYYY-MM-DD, Beijing days of the simulator clock; end_date at most yesterday, begin_date ≤
end_date, else 61500; a span longer than the interface allows (getarticletotal and
getarticletotaldetail 1 day, getusercumulate 7 days) is 61501.

Figures are deterministic and grow with the days since publication: an article's readers per day
come from a hash of its msgid; shares, comments and likes are fixed fractions of the readers.
Followers grow by a few each day from a base taken from a hash of the appid. ``POST /_sim/metrics``
overrides them: ``{"appid", "msgid": "<msg_data_id>_<index>", "read_user"?, "share_user"?,
"comment_count"?, "like_user"?}`` sets an article's totals (every day from then on), ``{"appid",
"followers": N}`` the account's followers; ``{}`` forgets the overrides.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

BEIJING = timezone(timedelta(hours=8))
STAT_DAYS = 30  # getarticletotaldetail counts at most 30 days after publication
SPANS = {"getarticletotaldetail": 1, "getarticletotal": 1, "getusercumulate": 7}
FIGURES = ("read_user", "share_user", "comment_count", "like_user")


class DataCubeError(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class Published:
    """One publication as the statistics know it."""

    appid: str
    msg_data_id: int
    published_at: float
    titles: list[str]
    mass: bool


def _h(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


def _day(value: Any) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise DataCubeError(61500) from None


@dataclass
class DataCube:
    """Overrides set through ``/_sim/metrics``; the figures themselves are computed."""

    articles: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    followers: dict[str, int] = field(default_factory=dict)

    def control(self, body: dict[str, Any]) -> dict[str, Any]:
        if not body:
            self.articles.clear()
            self.followers.clear()
            return {"ok": True}
        appid = body.get("appid")
        if not isinstance(appid, str) or not appid:
            raise ValueError("appid (string) is required")
        if "followers" in body:
            self.followers[appid] = _count(body["followers"], "followers")
        if "msgid" in body:
            msgid = str(body["msgid"])
            if "_" not in msgid:
                raise ValueError("msgid is <msg_data_id>_<index>")
            given = {k: _count(body[k], k) for k in FIGURES if k in body}
            self.articles.setdefault((appid, msgid), {}).update(given)
        return {"ok": True}

    # ----------------------------------------------------------------- figures
    def article(self, appid: str, msgid: str, days: int) -> dict[str, int]:
        """Totals of one article ``days`` days into its life (1 = the publication day)."""
        days = max(0, min(days, STAT_DAYS))
        reads = (40 + _h(msgid) % 160) * days
        out = {"read_user": reads, "share_user": reads // 8, "comment_count": reads // 25,
               "like_user": reads // 12, "collection_user": reads // 30, "zaikan_user": reads // 40}
        out.update(self.articles.get((appid, msgid), {}))
        return out

    def cumulate(self, appid: str, day: date) -> int:
        if appid in self.followers:
            return self.followers[appid]
        return 1000 + _h(appid) % 4000 + 3 * (day - date(2024, 1, 1)).days

    # ----------------------------------------------------------------- endpoints
    @staticmethod
    def _range(body: dict[str, Any], name: str, yesterday: date) -> tuple[date, date]:
        begin, end = _day(body.get("begin_date")), _day(body.get("end_date"))
        if begin > end or end > yesterday:
            raise DataCubeError(61500)
        if (end - begin).days + 1 > SPANS[name]:
            raise DataCubeError(61501)
        return begin, end

    def answer(self, name: str, appid: str, body: dict[str, Any], now: float,
               published: list[Published]) -> dict[str, Any]:
        yesterday = datetime.fromtimestamp(now, BEIJING).date() - timedelta(days=1)
        begin, end = self._range(body, name, yesterday)
        if name == "getusercumulate":
            days = [begin + timedelta(days=i) for i in range((end - begin).days + 1)]
            return {"list": [{"ref_date": d.isoformat(), "user_source": 0, "cumulate_user": self.cumulate(appid, d)}
                             for d in days]}
        rows: list[dict[str, Any]] = []
        for pub in published:
            ref = datetime.fromtimestamp(pub.published_at, BEIJING).date()
            if pub.appid != appid or not begin <= ref <= end or (name == "getarticletotal" and not pub.mass):
                continue
            # Each publication's days from its publication to yesterday (at most 30), whatever end_date.
            stat_days = [ref + timedelta(days=i) for i in range(min(STAT_DAYS, (yesterday - ref).days + 1))]
            for idx, title in enumerate(pub.titles, 1):
                msgid = f"{pub.msg_data_id}_{idx}"
                if name == "getarticletotal":
                    details = []
                    for d in stat_days:
                        f = self.article(appid, msgid, (d - ref).days + 1)
                        details.append({"stat_date": d.isoformat(), "target_user": self.cumulate(appid, d),
                                        "int_page_read_user": f["read_user"],
                                        "int_page_read_count": f["read_user"] * 5 // 4,
                                        "ori_page_read_user": 0, "ori_page_read_count": 0,
                                        "share_user": f["share_user"], "share_count": f["share_user"] * 5 // 4,
                                        "add_to_fav_user": f["collection_user"],
                                        "add_to_fav_count": f["collection_user"]})
                    rows.append({"ref_date": ref.isoformat(), "msgid": msgid, "title": title,
                                 "details": details})
                else:
                    detail = []
                    for d in stat_days:
                        f = self.article(appid, msgid, (d - ref).days + 1)
                        detail.append({"stat_date": d.isoformat(), "read_user": f["read_user"],
                                       "share_user": f["share_user"], "comment_count": f["comment_count"],
                                       "like_user": f["like_user"], "collection_user": f["collection_user"],
                                       "zaikan_user": f["zaikan_user"], "read_subscribe_user": 0})
                    rows.append({"ref_date": ref.isoformat(), "msgid": msgid,
                                 "publish_type": 0 if pub.mass else 1, "detail_list": detail})
        out: dict[str, Any] = {"list": rows}
        if name == "getarticletotaldetail":
            out["is_delay"] = False
        return out


def _count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer")
    return value
