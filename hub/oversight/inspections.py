"""The quarterly inspection (巡检) of a unit's subtree against the 19号 indicators (国办秘函〔2019〕19号,
hub/oversight/data/indicators_19.json), as of a reference date: nothing after it is considered.

Per account: veto items evaluated from the hub's data (V2: 14 days or more without a publication;
V1: block-level findings of the latest daily re-scan on or before the date, in the categories of
serious misstatements and secrecy, on content still published on the account) or recorded by the
inspector (:func:`record_item`); deductions with the table's points; score out of 100; below 60 or
any veto fails. A failed item opens a rectification for the account's unit, received on the day
the inspection is carried out (not its reference date, which may lie in the future or the past). Published: a public page (no login) at ``public_url``."""

from __future__ import annotations

import json
import re
import secrets
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub import audit
from hub.errors import BadRequest, Conflict, Forbidden, NotFound
from hub.models import Dispatch, InspectionFinding, InspectionRun, QuarterlyInspection, Revision, User, utcnow
from hub.org.service import unit_by_code
from hub.oversight import monitor, rectifications
from hub.permissions import is_admin_of, is_supervisor_over, subtree_ids

PASS_MARK = 60
SERIOUS_CATEGORIES = ("secret", "leader", "sensitive", "map")  # 严重表述错误 and 泄露国家秘密
PERIOD = re.compile(r"^(20\d\d)Q([1-4])$")


@cache
def indicators() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((Path(__file__).parent / "data" / "indicators_19.json").read_text("utf-8"))
    return data


def _serious_findings(session: Session, account_ids: list[int], as_of: date) -> dict[int, list[str]]:
    """Per account: problems of block-level serious findings of the latest re-scan up to ``as_of``."""
    run = session.scalars(select(InspectionRun).where(InspectionRun.status == "done",
                                                      InspectionRun.day <= as_of.isoformat())
                          .order_by(InspectionRun.day.desc(), InspectionRun.id.desc())).first()
    out: dict[int, list[str]] = {}
    if run is None or not account_ids:
        return out
    findings = session.scalars(select(InspectionFinding).where(
        InspectionFinding.run_id == run.id, InspectionFinding.severity == "block",
        InspectionFinding.category.in_(SERIOUS_CATEGORIES))).unique().all()
    for f in findings:
        rev = session.get(Revision, f.revision_id)
        title = rev.title if rev else ""
        for aid in session.scalars(select(Dispatch.account_id).where(
                Dispatch.post_id == f.post_id, Dispatch.status == "published", Dispatch.account_id.in_(account_ids))):
            out.setdefault(aid, []).append(f"《{title}》：{f.message}「{f.text}」" if f.text
                                           else f"《{title}》：{f.message}")
    return out


def _score(item: dict[str, Any]) -> None:
    item["score"] = max(0, 100 - sum(d["points"] for d in item["deductions"]))
    item["veto"] = bool(item["vetoes"])
    item["passed"] = not item["veto"] and item["score"] >= PASS_MARK
    item["problems"] = [f"单项否决：{v['name']}（{v['text']}）" + (f"：{v['detail']}" if v.get("detail") else "")
                        for v in item["vetoes"]] + \
                       [f"扣 {d['points']} 分：{d['name']}（{d['text']}）" + (f"：{d['note']}" if d.get("note") else "")
                        for d in item["deductions"]]


def start(session: Session, user: User, unit_code: str, period: str, as_of: date | None) -> QuarterlyInspection:
    unit = unit_by_code(session, unit_code)
    if not is_supervisor_over(session, user, unit.id):
        raise Forbidden("只有主管单位可以开展巡检", code="not_supervisor")
    if not PERIOD.match(period or ""):
        raise BadRequest("period 应为 YYYYQn，例如 2026Q4", code="bad_period")
    as_of = as_of or monitor.today()
    table = {v["code"]: v for v in indicators()["veto"]}
    accounts = monitor.accounts_of(session, subtree_ids(session, unit.id))
    states = monitor.states(session, accounts, as_of)
    serious = _serious_findings(session, [a.id for a in accounts], as_of)
    items = []
    for st in states:
        a = st.account
        vetoes = []
        if st.days_silent is not None and st.days_silent >= monitor.VETO_DAYS:
            vetoes.append({**table["V2"], "detail": f"截至 {as_of.isoformat()} 已 {st.days_silent} 天未更新"})
        for p in serious.get(a.id, []):
            vetoes.append({**table["V1"], "detail": p})
        item = {"account_id": a.id, "account": a.name, "platform": a.platform, "unit": a.unit.code,
                "unit_name": a.unit.name, "days_silent": st.days_silent, "vetoes": vetoes, "deductions": [],
                "rectification_id": None}
        _score(item)
        items.append(item)
    insp = QuarterlyInspection(unit_id=unit.id, period=period, as_of=as_of, status="done", items=[],
                               public_key=secrets.token_urlsafe(16), created_by_id=user.id)
    session.add(insp)
    session.flush()
    for item in items:
        if not item["passed"]:
            _open_rectification(session, user, insp, item)
    insp.items = items
    audit.record(session, "inspection.quarterly", object_type="quarterly_inspection", object_id=insp.id, unit=unit,
                 summary=f"{period} 巡检（截至 {as_of.isoformat()}）：{len(items)} 个账号，"
                         f"{sum(1 for i in items if not i['passed'])} 个不合格",
                 details={"period": period, "as_of": as_of.isoformat(),
                          "failed": [i["account_id"] for i in items if not i["passed"]]})
    return insp


def _open_rectification(session: Session, user: User, insp: QuarterlyInspection, item: dict[str, Any]) -> None:
    if item.get("rectification_id"):
        return
    r = rectifications.record_notice(session, user, insp.unit.code, f"{insp.period} 巡检不合格：「{item['account']}」；"
                                     + "；".join(item["problems"]), monitor.today(), item["account_id"],
                                     source="inspection")
    item["rectification_id"] = r.id


def get(session: Session, user: User, iid: int) -> QuarterlyInspection:
    insp = session.get(QuarterlyInspection, iid)
    if insp is None or not (is_supervisor_over(session, user, insp.unit_id)
                            or is_admin_of(session, user, insp.unit_id)):
        raise NotFound("没有这次巡检", code="not_found")
    return insp


def may_record(session: Session, user: User, iid: int) -> QuarterlyInspection:
    """404, 403, 409 in that order, before the body is looked at (docs/design.md §8)."""
    insp = get(session, user, iid)
    if not is_supervisor_over(session, user, insp.unit_id):
        raise Forbidden("只有主管单位可以记录巡检问题", code="not_supervisor")
    if insp.status == "published":
        raise Conflict("巡检结果已公开，请另行复查", code="published")
    return insp


def record_item(session: Session, user: User, iid: int, account_id: int, code: str, note: str,
                count: int = 1) -> QuarterlyInspection:
    """The inspector records a veto or deduction item the hub's data does not hold."""
    insp = may_record(session, user, iid)
    items = [dict(i) for i in insp.items]
    item = next((i for i in items if i["account_id"] == account_id), None)
    if item is None:
        raise NotFound("这次巡检没有这个账号", code="unknown_account")
    veto = {v["code"]: v for v in indicators()["veto"]}
    ded = {d["code"]: d for d in indicators()["deductions"]}
    if code in veto:
        item["vetoes"] = [*item["vetoes"], {**veto[code], "detail": note}]
    elif code in ded:
        n = count if ded[code]["each"] else 1
        if not 1 <= n <= 100:
            raise BadRequest("count 应在 1 到 100 之间", code="bad_count")
        item["deductions"] = [*item["deductions"], {**ded[code], "points": ded[code]["points"] * n, "note": note}]
    else:
        raise BadRequest(f"没有指标 {code}", code="unknown_indicator")
    _score(item)
    if not item["passed"]:
        _open_rectification(session, user, insp, item)
    insp.items = items
    audit.record(session, "inspection.item", object_type="quarterly_inspection", object_id=insp.id, unit=insp.unit,
                 summary=f"记录巡检问题：「{item['account']}」{code}", details={"account_id": account_id, "code": code})
    return insp


def publish(session: Session, user: User, iid: int) -> QuarterlyInspection:
    insp = get(session, user, iid)
    if not is_supervisor_over(session, user, insp.unit_id):
        raise Forbidden("只有主管单位可以公开巡检结果", code="not_supervisor")
    if insp.status != "published":
        insp.status, insp.published_at = "published", utcnow()
        audit.record(session, "inspection.publish", object_type="quarterly_inspection", object_id=insp.id,
                     unit=insp.unit, summary=f"公开 {insp.period} 巡检结果")
    return insp


def by_public_key(session: Session, key: str) -> QuarterlyInspection:
    insp = session.scalars(select(QuarterlyInspection).where(QuarterlyInspection.public_key == key[:40])).first()
    if insp is None or insp.status != "published":
        raise NotFound("没有这份巡检结果", code="not_found")
    return insp


def to_dict(insp: QuarterlyInspection, public_url: str | None) -> dict[str, Any]:
    return {"id": insp.id, "unit": insp.unit.code, "period": insp.period, "as_of": insp.as_of.isoformat(),
            "status": insp.status, "public_url": public_url,
            "items": [{k: i[k] for k in ("account_id", "account", "platform", "unit", "veto", "score", "passed",
                                         "problems", "rectification_id")} for i in insp.items]}
