"""The silence monitor (issue 15): ``hub monitor run --as-of`` and ``GET /monitor`` give no alert at
6 days, warn at 7 and 13, veto at 14; publishing closes the alert on the next run. Publications are
made through the real dispatch path; dates vary only by ``--as-of``."""

from __future__ import annotations

from oversight_helpers import hub_cli, plus, publish, today
from sqlalchemy import select

from hub.db import db


def _alerts(app):
    from hub.models import MonitorAlert

    s = db.session()
    rows = [(a.account_id, a.level, a.days, a.since.isoformat(), a.closed_at is not None)
            for a in s.scalars(select(MonitorAlert).order_by(MonitorAlert.id)).unique()]
    s.rollback()
    return rows


def _audit(app, action):
    from hub.models import AuditEntry

    s = db.session()
    rows = [(e.object_id, e.unit_code, e.summary) for e in s.scalars(
        select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq))]
    s.rollback()
    return rows


def _monitor(api, as_of, unit="hlbe", who="supervisor"):
    r = api[who].get(f"/monitor?unit={unit}&as_of={as_of}")
    assert r.status_code == 200, r.get_json()
    return {a["id"]: a for a in r.get_json()["accounts"]}


def test_silence_levels_by_days_and_publishing_closes_the_veto(app, world, instance):
    api, (a1, a2) = world["api"], world["accounts"]
    publish(app, api, [a1])
    expected = {6: [], 7: ["warn"], 13: ["warn"], 14: ["veto"]}
    for days, levels in expected.items():
        got = _monitor(api, plus(days))[a1]
        assert got["days_silent"] == days
        assert [al["level"] for al in got["alerts"]] == levels, (days, got)
        assert all(al["kind"] == "silence" for al in got["alerts"])
        p = hub_cli(instance, "monitor", "run", "--as-of", plus(days))
        assert p.returncode == 0, p.stderr
        open_for_a1 = [row for row in _alerts(app) if row[0] == a1 and not row[4]]
        assert [row[1] for row in open_for_a1] == levels, (days, _alerts(app))
    veto = _monitor(api, plus(14))[a1]
    assert veto["alerts"] == [{"kind": "silence", "level": "veto", "since": plus(14)}]
    assert veto["posts_7d"] == 0 and veto["posts_30d"] == 1 and veto["last_published_at"]
    assert _monitor(api, plus(0))[a1]["posts_7d"] == 1
    # one alert per account, its level raised in place; every step audited
    assert len([r for r in _alerts(app) if r[0] == a1]) == 1
    summaries = [r[2] for r in _audit(app, "monitor.alert")]
    assert any("14 天未更新" in s and "单项否决" in s for s in summaries), summaries
    # the account publishes again: the next run (today) closes its alert
    publish(app, api, [a1], title="关于冬季防火的补充通知")
    p = hub_cli(instance, "monitor", "run")
    assert p.returncode == 0, p.stderr
    assert "关闭" in p.stdout
    assert [r[4] for r in _alerts(app) if r[0] == a1] == [True]
    assert _monitor(api, plus(0))[a1]["alerts"] == []
    assert len(_audit(app, "monitor.alert_close")) >= 1
    # the second account never published: it counts from its activation, and shows up too
    assert _monitor(api, plus(14))[a2]["alerts"][0]["level"] == "veto"
    assert _monitor(api, plus(14))[a2]["last_published_at"] is None


def test_data_after_as_of_is_not_considered(app, world):
    api, (a1, _a2) = world["api"], world["accounts"]
    publish(app, api, [a1])
    before = _monitor(api, plus(-1))[a1]
    assert before["last_published_at"] is None and before["posts_30d"] == 0


def test_who_may_watch(app, world):
    api = world["api"]
    assert api["supervisor"].get(f"/monitor?unit=hlbe&as_of={today()}").status_code == 200
    assert api["admin"].get("/monitor?unit=cbeh").status_code == 200
    for who, unit in (("editor", "cbeh"), ("r1", "cbeh"), ("admin", "hlbe"), ("outsider", "cbeh")):
        r = api[who].get(f"/monitor?unit={unit}")
        assert r.status_code == 403, (who, unit, r.get_json())
    assert api["supervisor"].get("/monitor").status_code == 400
    r = api["supervisor"].get("/monitor?unit=hlbe&as_of=2026-13-01")
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "bad_date"
    assert api["supervisor"].get("/monitor?unit=nope").status_code == 404


def test_bad_as_of_on_the_cli_is_refused(app, world, instance):
    p = hub_cli(instance, "monitor", "run", "--as-of", "yesterday")
    assert p.returncode == 2 and "YYYY-MM-DD" in p.stderr
    assert _alerts(app) == []


def test_the_daily_job_runs_once_a_day(app, world):
    from hub.oversight.jobs import schedule_daily

    assert schedule_daily(app) is not None
    assert schedule_daily(app) is None
