"""WeChat figures: 图文分析 and 用户分析 (``/datacube/...``), as WeChat documents them.

* ``POST /datacube/getarticletotaldetail`` ``{begin_date, end_date}`` (YYYY-MM-DD, end at most
  yesterday): every publication (发表 and 群发) *published* in the range, ``{"list": [{"ref_date",
  "msgid": "<msg_data_id>_<index>", "publish_type", "detail_list": [{"stat_date", "read_user",
  "share_user", "comment_count", "like_user", "collection_user", ...}]}], "is_delay"}``; each
  ``detail_list`` entry sums what happened from the publication date to ``stat_date`` (at most 30
  days). This replaces ``getarticletotal``, which WeChat no longer maintains and which only ever
  counted 群发 (never freepublish 发表, the hub's default).
* ``POST /datacube/getusercumulate`` ``{begin_date, end_date}`` (at most 7 days): ``{"list":
  [{"ref_date", "cumulate_user"}]}``: followers at the end of each day.

``msgid`` joins a publication by the ``msg_data_id`` that ``freepublish/submit`` or
``message/mass/sendall`` returned (the hub keeps it as the dispatch's ``stats_ref``); a
publication's figures are those of all its articles (indexes) added up. Errors: 61500 (date format
or a date not yet available), 61501 (range too large), as every WeChat error.

wechatpy's ``WeChatDataCube`` has ``get_user_cumulate`` and ``get_article_total`` but posts to a
hard-wired ``https://api.weixin.qq.com/datacube/`` (it ignores the account's ``api_base``, so it
would reach the real platform from a simulator account) and has no ``getarticletotaldetail``:
the calls go through the adapter's own ``_call`` (token refresh, retries, error mapping) instead.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from .base import Figures, ItemFigures, MetricsRef, PlatformError

#: WeChat's own codes for the statistics interface.
DATE_ERRORS = {61500: "微信统计数据的日期无效或尚未生成（只能查询昨天及以前）",
               61501: "微信统计数据的日期范围过大"}


def _post(adapter: Any, client: Any, name: str, day_from: date, day_to: date) -> dict[str, Any]:
    try:
        return adapter._call(client, "post", f"{adapter.api_base}/datacube/{name}", mutating=False,
                             data={"begin_date": day_from.isoformat(), "end_date": day_to.isoformat()})
    except PlatformError as exc:
        if exc.code in DATE_ERRORS:
            exc.message = f"{DATE_ERRORS[exc.code]}（错误码 {exc.code}）"
        raise


def _int(value: Any) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


def followers(adapter: Any, client: Any, day: date) -> int | None:
    res = _post(adapter, client, "getusercumulate", day, day)
    for row in res.get("list") or []:
        if isinstance(row, dict) and str(row.get("ref_date")) == day.isoformat():
            return _int(row.get("cumulate_user"))
    return None


def figures(adapter: Any, client: Any, refs: list[MetricsRef], day: date) -> Figures:
    """Followers on ``day`` and, for each ref, its totals up to ``day`` (one call per publication date)."""
    out = Figures(followers=followers(adapter, client, day))
    by_date: dict[date, list[MetricsRef]] = defaultdict(list)
    for ref in refs:
        if not ref.stats_ref:
            out.missing[ref.key] = "发布时微信未返回统计编号（msg_data_id），无法对应图文分析数据"
        elif ref.published_on is None or ref.published_on > day:
            out.missing[ref.key] = "该日尚无数据"
        else:
            by_date[ref.published_on].append(ref)
    for published_on, group in sorted(by_date.items()):
        res = _post(adapter, client, "getarticletotaldetail", published_on, published_on)
        totals: dict[str, ItemFigures] = {}
        for row in res.get("list") or []:
            if not isinstance(row, dict):
                continue
            msg_data_id = str(row.get("msgid") or "").rpartition("_")[0]
            entries = [e for e in row.get("detail_list") or []
                       if isinstance(e, dict) and str(e.get("stat_date") or "") <= day.isoformat()]
            if not msg_data_id or not entries:
                continue
            last = max(entries, key=lambda e: str(e.get("stat_date")))
            item = totals.setdefault(msg_data_id, ItemFigures(0, 0, 0, 0))
            item.reads = (item.reads or 0) + _int(last.get("read_user"))
            item.shares = (item.shares or 0) + _int(last.get("share_user"))
            item.comments = (item.comments or 0) + _int(last.get("comment_count"))
            item.likes = (item.likes or 0) + _int(last.get("like_user"))
        for ref in group:
            if ref.stats_ref in totals:
                out.items[ref.key] = totals[ref.stats_ref]
            else:
                out.missing[ref.key] = "微信图文分析中没有该发布的数据"
    return out
