"""``hub demo``: the whole hub on the embedded default, with demo data.

Starts the WeChat, Weibo, website, Douyin and Kuaishou simulators, one worker with the
scheduler and the web server as child processes of this one; Ctrl-C stops
them all. Each demo account points at its platform's simulator; the 视频号 account is a manual-publish
account (no API: an editor publishes by hand and records the link).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any

import requests
from sqlalchemy import select

DEMO_PASSWORD = "demo-pass-2026"
UNITS = [
    ("nmg", "内蒙古自治区人民政府办公厅", None, "region"),
    ("hlbe", "呼伦贝尔市人民政府办公室", "nmg", "league"),
    ("cbeh", "陈巴尔虎旗人民政府办公室", "hlbe", "banner"),
]
USERS = [
    ("editor", "王编辑", "cbeh", ["editor"]),
    ("editor2", "李编辑", "cbeh", ["editor"]),
    ("reviewer1", "张初审", "cbeh", ["reviewer"]),
    ("reviewer2", "赵复审", "cbeh", ["reviewer"]),
    ("reviewer3", "刘终审", "cbeh", ["reviewer"]),
    ("admin", "陈管理员", "cbeh", ["admin"]),
    ("supervisor", "孙主管", "hlbe", ["supervisor"]),
    ("region", "周自治区主管", "nmg", ["supervisor"]),
]
# (name, platform, is_main, justification, credentials, what the simulator's /_sim/apps is given)
ACCOUNTS: list[tuple[str, str, bool, str, dict[str, str], dict[str, str]]] = [
    ("陈巴尔虎旗发布", "wechat", True, "",
     {"app_id": "wx_demo_cbeh_main", "app_secret": "demo-secret-main-0001"},
     {"appid": "wx_demo_cbeh_main", "secret": "demo-secret-main-0001"}),
    ("陈巴尔虎旗政务服务", "wechat", False, "政务服务事项办理通知需单独发布（演示数据）",
     {"app_id": "wx_demo_cbeh_service", "app_secret": "demo-secret-service-0002"},
     {"appid": "wx_demo_cbeh_service", "secret": "demo-secret-service-0002"}),
    ("陈巴尔虎旗发布（微博）", "weibo", True, "",
     {"app_key": "wb_demo_cbeh", "app_secret": "demo-secret-weibo-0003", "access_token": "demo-weibo-token-0003",
      "safe_url": "https://www.cbeh.gov.cn/"},
     {"appid": "wb_demo_cbeh", "secret": "demo-secret-weibo-0003", "access_token": "demo-weibo-token-0003",
      "safe_domain": "www.cbeh.gov.cn"}),
    ("陈巴尔虎旗人民政府网站", "website", True, "",
     {"site_id": "cbeh-gov-cn", "api_token": "demo-push-key-website-0004"},
     {"appid": "cbeh-gov-cn", "secret": "demo-push-key-website-0004"}),
    ("陈巴尔虎旗发布（抖音）", "douyin", True, "",
     {"client_key": "dy_demo_cbeh", "client_secret": "demo-secret-douyin-0005", "open_id": "_000demo_cbeh_douyin",
      "access_token": "act.demo-douyin-token-0005", "refresh_token": "rft.demo-douyin-refresh-0005",
      "refresh_renewals_left": "5"},
     {"appid": "dy_demo_cbeh", "secret": "demo-secret-douyin-0005", "open_id": "_000demo_cbeh_douyin",
      "access_token": "act.demo-douyin-token-0005", "refresh_token": "rft.demo-douyin-refresh-0005"}),
    ("陈巴尔虎旗发布（快手）", "kuaishou", True, "",
     {"client_key": "ks_demo_cbeh", "client_secret": "demo-secret-kuaishou-0006", "open_id": "demo_cbeh_kuaishou",
      "access_token": "demo-kuaishou-token-0006", "refresh_token": "demo-kuaishou-refresh-0006"},
     {"appid": "ks_demo_cbeh", "secret": "demo-secret-kuaishou-0006", "open_id": "demo_cbeh_kuaishou",
      "access_token": "demo-kuaishou-token-0006", "refresh_token": "demo-kuaishou-refresh-0006"}),
]
#: Manual-publish accounts (no API, no simulator): (name, platform name) — docs/video-and-manual.md.
MANUAL_ACCOUNTS = [("陈巴尔虎旗发布（视频号）", "视频号")]
SIMULATORS = {"wechat": "微信", "weibo": "微博", "website": "网站", "douyin": "抖音", "kuaishou": "快手"}


def seed(bases: dict[str, str]) -> list[tuple[str, dict[str, str]]]:
    """Create demo units, users and accounts if missing; return (platform, /_sim/apps body) per account."""
    from hub import audit
    from hub.accounts.filing import approve_through_chain
    from hub.accounts.service import create_account, set_credentials
    from hub.db import db
    from hub.models import Account, Unit, User
    from hub.org.service import create_unit, create_user

    out = []
    token = audit.current_actor.set(audit.Actor.system("demo"))
    try:
        with db.transaction() as s:
            for code, name, parent, kind in UNITS:
                if not s.scalars(select(Unit).where(Unit.code == code)).first():
                    create_unit(s, code, name, parent, kind)
            for username, name, unit, roles in USERS:
                if not s.scalars(select(User).where(User.username == username)).first():
                    create_user(s, username, unit, roles, DEMO_PASSWORD, name)
            for name, platform, is_main, why, credentials, sim_app in ACCOUNTS:
                base = bases[platform]
                acc = s.scalars(select(Account).where(Account.name == name)).first()
                if acc is None:
                    acc = create_account(s, None, {"platform": platform, "name": name, "unit": "cbeh",
                                                   "api_base": base, "is_main": is_main,
                                                   "justification": why, "responsible_person": "陈管理员",
                                                   "responsible_phone": "0470-6212345",
                                                   "certification_name": "陈巴尔虎旗人民政府办公室",
                                                   "launch_date": "2026-01-01"})
                    set_credentials(s, None, acc, credentials)
                if acc.status == "pending":
                    # The 备案 chain, as the league's and the region's supervisors (real, audited approvals).
                    approve_through_chain(s, acc)
                if acc.api_base != base:
                    acc.api_base = base
                out.append((platform, sim_app))
            for name, platform_name in MANUAL_ACCOUNTS:
                acc = s.scalars(select(Account).where(Account.name == name)).first()
                if acc is None:
                    acc = create_account(s, None, {"platform": "manual", "platform_name": platform_name, "name": name,
                                                   "unit": "cbeh", "is_main": True, "responsible_person": "陈管理员",
                                                   "responsible_phone": "0470-6212345",
                                                   "certification_name": "陈巴尔虎旗人民政府办公室",
                                                   "launch_date": "2026-01-01"})
                if acc.status == "pending":
                    approve_through_chain(s, acc)
    finally:
        audit.current_actor.reset(token)
    return out


def _wait_http(url: str, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return True
        except requests.RequestException:
            time.sleep(0.2)
    return False


def _port_taken(host: str, port: int) -> bool:
    """Whether something already listens on ``port`` (of ``host``, and of loopback, where we probe)."""
    hosts = {"127.0.0.1"} | ({host} if host not in ("", "::", "0.0.0.0") else set())
    for h in hosts:
        family = socket.AF_INET6 if ":" in h else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(0.5)
            if s.connect_ex((h, port)) == 0:
                return True
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do: TIME_WAIT is no owner
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def check_ports(host: str, port: int, sim_ports: dict[str, int]) -> None:
    """Fail loudly, before anything starts, when a port is taken: a readiness probe answered by
    another program would otherwise report a demo that is not running."""
    wanted = [("网页服务", "PORT", port)] + [
        (f"{SIMULATORS[p]}模拟器", f"{p.upper()}_PORT", sim_ports[p]) for p in SIMULATORS]
    seen: set[int] = set()
    for label, var, p in wanted:
        if p in seen:
            raise SystemExit(f"端口 {p} 被指定了两次，请为{label}换一个端口（make run {var}=…）")
        seen.add(p)
        if _port_taken(host, p):
            raise SystemExit(f"端口 {p} 已被占用，{label}无法启动：请先停止占用它的程序，"
                             f"或换一个端口，例如 make run {var}={p + 1000}")


def run_demo(host: str, port: int, sim_ports: dict[str, int]) -> None:
    """``sim_ports``: the loopback port of each platform's simulator (wechat, weibo, website, douyin, kuaishou)."""
    from hub import create_app
    from hub.bootstrap import initialise

    check_ports(host, port, sim_ports)

    app = create_app()
    bases = {platform: f"http://127.0.0.1:{sim_ports[platform]}" for platform in SIMULATORS}
    with app.app_context():
        for line in initialise(app):
            print(line)
        accounts = seed(bases)
    hub = [sys.executable, "-m", "hub"]
    env = dict(os.environ, HUB_INSTANCE_DIR=app.config["HUB_INSTANCE_DIR"], PYTHONUNBUFFERED="1")
    # The demo's admins and supervisors sign in with the demo password alone, unless the operator
    # asks for the second factor (HUB_REQUIRE_TOTP=1): anyone may still enrol on 「二次验证」.
    env.setdefault("HUB_REQUIRE_TOTP", "0")
    children: list[subprocess.Popen[Any]] = []

    def stop(*_: Any) -> None:
        for p in children:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in children:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()

    try:
        for platform in SIMULATORS:
            children.append(subprocess.Popen([*hub, "simulate", platform, "--host", "127.0.0.1",
                                              "--port", str(sim_ports[platform])], env=env))
        for (platform, label), child in zip(SIMULATORS.items(), children, strict=True):
            if not _wait_http(f"{bases[platform]}/_sim/state") or child.poll() is not None:
                raise SystemExit(f"{label}模拟器未能启动")
        for platform, sim_app in accounts:
            r = requests.post(f"{bases[platform]}/_sim/apps", json=sim_app, timeout=5)
            r.raise_for_status()
        children.append(subprocess.Popen([*hub, "worker"], env=env))
        children.append(subprocess.Popen([*hub, "serve", "--host", host, "--port", str(port)], env=env))
        if not _wait_http(f"http://127.0.0.1:{port}/login") or children[-1].poll() is not None:
            raise SystemExit("网页服务未能启动")
        print("\n政务新媒体发布中心（演示）已启动：")
        print(f"  http://127.0.0.1:{port}/    http://[::1]:{port}/")
        for platform, label in SIMULATORS.items():
            print(f"  {label}模拟器：{bases[platform]}/_sim/state")
        print(f"  演示账号（密码均为 {DEMO_PASSWORD}）：")
        if env["HUB_REQUIRE_TOTP"] in ("0", "false", "no"):
            print("  （演示中管理员和主管可不设二次验证；正式部署默认必须设置，见 docs/people-and-sign-in.md）")
        for username, name, unit, roles in USERS:
            print(f"    {username:<11} {name}  {unit}  {', '.join(roles)}")
        print("按 Ctrl-C 停止。\n", flush=True)
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        while all(p.poll() is None for p in children):
            time.sleep(0.5)
        print("有子进程意外退出，正在停止……", file=sys.stderr)
    except KeyboardInterrupt:
        print("\n正在停止……")
    finally:
        stop()
