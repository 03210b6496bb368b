"""Done when: published posts show read counts pulled from the simulators.

A post goes out on WeChat and Weibo through the real engine; the simulators (over HTTP) are given
figures; ``hub metrics pull`` (a real process) stores them; the post page and the account page show
them in Chinese with their date; a third account whose platform refuses the call fails alone."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests
from metrics_helpers import WeiboSim, beijing_today, login, publish, pull, wechat_msgid, weibo_account
from sqlalchemy import select

from hub.db import db

TITLE = "关于做好冬季供暖保障工作的通知"


@pytest.fixture
def weibo(app: Any, world: dict[str, Any]):
    sim = WeiboSim()
    yield sim, weibo_account(sim)
    sim.close()


def _shown(html: str, section: str) -> str:
    part = html.split(f'id="{section}"', 1)[1].split("</section>", 1)[0]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", part))


def test_a_pull_brings_the_figures_to_the_post_and_account_pages(app, world, weibo, factory, client, instance):
    from hub.models import AccountMetrics, AuditEntry, PublicationMetrics

    wb, weibo_id = weibo
    wechat_id = world["accounts"][0]
    # An account whose platform refuses every call (its AppID is unknown there): it must fail alone.
    bad = factory.account("cbeh", "陈巴尔虎旗服务号", world["sim"].base, appid="wx_unknown", secret="nope",
                          is_main=False, justification="服务号")
    pid, rows = publish(app, world, [wechat_id, weibo_id])
    assert {d.status for d in rows.values()} == {"published"}
    assert rows[wechat_id].stats_ref  # WeChat's msg_data_id, kept at submit: what its statistics are keyed by

    # Before any pull the post page says when figures come.
    login(client, "editor")
    page = client.get(f"/posts/{pid}").get_data(as_text=True)
    assert "尚无数据" in _shown(page, "read-figures")

    # WeChat's figures of a day exist from the next day on: move its clock one day ahead.
    wx = world["sim"].base
    requests.post(wx + "/_sim/clock", json={"advance": 86400}, timeout=5).raise_for_status()
    msgid = wechat_msgid(wx, "wx_main", TITLE)
    assert msgid.split("_")[0] == rows[wechat_id].stats_ref
    requests.post(wx + "/_sim/metrics", json={"appid": "wx_main", "msgid": msgid, "read_user": 1234,
                                              "share_user": 56, "comment_count": 7, "like_user": 89},
                  timeout=5).raise_for_status()
    requests.post(wx + "/_sim/metrics", json={"appid": "wx_main", "followers": 5678}, timeout=5).raise_for_status()
    requests.post(wb.base + "/_sim/metrics", json={"id": rows[weibo_id].platform_ref, "reposts": 12,
                                                   "comments": 3, "attitudes": 45}, timeout=5).raise_for_status()

    today = beijing_today()
    done = pull(instance, "--day", today)
    assert done.returncode == 0, done.stderr
    assert "1 个失败" in done.stdout and "陈巴尔虎旗服务号" in done.stdout

    page = client.get(f"/posts/{pid}").get_data(as_text=True)
    shown = _shown(page, "read-figures")
    assert "陈巴尔虎旗发布 阅读 1234 转发 56 评论 7 点赞 89" in shown
    assert "陈巴尔虎旗发布微博 阅读 — 转发 12 评论 3 点赞 45" in shown
    assert f"数据截至 {today}" in shown and "微博开放接口不提供阅读数" in shown

    # The API gives them with the post's dispatches.
    got = {d["account_id"]: d["figures"] for d in world["api"]["editor"].get(f"/posts/{pid}").get_json()["dispatches"]}
    assert got[wechat_id] == {"day": today, "reads": 1234, "shares": 56, "comments": 7, "likes": 89}
    assert got[weibo_id] == {"day": today, "reads": None, "shares": 12, "comments": 3, "likes": 45}

    admin = app.test_client()
    login(admin, "admin")
    shown = _shown(admin.get(f"/accounts/{wechat_id}").get_data(as_text=True), "account-figures")
    assert "粉丝 5678" in shown and "阅读合计 1234" in shown and f"粉丝数截至 {today}" in shown
    shown = _shown(admin.get(f"/accounts/{bad.id}").get_data(as_text=True), "account-figures")
    assert f"最近一次拉取（{today}）失败" in shown and "AppID 无效" in shown

    with app.app_context():
        s = db.session()
        figures = {m.dispatch_id: m for m in s.scalars(select(PublicationMetrics))}
        assert figures[rows[wechat_id].id].reads == 1234 and figures[rows[weibo_id].id].reads is None
        followers = {m.account_id: m.followers for m in s.scalars(select(AccountMetrics))}
        assert followers[wechat_id] == 5678 and followers[weibo_id] > 0 and followers[bad.id] is None
        # The second WeChat account published nothing but its followers came back too.
        assert followers[world["accounts"][1]] > 0
        (entry,) = s.scalars(select(AuditEntry).where(AuditEntry.action == "metrics.pull")).all()
        assert entry.actor_username.startswith("cli:") and "3 个账号成功" in entry.summary
        s.rollback()
        db.session.remove()

    # A second pull of the same day replaces that day's figures (no duplicates); figures grow.
    requests.post(wx + "/_sim/metrics", json={"appid": "wx_main", "msgid": msgid, "read_user": 2000},
                  timeout=5).raise_for_status()
    assert pull(instance, "--day", today).returncode == 0
    assert "阅读 2000" in _shown(client.get(f"/posts/{pid}").get_data(as_text=True), "read-figures")

    # The annual report counts them beside the publications (the newest totals, the last followers).
    report = world["api"]["supervisor"].get(f"/reports/annual?year={today[:4]}&unit=hlbe").get_json()
    per = {a["id"]: a for a in report["accounts"]}
    assert per[wechat_id]["reads"] == 2000 and per[wechat_id]["followers"] == 5678
    assert per[weibo_id]["reads"] is None and per[weibo_id]["followers"] > 0
    assert report["totals"]["reads"] == 2000 and report["totals"]["followers"] >= 5678

    # The supervisor's 监测台 shows each account's followers.
    supervisor = app.test_client()
    login(supervisor, "supervisor")
    html = supervisor.get("/monitor?sort=followers&dir=desc").get_data(as_text=True)
    row = html.split(f'data-account="{wechat_id}"', 1)[1].split("</tr>", 1)[0]
    assert '<td class="followers">5678</td>' in row


def test_bad_days_are_refused_before_anything_is_asked(instance, app):
    r = pull(instance, "--day", "2026-13-01")
    assert r.returncode == 2 and "YYYY-MM-DD" in r.stderr + r.stdout
    r = pull(instance, "--day", "2999-01-01")
    assert r.returncode == 2 and "不能晚于今天" in r.stderr + r.stdout
