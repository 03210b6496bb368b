"""Daily inspection (每日巡检) of published content.

Once a day, after ``HUB_RESCAN_AT`` (Asia/Shanghai, default 03:00), the worker's sweeper
creates that day's :class:`InspectionRun` (``run_key`` ``daily-YYYY-MM-DD`` is unique, so racing
workers create it once) and enqueues :func:`run_inspection` with the run's id. Admins may also
start a run by hand. The job:

1. reads every revision published (a ``published`` dispatch) within the last
   ``HUB_RESCAN_DAYS`` days (default 30) of posts not withdrawn;
2. re-checks title, summary and body with the current lexicon of the post's unit;
3. checks that each outbound link on an allowed domain (``*.gov.cn``, ``HUB_ALLOWED_DOMAINS``,
   the unit's domain additions) still answers (HEAD, then GET when HEAD is refused; short
   timeouts, ``HUB_LINK_TIMEOUT``) and does not redirect to a domain outside the allow-list.
   Links to other domains are already findings of the content check and are never fetched;
4. stores every finding with the run (each day's run is kept), marks as new those no earlier
   run found on the same post, and raises one alert per post and publishing account's unit
   for the admins of that unit (shown on their dashboard).

Network calls happen outside any database transaction; all writes of a run are one
transaction with its audit entries.

Names kept from when this was called the "re-scan", because they are data already written
elsewhere: the settings ``HUB_RESCAN_AT`` and ``HUB_RESCAN_DAYS`` (operators have them set),
the RQ job ids ``hub-rescan-<run id>`` and the job function ``run_scan`` (jobs already in
Redis), and the audit actions ``check.rescan_start``, ``check.rescan`` and
``post.rescan_alert`` with object type ``scan_run`` (entries hashed into the audit chain).
"""

from __future__ import annotations

import hashlib
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

import requests
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from hub import audit
from hub.checks.inspections import enqueue_inspection, job_id, run_at, window_days
from hub.config import get_settings
from hub.db import db
from hub.models import (
    Account,
    Dispatch,
    InspectionAlert,
    InspectionFinding,
    InspectionRun,
    Post,
    Revision,
    utcnow,
)
from hub.runtime import get_app

log = logging.getLogger(__name__)
SHANGHAI = ZoneInfo("Asia/Shanghai")

MAX_REDIRECTS = 5
#: A queued run whose job is gone from Redis (lost enqueue) is enqueued again after this long.
REQUEUE_AFTER = timedelta(minutes=10)
ALERT_SEVERITIES = ("block", "warn")


# -- scheduling -------------------------------------------------------------------------------
def schedule_daily(app: Any, now: datetime | None = None) -> int | None:
    """Called by the worker's sweeper: once today's time has come, create today's run (once,
    however many workers race) and enqueue it; re-enqueue a queued run whose job was lost.
    Returns the id of the run enqueued, if any."""
    from hub.queue import get_queue

    local = (now or datetime.now(UTC)).astimezone(SHANGHAI)
    day = local.date().isoformat()
    key = f"daily-{day}"
    with app.app_context():
        if local.time() < run_at(app):
            return None
        try:
            s = db.session()
            run = s.scalars(select(InspectionRun).where(InspectionRun.run_key == key)).first()
            if run is not None:
                if run.status != "queued" or utcnow() - run.created_at < REQUEUE_AFTER:
                    return None
                if get_queue(app.config).fetch_job(job_id(run.id)) is not None:
                    return None
                run_id = run.id
            else:
                s.rollback()
                try:
                    with db.transaction() as s2:
                        run = InspectionRun(run_key=key, trigger="daily", day=day, status="queued",
                                      window_days=window_days(app))
                        s2.add(run)
                        s2.flush()
                        run_id = run.id
                except IntegrityError:
                    return None  # another worker created it
            enqueue_inspection(app.config, run_id)
            log.info("daily inspection %s enqueued (run %s)", day, run_id)
            return run_id
        finally:
            db.session.remove()


# -- the job ----------------------------------------------------------------------------------
def run_inspection(run_id: int) -> str:
    """RQ job: run one inspection (ids only)."""
    app = get_app()
    with app.app_context():
        token = audit.current_actor.set(audit.Actor.system("inspector"))
        try:
            with db.transaction() as s:
                won = s.execute(update(InspectionRun)
                                .where(InspectionRun.id == run_id, InspectionRun.status == "queued")
                                .values(status="running", started_at=utcnow())
                                .execution_options(synchronize_session=False)).rowcount  # type: ignore[attr-defined]
            if won != 1:
                return "not queued"
            try:
                return _inspect(app, run_id)
            except Exception as exc:
                log.exception("inspection %s failed", run_id)
                db.session.rollback()
                with db.transaction() as s:
                    s.execute(update(InspectionRun).where(InspectionRun.id == run_id).values(
                        status="failed", finished_at=utcnow(), error=f"{type(exc).__name__}: {str(exc)[:500]}"))
                return "failed"
        finally:
            audit.current_actor.reset(token)
            db.session.remove()


#: The job's name before the rename: jobs enqueued by an older release name ``hub.checks.jobs.run_scan``.
run_scan = run_inspection


def _fingerprint(*parts: Any) -> str:
    return hashlib.sha256("\0".join(str(p) for p in parts).encode()).hexdigest()


def _targets(s: Any, since: datetime) -> dict[tuple[int, int], set[int]]:
    """(post id, revision id) → account ids, for what was published since ``since``."""
    rows = s.execute(select(Dispatch.post_id, Dispatch.revision_id, Dispatch.account_id).join(
        Post, Post.id == Dispatch.post_id).where(
        Dispatch.status == "published", Dispatch.published_at >= since, Post.status != "withdrawn")).all()
    out: dict[tuple[int, int], set[int]] = {}
    for post_id, rev_id, acc_id in rows:
        out.setdefault((post_id, rev_id), set()).add(acc_id)
    return out


def _inspect(app: Any, run_id: int) -> str:
    from hub.checks import service as checks_svc
    from review.checks import lexicon_label
    s = db.session()
    run = s.get(InspectionRun, run_id)
    assert run is not None
    targets = _targets(s, utcnow() - timedelta(days=run.window_days))
    overlay = checks_svc.current_overlay(s)
    label = lexicon_label(overlay)
    found: list[dict[str, Any]] = []  # finding dicts with post/revision/unit ids
    links: dict[str, list[tuple[dict[str, Any], int, int]]] = {}  # url -> [(context, start, end)]
    posts: dict[int, Post] = {}
    allowed = checks_svc.allowed_domains()
    for (post_id, rev_id), _accounts in sorted(targets.items()):
        post = s.get(Post, post_id)
        rev = s.get(Revision, rev_id)
        if post is None or rev is None:
            continue
        posts[post_id] = post
        ctx = {"post_id": post_id, "revision_id": rev_id, "unit_id": post.unit_id}
        for f in checks_svc.revision_findings(s, rev, post.unit_id):
            if f["category"] != "platform":  # what a platform would refuse or strip matters before sending
                found.append({**f, **ctx, "url": ""})
        lex_domains = _unit_domains(s, overlay, post.unit_id)
        for url, start, end in outbound_links(rev.content):
            if link_allowed(url, allowed + lex_domains):
                links.setdefault(url, []).append((ctx, start, end))
    # A redirect may lead to any allowed domain (one check per URL serves every post linking it).
    all_domains = allowed + tuple(
        a.wrong for a in (overlay.additions if overlay else ()) if a.category == "domain")
    s.rollback()  # end the read transaction before the network calls

    settings = get_settings(app.config)
    timeout = settings.link_timeout
    workers = max(1, settings.link_workers)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = dict(zip(links, pool.map(lambda u: check_link(u, all_domains, timeout), links), strict=True))
    for url, problem in results.items():
        if problem is None:
            continue
        rule, severity, message = problem
        for ctx, start, end in links[url]:
            found.append({**ctx, "rule": rule, "category": "link", "severity": severity, "start": start,
                          "end": end, "text": url, "suggestion": None, "message": message, "field": "content",
                          "lexicon_version": label, "url": url})

    with db.transaction() as s:
        run = s.get(InspectionRun, run_id)
        assert run is not None
        post_ids = list(posts)
        previous = set(s.scalars(select(InspectionFinding.fingerprint).where(
            InspectionFinding.post_id.in_(post_ids or [-1]), InspectionFinding.run_id != run_id)).all())
        new_by_post: dict[int, list[dict[str, Any]]] = {}
        for f in found:
            if f["url"]:
                fp = _fingerprint(f["post_id"], "link-check", f["rule"], f["url"])
            else:
                fp = _fingerprint(f["post_id"], f["revision_id"], f["field"], f["rule"], f["start"], f["end"])
            is_new = fp not in previous
            previous.add(fp)  # the same link twice in one post counts once
            s.add(InspectionFinding(run_id=run_id, post_id=f["post_id"], revision_id=f["revision_id"],
                              unit_id=f["unit_id"], field=f["field"], rule=f["rule"][:200], category=f["category"],
                              severity=f["severity"], start_offset=f["start"], end_offset=f["end"], text=f["text"],
                              suggestion=f.get("suggestion"), message=f["message"], url=f["url"][:1000],
                              fingerprint=fp, is_new=is_new, lexicon_version=f["lexicon_version"]))
            if is_new and f["severity"] in ALERT_SEVERITIES:
                new_by_post.setdefault(f["post_id"], []).append(f)
        alerts = _raise_alerts(s, run_id, new_by_post, targets)
        run.status = "done"
        run.finished_at = utcnow()
        run.lexicon_version = label
        run.posts_checked = len(posts)
        run.links_checked = len(links)
        run.findings_count = len(found)
        run.new_findings = sum(len(v) for v in new_by_post.values())
        run.alerts = alerts
        audit.record(s, "check.rescan", object_type="scan_run", object_id=run_id,
                     summary=f"巡检完成：检查 {len(posts)} 篇已发布稿件、{len(links)} 个链接，"
                             f"新发现 {run.new_findings} 个问题，告警 {alerts} 条",
                     details={"run": run_id, "day": run.day, "trigger": run.trigger, "posts": len(posts),
                              "links": len(links), "findings": len(found), "new_findings": run.new_findings,
                              "alerts": alerts, "lexicon_version": label})
    return "done"


def _unit_domains(s: Any, overlay: Any, unit_id: int) -> tuple[str, ...]:
    if overlay is None:
        return ()
    from hub.checks.service import unit_scopes

    scopes = set(unit_scopes(s, unit_id))
    return tuple(a.wrong for a in overlay.additions if a.category == "domain" and a.scope in scopes)


def _raise_alerts(s: Any, run_id: int, new_by_post: dict[int, list[dict[str, Any]]],
                  targets: dict[tuple[int, int], set[int]]) -> int:
    """One alert per post with new findings and per unit of the accounts that published it."""
    count = 0
    for post_id, fs in sorted(new_by_post.items()):
        post = s.get(Post, post_id)
        account_ids = sorted({a for (p, _r), accs in targets.items() if p == post_id for a in accs})
        accounts = s.scalars(select(Account).where(Account.id.in_(account_ids))).unique().all()
        by_unit: dict[int, Account] = {}
        for acc in accounts:
            by_unit.setdefault(acc.unit_id, acc)
        title = post.current_revision.title if post.current_revision else str(post_id)
        rules = "、".join(dict.fromkeys(f"「{f['text'][:20]}」" for f in fs[:5]))
        summary = f"巡检发现已发布稿件《{title}》有 {len(fs)} 个新问题：{rules}"
        for unit_id, acc in sorted(by_unit.items()):
            s.add(InspectionAlert(run_id=run_id, unit_id=unit_id, post_id=post_id, account_id=acc.id, findings=len(fs),
                             summary=summary[:1000]))
            count += 1
        audit.record(s, "post.rescan_alert", object_type="post", object_id=post_id, unit=post.unit,
                     summary=summary[:300], details={"run": run_id, "findings": len(fs),
                                                     "rules": sorted({f["rule"] for f in fs})[:50],
                                                     "units": sorted(by_unit)})
    return count


# -- links ------------------------------------------------------------------------------------
def outbound_links(content: str) -> list[tuple[str, int, int]]:
    """(url, start, end) of every http(s) link in ``content`` (attributes and bare URLs),
    offsets into the raw HTML."""
    from review.checks.rules import URL_RX
    from review.checks.text import build_view

    view = build_view(content, True)
    out: list[tuple[str, int, int]] = []
    for el in view.elements:
        for attr in ("href", "src", "poster"):
            if attr in el.attrs:
                value, s, e = el.attrs[attr]
                url = value.strip()
                if url.lower().startswith(("http://", "https://")):
                    out.append((url, s, e))
    for m in URL_RX.finditer(view.text):
        url = m.group(0).rstrip(".,;:!?)]'")
        if url.lower().startswith(("http://", "https://")):
            s, e = view.span(m.start(), m.start() + len(url))
            out.append((url, s, e))
    return out


def link_allowed(url: str, allowed: tuple[str, ...]) -> bool:
    from review.checks.rules import host_allowed

    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and host_allowed(parts.hostname or "", allowed)


def check_link(url: str, allowed: tuple[str, ...], timeout: float) -> tuple[str, str, str] | None:
    """None if ``url`` answers on an allowed domain; else (rule, severity, message).

    Redirects are followed by hand (at most ``MAX_REDIRECTS``), each hop checked against the
    allow-list before it is requested: a redirect off the allow-list is never fetched.
    """
    current = url
    with requests.Session() as http:
        http.headers["User-Agent"] = "zhengwu-hub-link-check/1.0"
        for _hop in range(MAX_REDIRECTS + 1):
            try:
                resp = http.head(current, allow_redirects=False, timeout=timeout)
                if resp.status_code in (403, 405, 501):  # some servers refuse HEAD: ask with GET
                    resp.close()
                    resp = http.get(current, allow_redirects=False, timeout=timeout, stream=True)
                resp.close()
            except requests.Timeout:
                return ("link.unreachable", "warn", f"链接访问超时（{timeout:g} 秒）：{url}，请核实链接是否仍然有效。")
            except requests.RequestException as exc:
                kind = type(exc).__name__
                return ("link.unreachable", "warn", f"链接无法访问（{kind}）：{url}，请核实链接是否仍然有效。")
            status = resp.status_code
            if 300 <= status < 400 and resp.headers.get("Location"):
                target = urljoin(current, resp.headers["Location"])
                if not link_allowed(target, allowed):
                    host = urlsplit(target).hostname or target[:100]
                    return ("link.redirect_external", "block",
                            f"链接 {url} 现跳转到允许名单以外的域名（{host}），可能已被劫持或域名已失效，请立即核实处理。")
                current = target
                continue
            if status >= 400:
                return ("link.broken", "warn", f"链接无法访问（HTTP {status}）：{url}，请修复或删除。")
            return None
    return ("link.unreachable", "warn", f"链接重定向次数过多：{url}，请核实。")
