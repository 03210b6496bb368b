"""Seed a province for the benchmarks (issue 19), with the hub's invariants intact.

Usage (on the instance of HUB_DATABASE_URL / HUB_INSTANCE_DIR, after ``hub init``):

    .venv/bin/python bench/seed.py --posts 100000 --audit 1000000 --accounts 1000 --units 200
                                   [--password demo-pass-2026] [--seed 1]

What it makes, and how:

* units (one region, leagues, banners), people and accounts through the hub's own code paths
  (``create_unit``, users with their role grants, ``create_account`` + ``set_credentials`` + the
  filing chain approved level by level by the supervisors, each step audited);
* posts in bulk SQL that produces the rows the services produce: a revision whose hash is
  ``hub.content.revision_hash`` over its fields and the renderings of its target accounts (rendered by
  the adapters, as at save) and its search row (hub/posts/search.py), the review chain of the unit snapshotted at submit, one approval per step
  bound to that hash with the five confirmations, and for published posts one published dispatch per
  target account; drafts, posts in review at each step, approved-and-scheduled, rejected and
  withdrawn posts in realistic shares, spread over three years;
* audit entries for every one of those steps (create, submit, approve per step, approved, dispatch
  published, withdraw …), then sign-ins and credential checks until the trail holds ``--audit``
  entries; chained with the hub's own entry format (``hub.audit.chain``), inserted in order, the head
  row moved and every head written to the witness file with a signed checkpoint at the end, so
  ``hub audit verify`` passes afterwards.

The demo logins (editor, reviewer1, reviewer2, reviewer3, admin in the first banner; supervisor in
its league; region at the top) exist afterwards, in units that hold data. Prints what it made.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_PASSWORD = "demo-pass-2026"
LEAGUES = ["呼和浩特", "包头", "呼伦贝尔", "兴安", "通辽", "赤峰", "锡林郭勒", "乌兰察布", "鄂尔多斯", "巴彦淖尔",
           "乌海", "阿拉善"]
LEAGUE_KIND = {"兴安": "盟", "锡林郭勒": "盟", "阿拉善": "盟"}
TOPICS = ["草原生态保护", "政务服务", "乡村振兴", "营商环境", "民生实事", "防火安全", "医疗保障", "义务教育",
          "就业创业", "农牧业补贴", "交通出行", "文化旅游", "安全生产", "城市更新", "养老服务", "生态移民"]
PARAGRAPHS = [
    "为深入贯彻落实自治区党委、政府决策部署，进一步提升{topic}工作水平，现将有关事项通知如下。",
    "各苏木乡镇、各有关部门要高度重视，明确责任分工，细化工作措施，确保各项任务按期完成。",
    "{unit}将持续跟踪{topic}工作进展，及时总结推广经验做法，切实解决群众急难愁盼问题。",
    "广大群众如有意见建议，可通过政务服务热线12345反映，我们将认真研究、及时答复。",
    "本次工作自发布之日起实施，执行中遇到的问题请及时向主管部门反馈。",
]
DEMO_CYCLE = ("in_review", "published", "draft", "in_review", "approved", "published", "rejected")
CONFIRMATIONS = {"political": True, "legal": True, "policy": True, "secrecy": True, "wording": True}
USER_AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120 Safari/537.36"


def _args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--posts", type=int, default=1000)
    ap.add_argument("--audit", type=int, default=10000, help="entries the trail holds at the end (at least)")
    ap.add_argument("--accounts", type=int, default=50)
    ap.add_argument("--units", type=int, default=20)
    ap.add_argument("--password", default=DEFAULT_PASSWORD)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--years", type=float, default=3.0, help="posts are spread over this many years")
    a = ap.parse_args(argv)
    if a.units < 3:
        ap.error("--units must be at least 3 (a region, a league and a banner)")
    if a.accounts < 1 or a.posts < 0 or a.audit < 0:
        ap.error("--accounts must be at least 1; --posts and --audit not negative")
    return a


class Seeder:
    def __init__(self, app: Any, a: argparse.Namespace) -> None:
        self.app, self.a = app, a
        self.rng = random.Random(a.seed)
        self.now = datetime.utcnow().replace(microsecond=0)
        self.t0 = time.perf_counter()
        self.made: dict[str, int] = {}

    def log(self, what: str) -> None:
        print(f"[{time.perf_counter() - self.t0:7.1f} s] {what}", flush=True)

    # -- units, people, accounts: the hub's own code paths ---------------------------------------
    def org(self) -> None:
        from sqlalchemy import select

        from hub import audit
        from hub.db import db
        from hub.models import RoleGrant, Unit, User
        from hub.org.service import create_unit, create_user
        from hub.security import hash_password

        a = self.a
        n_leagues = max(1, min(len(LEAGUES) * 4, (a.units - 1) // 16 or 1))
        n_banners = a.units - 1 - n_leagues
        shared_hash = hash_password(a.password)
        token = audit.current_actor.set(audit.Actor.system("bench-seed"))
        try:
            with db.transaction() as s:
                existing = {u.code for u in s.scalars(select(Unit))}
                if "nmg" not in existing:
                    create_unit(s, "nmg", "内蒙古自治区人民政府办公厅", None, "region")
                leagues: list[str] = []
                for i in range(n_leagues):
                    base = LEAGUES[i % len(LEAGUES)]
                    suffix = "" if i < len(LEAGUES) else str(i // len(LEAGUES) + 1)
                    code = f"sl{i:03d}"
                    leagues.append(code)
                    if code not in existing:
                        name = f"{base}{suffix}{LEAGUE_KIND.get(base, '市')}人民政府办公室"
                        create_unit(s, code, name, "nmg", "league")
                banners: list[str] = []
                for i in range(n_banners):
                    code = f"sb{i:04d}"
                    banners.append(code)
                    if code not in existing:
                        create_unit(s, code, f"第{i + 1}旗人民政府办公室", leagues[i % n_leagues], "banner")
            self.log(f"units: 1 region, {n_leagues} leagues, {n_banners} banners")
            self.leagues, self.banners = leagues, banners
            demo = [("editor", "王编辑", banners[0], ["editor"]), ("reviewer1", "张初审", banners[0], ["reviewer"]),
                    ("reviewer2", "赵复审", banners[0], ["reviewer"]), ("reviewer3", "刘终审", banners[0], ["reviewer"]),
                    ("admin", "陈管理员", banners[0], ["admin"]),
                    ("supervisor", "孙主管", leagues[0], ["supervisor"]), ("region", "周自治区主管", "nmg", ["supervisor"])]
            with db.transaction() as s:
                taken = set(s.scalars(select(User.username)))
                for username, name, unit, roles in demo:
                    if username not in taken:
                        create_user(s, username, unit, roles, a.password, name)
                units = {u.code: u for u in s.scalars(select(Unit))}
                people: list[tuple[str, str, str, list[str]]] = []
                for code in banners:
                    people += [(f"ed_{code}", "编辑", code, ["editor"]), (f"rv1_{code}", "初审", code, ["reviewer"]),
                               (f"rv2_{code}", "复审", code, ["reviewer"]), (f"rv3_{code}", "终审", code, ["reviewer"]),
                               (f"ad_{code}", "管理员", code, ["admin"])]
                for code in leagues:
                    people.append((f"sv_{code}", "主管", code, ["supervisor"]))
                made = 0
                for username, role_name, code, roles in people:
                    if username in taken:
                        continue
                    unit = units[code]
                    # create_user's rows and entry, with one password hash for all (argon2 is slow on purpose).
                    u = User(username=username, name=f"{unit.name[:10]}{role_name}", password_hash=shared_hash,
                             unit_id=unit.id)
                    u.roles = [RoleGrant(role=r, unit_id=unit.id) for r in roles]
                    s.add(u)
                    s.flush()
                    audit.record(s, "user.create", object_type="user", object_id=u.id, unit=unit,
                                 summary=f"创建用户 {u.username}，角色：{', '.join(roles)}",
                                 details={"username": username, "roles": roles})
                    made += 1
            self.log(f"people: {made + len(demo)} users")
        finally:
            audit.current_actor.reset(token)

    def accounts(self) -> None:
        from sqlalchemy import func, select

        from hub import audit
        from hub.accounts.filing import approve_through_chain
        from hub.accounts.service import create_account, set_credentials
        from hub.db import db
        from hub.models import Account, Unit

        plan: list[tuple[str, str, bool, str]] = []  # (unit code, platform, is_main, name suffix)
        kinds = [("wechat", True, "发布"), ("weibo", True, "发布（微博）"), ("website", True, "政府网站"),
                 ("wechat", False, "政务服务"), ("wechat", False, "融媒体")]
        units = ([self.banners[0]] + self.banners[1:] + self.leagues) if self.banners else self.leagues
        i = 0
        while len(plan) < self.a.accounts:
            code = units[(i // len(kinds)) % len(units)]
            platform, main, suffix = kinds[i % len(kinds)]
            round_ = i // (len(kinds) * len(units))
            plan.append((code, platform, main and round_ == 0, suffix + (f"{round_ + 1}" if round_ else "")))
            i += 1
        token = audit.current_actor.set(audit.Actor.system("bench-seed"))
        made = 0
        try:
            s0 = db.session()
            if True:
                have = s0.scalar(select(func.count()).select_from(Account)) or 0
            for chunk in _chunks(plan[have:], 50):
                with db.transaction() as s:
                    by_code = {u.code: u for u in s.scalars(select(Unit).where(Unit.code.in_({c for c, *_ in chunk})))}
                    for code, platform, main, suffix in chunk:
                        unit = by_code[code]
                        core = unit.name.replace("人民政府办公室", "").replace("人民政府办公厅", "")
                        n = made + have
                        acc = create_account(s, None, {
                            "platform": platform, "name": f"{core}{suffix}", "unit": code,
                            "api_base": {"wechat": "http://127.0.0.1:9", "weibo": "http://127.0.0.1:9",
                                         "website": "http://127.0.0.1:9"}[platform],
                            "is_main": main, "justification": "" if main else "专项业务需单独发布（压测数据）",
                            "responsible_person": "压测管理员", "responsible_phone": "0471-6212345",
                            "certification_name": unit.name, "launch_date": "2024-01-01"})
                        set_credentials(s, None, acc, _credentials(platform, n))
                        approve_through_chain(s, acc)
                        made += 1
                self.log(f"accounts: {have + made} (filed and approved through the chain)")
        finally:
            audit.current_actor.reset(token)
        self.made["accounts"] = have + made

    # -- posts in bulk --------------------------------------------------------------------------
    def posts(self) -> list[tuple[Any, ...]]:
        """Insert the posts; returns the audit events they imply, as (at, actor, action, type, id, unit, summary, details)."""
        from sqlalchemy import func, insert, select

        from hub.approval.chains import resolve
        from hub.content import revision_hash
        from hub.db import db
        from hub.models import Account, Approval, Dispatch, Post, Revision, RoleGrant, Unit, User
        from hub.posts.rendering import render
        from hub.posts.search import index_rows

        a, rng = self.a, self.rng
        events: list[tuple[Any, ...]] = []
        s = db.session()
        if True:
            accounts = [acc for acc in s.scalars(select(Account).where(Account.status == "active")
                                                 .order_by(Account.id)).unique()]
            by_unit: dict[int, list[Any]] = {}
            for acc in accounts:
                by_unit.setdefault(acc.unit_id, []).append(acc)
            staff: dict[tuple[int, str], list[Any]] = {}
            for g in s.scalars(select(RoleGrant).where(RoleGrant.unit_id.in_(sorted(by_unit)))):
                staff.setdefault((g.unit_id, g.role), []).append(g.user_id)
            # Posts go to units with editors and reviewers (banners; a league's accounts stay quiet).
            unit_ids = sorted(u for u in by_unit if staff.get((u, "editor")) and staff.get((u, "reviewer")))
            if not unit_ids:
                raise SystemExit("no unit with accounts, editors and reviewers to post in")
            units = {u.id: u for u in s.scalars(select(Unit).where(Unit.id.in_(unit_ids)))}
            users = {u.id: u for u in s.scalars(select(User).where(User.unit_id.in_(unit_ids))).unique()}
            chains = {uid: resolve(s, units[uid], "").chain.to_json() for uid in unit_ids}
            ids = {t: (s.scalar(select(func.max(m.id))) or 0)
                   for t, m in (("post", Post), ("rev", Revision), ("appr", Approval), ("disp", Dispatch))}
            # Renderings per (content template, account): what save would store.
            n_templates = 40
            templates: list[dict[str, Any]] = []
            for t in range(n_templates):
                topic = TOPICS[t % len(TOPICS)]
                templates.append({"topic": topic, "n": t})
            render_cache: dict[tuple[int, int], dict[str, Any]] = {}

            def fields_for(t: int, unit: Any, acc_ids: list[int], i: int) -> dict[str, Any]:
                topic = TOPICS[t % len(TOPICS)]
                title = f"{unit.name[:-7] or unit.name}关于做好{topic}工作的通知（第{t + 1}号）"
                body = "".join(f"<p>{p.format(topic=topic, unit=unit.name)}</p>" for p in PARAGRAPHS)
                return {"title": title[:60], "content": body, "summary": f"关于{topic}工作的通知", "author": "",
                        "category": "", "is_original": True, "source_url": "", "cover_sha256": "",
                        "variants": {}, "account_ids": acc_ids, "articles": None}

            def renderings(t: int, f: dict[str, Any], accs: list[Any]) -> dict[str, Any]:
                out = {}
                for acc in accs:
                    key = (t, acc.id)
                    if key not in render_cache:
                        cover = acc.default_cover if getattr(acc, "default_cover", None) else None
                        render_cache[key] = render(f, acc, cover).to_json()
                    out[str(acc.id)] = render_cache[key]
                return out

            span = timedelta(days=365 * a.years)
            rows: dict[str, list[dict[str, Any]]] = {"post": [], "rev": [], "appr": [], "disp": []}
            made = {"published": 0, "in_review": 0, "draft": 0, "approved": 0, "rejected": 0, "withdrawn": 0}

            def flush() -> None:
                with db.transaction() as w:
                    # posts first without their current revision (the FK is circular), then revisions.
                    if rows["post"]:
                        w.execute(insert(Post.__table__), rows["post"])
                        w.execute(insert(Revision.__table__), rows["rev"])
                        index_rows(w, [(r["post_id"], r["title"], r["content"], r["articles"]) for r in rows["rev"]])
                        w.execute(Post.__table__.update().where(Post.__table__.c.id == _bind("pid"))
                                  .values(current_revision_id=_bind("rid")),
                                  [{"pid": r["id"], "rid": r["_rev"]} for r in rows["post_cur"]])
                    if rows["appr"]:
                        w.execute(insert(Approval.__table__), rows["appr"])
                    if rows["disp"]:
                        w.execute(insert(Dispatch.__table__), rows["disp"])
                for k in rows:
                    rows[k] = []

            rows["post_cur"] = []
            demo_n = 0
            for i in range(a.posts):
                uid = unit_ids[i % len(unit_ids)] if i % 4 else unit_ids[0] if i % 8 == 0 else \
                    unit_ids[rng.randrange(len(unit_ids))]
                unit = units[uid]
                accs = by_unit[uid]
                targets = sorted(rng.sample(accs, k=min(len(accs), 1 + (i % 3 == 0))), key=lambda x: x.id)
                editors = staff.get((uid, "editor")) or [u for u in users if users[u].unit_id == uid][:1]
                creator = users[editors[i % len(editors)]]
                # newest posts last: i grows with time; a few recent ones in every state
                # The newest 2 % (at least 50) fall in the last 14 days: the queues and schedules of today.
                n_recent = min(a.posts, max(50, a.posts // 50))
                if i >= a.posts - n_recent:
                    k = i - (a.posts - n_recent) + 1
                    created = self.now - timedelta(days=14) * (1 - k / (n_recent + 1))
                else:
                    frac = (i + 1) / max(1, a.posts - n_recent)
                    created = self.now - timedelta(days=14) - span * (1 - frac)
                created -= timedelta(minutes=rng.randrange(60, 600))
                roll = rng.random()
                recent = (self.now - created) < timedelta(days=14)
                if recent and uid == unit_ids[0]:
                    # The demo logins' unit holds recent posts in every state (their queues and pages).
                    status = DEMO_CYCLE[demo_n % len(DEMO_CYCLE)]
                    demo_n += 1
                elif recent and roll < 0.25:
                    status = "in_review"
                elif recent and roll < 0.35:
                    status = "draft"
                elif recent and roll < 0.40:
                    status = "approved"
                elif roll < 0.02:
                    status = "rejected"
                elif roll < 0.03:
                    status = "withdrawn"
                elif roll < 0.05:
                    status = "draft"
                else:
                    status = "published"
                made[status] += 1
                t = i % n_templates
                f = fields_for(t, unit, [x.id for x in targets], i)
                f["renderings"] = renderings(t, f, targets)
                f.pop("articles")
                h = revision_hash(f)
                ids["post"] += 1
                ids["rev"] += 1
                pid, rid = ids["post"], ids["rev"]
                chain = chains[uid]
                n_steps = len(chain)
                step = 0
                if status == "in_review":
                    step = (demo_n // len(DEMO_CYCLE)) % n_steps if uid == unit_ids[0] else rng.randrange(n_steps)
                submitted = created + timedelta(minutes=20) if status != "draft" else None
                publish_at = None
                if status == "approved":
                    publish_at = self.now + timedelta(days=rng.randrange(1, 20), hours=rng.randrange(8, 18))
                rows["post"].append({"id": pid, "unit_id": uid, "creator_id": creator.id, "status": status,
                                     "current_revision_id": None, "step": step,
                                     "chain": chain if status != "draft" else None, "publish_at": publish_at,
                                     "submitted_at": submitted, "created_at": created,
                                     "updated_at": created + timedelta(hours=2)})
                rows["post_cur"].append({"id": pid, "_rev": rid})
                rows["rev"].append({"id": rid, "post_id": pid, "number": 1, "hash": h, "title": f["title"],
                                    "content": f["content"], "summary": f["summary"], "author": "", "category": "",
                                    "is_original": True, "source_url": "", "cover_id": None, "cover_sha256": "",
                                    "variants": {}, "renderings": f["renderings"], "articles": None,
                                    "account_ids": f["account_ids"], "created_by_id": creator.id,
                                    "created_at": created})
                events.append((created, creator, "post.create", "post", pid, unit,
                               f"创建稿件《{f['title']}》", {"revision": 1, "hash": h}))
                if status == "draft":
                    continue
                events.append((submitted, creator, "post.submit", "post", pid, unit,
                               f"提交审核《{f['title']}》第 1 版",
                               {"revision": 1, "hash": h, "chain": [c["name"] for c in chain],
                                "chain_source": "default", "findings": 0}))
                steps_done = step if status == "in_review" else n_steps
                if status == "rejected":
                    steps_done = 0
                at = submitted
                reviewers = staff.get((uid, "reviewer")) or []
                for k in range(steps_done):
                    rv = users[reviewers[k % len(reviewers)]]
                    at = at + timedelta(minutes=15 + rng.randrange(90))
                    ids["appr"] += 1
                    rows["appr"].append({"id": ids["appr"], "post_id": pid, "revision_id": rid, "revision_hash": h,
                                         "step": k, "step_name": chain[k]["name"], "reviewer_id": rv.id,
                                         "decision": "approved", "checks": CONFIRMATIONS, "comment": "同意",
                                         "voided": False, "at": at})
                    events.append((at, rv, "post.approve", "post", pid, unit,
                                   f"{chain[k]['name']}通过《{f['title']}》第 1 版",
                                   {"revision": 1, "hash": h, "step": k}))
                if status == "rejected" and reviewers:
                    rv = users[reviewers[0]]
                    at = at + timedelta(minutes=30)
                    ids["appr"] += 1
                    rows["appr"].append({"id": ids["appr"], "post_id": pid, "revision_id": rid, "revision_hash": h,
                                         "step": 0, "step_name": chain[0]["name"], "reviewer_id": rv.id,
                                         "decision": "rejected", "checks": {}, "comment": "请核实数据后重新提交",
                                         "voided": False, "at": at})
                    events.append((at, rv, "post.reject", "post", pid, unit, f"退回《{f['title']}》",
                                   {"revision": 1, "hash": h, "step": 0}))
                if status in ("published", "withdrawn", "approved"):
                    events.append((at, None, "post.approved", "post", pid, unit, f"《{f['title']}》审核通过",
                                   {"revision": 1, "hash": h}))
                if status in ("published", "withdrawn"):
                    pub = at + timedelta(minutes=2)
                    for acc in targets:
                        ids["disp"] += 1
                        did = ids["disp"]
                        ref = f"seed-{did}"
                        st = "published" if status == "published" else "withdrawn"
                        rows["disp"].append({"id": did, "post_id": pid, "revision_id": rid, "account_id": acc.id,
                                             "status": st, "platform_ref": ref, "article_id": ref, "draft_ref": None,
                                             "url": f"https://example.gov.cn/{acc.platform}/{did}", "attempts": 1,
                                             "error": None, "not_before": None, "created_at": at, "updated_at": pub,
                                             "published_at": pub, "stage": "published", "claim": None,
                                             "lease_until": None, "check_at": None, "unconfirmed_since": None,
                                             "alerted_at": None, "absent_at": None})
                        events.append((pub, None, "dispatch.published", "dispatch", did, unit,
                                       f"已发布到「{acc.name}」", {"post": pid, "account": acc.id}))
                    if status == "withdrawn":
                        events.append((pub + timedelta(days=1), creator, "post.withdraw", "post", pid, unit,
                                       f"撤回《{f['title']}》", {"reason": "内容已过时"}))
                if len(rows["post"]) >= 2000:
                    flush()
                    self.log(f"posts: {i + 1}")
            flush()
            self._fix_sequences()
        self.made.update({f"posts {k}": v for k, v in made.items()})
        self.log(f"posts: {a.posts} ({', '.join(f'{k} {v}' for k, v in made.items())})")
        return events

    def _fix_sequences(self) -> None:
        from sqlalchemy import text

        from hub.db import db

        with db.transaction() as s:
            if s.get_bind().dialect.name == "postgresql":
                for t in ("posts", "revisions", "approvals", "dispatches"):
                    s.execute(text(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), "
                                   f"COALESCE((SELECT max(id) FROM {t}), 1))"))

    # -- the audit trail ------------------------------------------------------------------------
    def audit(self, events: list[tuple[Any, ...]]) -> None:
        from sqlalchemy import func, insert, select

        from hub.audit import chain as ch
        from hub.audit import witness as witness_mod
        from hub.audit.recording import scrub
        from hub.audit.verification import checkpoint_now
        from hub.db import db
        from hub.models import AuditEntry, AuditHead, User

        a, rng = self.a, self.rng
        s = db.session()
        if True:
            have = s.scalar(select(func.count()).select_from(AuditEntry)) or 0
            head = s.get(AuditHead, 1)
            seq, prev = (int(head.seq), head.hash) if head is not None else (0, ch.GENESIS)
            people = list(s.scalars(select(User).limit(2000)).unique())
            unit_codes = {u.id: u.unit.code for u in people}
        pad = max(0, a.audit - have - len(events))
        self.log(f"audit: {have} entries so far, {len(events)} for the posts, {pad} sign-ins and checks to add")
        span = timedelta(days=365 * a.years)
        for j in range(pad):
            at = self.now - span * (1 - (j + 1) / (pad + 1)) - timedelta(seconds=rng.randrange(3600))
            u = people[j % len(people)]
            if j % 5:
                events.append((at, u, "auth.login", "user", u.id, unit_codes[u.id], f"{u.username} 登录", {}))
            else:
                events.append((at, u, "post.view_audit", "user", u.id, unit_codes[u.id], "查看审计日志", {}))
        events.sort(key=lambda e: e[0])
        witness = witness_mod.for_bind(db.engine) or witness_mod.from_config(self.app.config)
        heads: list[tuple[int, str]] = []
        batch: list[dict[str, Any]] = []
        t_chain = time.perf_counter()

        def flush() -> None:
            if not batch:
                return
            with db.transaction() as w:
                w.execute(insert(AuditEntry.__table__), batch)
                w.execute(AuditHead.__table__.update().where(AuditHead.__table__.c.id == 1)
                          .values(seq=batch[-1]["seq"], hash=batch[-1]["hash"]))
            witness.append_heads(heads)
            batch.clear()
            heads.clear()

        with db.transaction() as w:
            if w.get(AuditHead, 1) is None:
                w.add(AuditHead(id=1, seq=0, hash=ch.GENESIS))
        for at, who, action, otype, oid, unit, summary, details in events:
            seq += 1
            at = at.replace(microsecond=rng.randrange(1_000_000)) if at.microsecond == 0 else at
            if who is None:
                aid, uname, name, ucode = None, "system:dispatch", "发布引擎", ""
            else:
                aid, uname, name, ucode = who.id, who.username, who.name or who.username, unit_codes.get(who.id, "")
            unit_code = unit if isinstance(unit, str) else unit.code
            ip = "" if who is None else f"10.{(aid or 0) % 250}.{seq % 250}.{seq % 200 + 1}"
            ua = "" if who is None else USER_AGENT
            det = ch.canonical(scrub(details)).decode("utf-8")
            body = ch.body_bytes(seq, at, aid, uname, name, ucode, ip, ua, action, otype, str(oid), unit_code,
                                 summary, det)
            h = ch.hash_bytes(prev, body)
            batch.append({"seq": seq, "at": at, "actor_id": aid, "actor_username": uname, "actor_name": name,
                          "actor_unit": ucode, "ip": ip, "user_agent": ua, "action": action, "object_type": otype,
                          "object_id": str(oid), "unit_code": unit_code, "summary": summary, "details": det,
                          "prev_hash": prev, "hash": h, "nonce": None})
            heads.append((seq, h))
            prev = h
            if len(batch) >= 10000:
                flush()
                if seq % 100000 < 10000:
                    self.log(f"audit: {seq} entries")
        flush()
        checkpoint_now(db.session(), witness, "manual")
        self.made["audit entries"] = seq
        self.log(f"audit: {seq} entries chained ({time.perf_counter() - t_chain:.1f} s), witness and checkpoint written")


def _bind(name: str) -> Any:
    from sqlalchemy import bindparam

    return bindparam(name)


def _chunks(items: list[Any], n: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), n):
        yield items[i:i + n]


def _credentials(platform: str, n: int) -> dict[str, str]:
    if platform == "wechat":
        return {"app_id": f"wxseed{n:06d}", "app_secret": f"seed-secret-{n:06d}-wechat"}
    if platform == "weibo":
        return {"app_key": f"wbseed{n:06d}", "app_secret": f"seed-secret-{n:06d}-weibo",
                "access_token": f"seed-token-{n:06d}", "safe_url": "https://www.example.gov.cn/"}
    return {"site_id": f"site-{n:06d}", "api_token": f"seed-push-key-{n:06d}"}


def main(argv: list[str] | None = None) -> int:
    a = _args(argv)
    from hub import create_app

    app = create_app({"RATELIMIT_STORAGE_URI": "memory://"})
    with app.app_context():
        from sqlalchemy import inspect

        from hub.db import db

        if not inspect(db.engine).has_table("posts"):
            print("数据库尚未初始化：请先运行 hub init", file=sys.stderr)
            return 2
        sd = Seeder(app, a)
        sd.org()
        sd.accounts()
        events = sd.posts()
        sd.audit(events)
        print("made: " + ", ".join(f"{k} {v}" for k, v in sd.made.items()))
        print(f"logins: editor, reviewer1, reviewer2, reviewer3, admin (unit {sd.banners[0]}), "
              f"supervisor (unit {sd.leagues[0]}), region; password {a.password!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
