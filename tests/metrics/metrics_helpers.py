"""Helpers for the read-count tests: a Weibo account on its simulator, a published post on WeChat and
Weibo, figures set on the simulators, and ``hub metrics pull`` run as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import requests
from support import run_burst_worker

from hub.db import db

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dispatch"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))
from dispatch_helpers import approve_post  # noqa: E402
from test_web_security import login  # noqa: E402,F401

SAFE_URL = "https://www.cbeh.gov.cn/"


def beijing_today() -> str:
    return datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()


class WeiboSim:
    def __init__(self) -> None:
        from adapters.simulators import weibo as weibo_sim

        self.server = weibo_sim.make_server("127.0.0.1", 0)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        r = requests.post(self.base + "/_sim/apps", json={"appid": "wbk", "secret": "wbs",
                                                          "safe_domain": "www.cbeh.gov.cn"}, timeout=5)
        self.token = r.json()["access_token"]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def weibo_account(sim: WeiboSim) -> int:
    from hub import audit
    from hub.accounts.filing import approve_through_chain
    from hub.accounts.service import create_account, set_credentials

    with db.transaction() as s:
        token = audit.current_actor.set(audit.Actor.system("test"))
        try:
            acc = create_account(s, None, {"platform": "weibo", "name": "陈巴尔虎旗发布微博", "unit": "cbeh",
                                           "api_base": sim.base})
            set_credentials(s, None, acc, {"app_key": "wbk", "app_secret": "wbs", "access_token": sim.token,
                                           "safe_url": SAFE_URL})
            approve_through_chain(s, acc)
            return int(acc.id)
        finally:
            audit.current_actor.reset(token)


def publish(app: Any, world: dict[str, Any], account_ids: list[int]) -> tuple[int, dict[int, Any]]:
    """A post approved through 三审 and sent by a real worker: (post id, {account id: dispatch})."""
    from hub.models import Dispatch

    pid = approve_post(world["api"], account_ids)
    run_burst_worker(app)
    with app.app_context():
        s = db.session()
        rows = {d.account_id: type("D", (), {"id": d.id, "status": d.status, "platform_ref": d.platform_ref,
                                             "stats_ref": d.stats_ref})()
                for d in s.query(Dispatch).filter(Dispatch.post_id == pid)}
        s.rollback()
        db.session.remove()
    return pid, rows


def wechat_msgid(wechat_base: str, appid: str, title: str) -> str:
    """The datacube msgid of the main article of the publication titled ``title`` (from /_sim/state)."""
    state = requests.get(wechat_base + "/_sim/state", timeout=5).json()
    pub = next(p for p in state["published"] if p["appid"] == appid and p["title"] == title)
    return f"{pub['msg_data_id']}_1"


def pull(instance: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hub", "metrics", "pull", *args], env=dict(os.environ, **instance),
                          capture_output=True, text=True, timeout=120)
