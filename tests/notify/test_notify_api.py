"""The channel configuration API: admins only, secrets write-only (never echoed, never in the audit
trail or the database in the clear), clear 400s, key rotation rewraps the channel secrets too; the
caller's in-app list; every event type reaches the right people."""

from __future__ import annotations

from typing import Any

from click.testing import CliRunner
from sqlalchemy import select

from hub.cli import main
from hub.db import db
from hub.models import AuditEntry, Notification, NotifyChannel, NotifySecret, User

SECRET = "SEC-canary-" + "7f3a9c"
URL = "https://oapi.dingtalk.com/robot/send?access_token=canary-token-42"


def _put(api: Any, channels: list[dict[str, Any]], code: str = "cbeh") -> Any:
    return api.put(f"/units/{code}/notifications", json={"channels": channels})


def test_admin_configures_channels_and_secrets_never_come_back(world: dict[str, Any], app: Any) -> None:
    api = world["api"]
    r = _put(api["admin"], [{"kind": "dingtalk", "name": "值班群", "url": URL, "secret": SECRET},
                            {"kind": "wecom", "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=wk-canary",
                             "msgtype": "text"},
                            {"kind": "email", "to": ["office@cbeh.gov.cn"]}])
    assert r.status_code == 200, r.get_json()
    text = r.get_data(as_text=True)
    assert SECRET not in text and "canary-token-42" not in text and "wk-canary" not in text
    ding, wecom, mail = r.get_json()["channels"]
    assert ding["url"] == "https://oapi.dingtalk.com/robot/send" and ding["url_set"] and ding["secret_set"]
    assert wecom["msgtype"] == "text" and not wecom["secret_set"]
    assert mail["to"] == ["office@cbeh.gov.cn"] and not mail["url_set"]

    # A change without url/secret keeps them; a channel left out is removed.
    r = _put(api["admin"], [{"id": ding["id"], "kind": "dingtalk", "name": "新名字"}])
    assert r.status_code == 200
    (only,) = r.get_json()["channels"]
    assert only["name"] == "新名字" and only["url_set"] and only["secret_set"]
    got = api["admin"].get("/units/cbeh/notifications")
    assert got.status_code == 200 and SECRET not in got.get_data(as_text=True)

    with app.app_context():
        s = db.session()
        assert s.scalar(select(NotifyChannel.id).where(NotifyChannel.id == wecom["id"])) is None
        ch = s.get(NotifyChannel, ding["id"])
        from hub.notify.channels import secrets_of

        assert secrets_of(s, ch) == {"url": URL, "secret": SECRET}
        rows = s.scalars(select(NotifySecret)).all()
        assert rows and all(SECRET.encode() not in r.ciphertext for r in rows)
        entries = s.scalars(select(AuditEntry).where(AuditEntry.action == "notify.channels")).all()
        assert len(entries) == 2
        assert all(SECRET not in (e.details or "") + e.summary and "canary-token" not in (e.details or "")
                   for e in entries)
        before = {r.id: r.wrapped_key for r in rows}
        db.session.remove()

    # Key rotation rewraps the channel secrets with the credentials; they still open.
    assert CliRunner().invoke(main, ["vault", "rotate-key"]).exit_code == 0
    with app.app_context():
        s = db.session()
        rows = s.scalars(select(NotifySecret)).all()
        assert all(r.wrapped_key != before[r.id] and r.key_version == 2 for r in rows)
        assert secrets_of(s, s.get(NotifyChannel, ding["id"])) == {"url": URL, "secret": SECRET}
        db.session.remove()


def test_who_may_configure_and_what_bad_input_gets(world: dict[str, Any]) -> None:
    api = world["api"]
    assert api["editor"].get("/units/cbeh/notifications").status_code == 403
    assert api["r1"].put("/units/cbeh/notifications", json={"channels": []}).status_code == 403
    assert api["admin"].get("/units/other/notifications").status_code == 404
    assert api["admin"].get("/units/nope/notifications").status_code == 404
    cases = [
        ({"channels": [{"kind": "sms"}]}, "invalid_channels"),
        ({"channels": [{"kind": "wecom"}]}, "missing_url"),
        ({"channels": [{"kind": "wecom", "url": "ftp://x"}]}, "invalid_url"),
        ({"channels": [{"kind": "email", "to": ["not an address"]}]}, "invalid_email"),
        ({"channels": [{"id": 99999, "kind": "email"}]}, "unknown_channel"),
        ({"channels": [{"kind": "wecom_app", "corpid": "ww1"}]}, "missing_app"),
        ({"channels": [{"kind": "wecom_app", "corpid": "ww1", "agentid": 1}]}, "missing_secret"),
        ({"channels": [{"kind": "wecom", "url": "http://[::1"}]}, "invalid_url"),
        ({"channels": [{"kind": "email", "name": "a\u0001b"}]}, "invalid_text"),
        ({"chanels": []}, "invalid_channels"),
        ([], "invalid_body"),
    ]
    for body, code in cases:
        r = api["admin"].put("/units/cbeh/notifications", json=body)
        assert r.status_code == 400, (body, r.get_json())
        assert r.get_json()["error"]["code"] == code, (body, r.get_json())
    assert api["admin"].get("/notifications?limit=0").status_code == 400


def test_returned_published_and_admin_alerts_reach_the_right_people(world: dict[str, Any], app: Any) -> None:
    from support import ALL_CONFIRMATIONS

    api = world["api"]
    r = api["editor"].post("/posts", json={"title": "关于征集意见的公告", "content": "<p>欢迎提出意见。</p>",
                                           "account_ids": world["accounts"][:1]})
    post = r.get_json()
    assert api["editor"].post(f"/posts/{post['id']}/submit").status_code == 200
    r = api["r1"].post(f"/posts/{post['id']}/approve", json={"revision_hash": post["revision"]["hash"],
                                                              "checks": ALL_CONFIRMATIONS})
    assert r.status_code == 200
    # Step 2 waits for r2 and r3 now, not for r1 who took step 1.
    waiting = {u: api[u].get("/notifications?unread=1").get_json()["notifications"] for u in ("r1", "r2", "r3")}
    assert [n["kind"] for n in waiting["r2"]] == ["review_waiting", "review_waiting"]
    assert "复审" in waiting["r2"][0]["text"] and len(waiting["r1"]) == 1
    r = api["r2"].post(f"/posts/{post['id']}/reject", json={"reason": "请补充联系电话"})
    assert r.status_code == 200
    mine = api["editor"].get("/notifications").get_json()
    assert mine["unread"] == 1 and mine["notifications"][0]["kind"] == "post_returned"
    assert "请补充联系电话" not in str(mine)  # the reason is on the post page, not in the message
    nid = mine["notifications"][0]["id"]
    assert api["r1"].post(f"/notifications/{nid}/read").status_code == 404  # not theirs
    r = api["editor"].post(f"/notifications/{nid}/read")
    assert r.status_code == 200 and r.get_json()["read"] is True
    assert api["editor"].get("/notifications").get_json()["unread"] == 0

    # Admin alerts: silence (the monitor) and credentials due (the daily job) reach the unit's admin.
    from datetime import timedelta

    from hub.models import Credential, utcnow
    from hub.notify import jobs

    with app.app_context():
        with db.transaction() as s:
            for c in s.scalars(select(Credential)):
                c.changed_at = utcnow() - timedelta(days=400)
        jobs.credentials_due()
        jobs.credentials_due()  # once per credential version, however often it runs
        s = db.session()
        admin = s.scalars(select(User).where(User.username == "admin")).one()
        kinds = [n.kind for n in s.scalars(select(Notification).where(Notification.user_id == admin.id))]
        db.session.remove()
    assert kinds.count("credential_due") == 4  # two accounts, app_id and app_secret each

    # A 通报 opens a rectification: the unit's admins hear of it, and again when it is overdue.
    r = api["supervisor"].post("/notices", json={"unit": "cbeh", "text": "首页栏目长期未更新", "received_on": "2026-03-02"})
    assert r.status_code == 201, r.get_json()
    from datetime import date

    from hub.oversight import rectifications

    with app.app_context():
        with db.transaction() as s:
            assert rectifications.escalate_overdue(s, date(2026, 4, 1)) == 1
        db.session.remove()
    got = api["admin"].get("/notifications").get_json()["notifications"]
    assert [n["kind"] for n in got[:2]] == ["rectification_due", "rectification_open"]
    assert "2026-03-16" in got[1]["text"] and got[1]["link"].endswith("/oversight/rectifications")

    # The daily monitor finds both accounts silent three weeks on: one alert each for the admins.
    from hub.oversight import monitor

    with app.app_context():
        with db.transaction() as s:
            assert monitor.run(s, monitor.today() + timedelta(days=21))["raised"] == 2
        db.session.remove()
    got = api["admin"].get("/notifications").get_json()["notifications"]
    silent = [n for n in got if n["kind"] == "silence"]
    assert len(silent) == 2 and all("单项否决" in n["text"] for n in silent)
    assert api["editor"].get("/notifications?unread=1").get_json()["unread"] == 0
