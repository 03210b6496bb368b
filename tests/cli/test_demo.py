"""`hub demo` on the pure embedded default (SQLite, embedded Redis): the newcomer's `make run`."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import requests
from support import ALL_CONFIRMATIONS, wait_for

HUB = [sys.executable, "-m", "hub"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_demo_serves_and_publishes_once(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env["HUB_INSTANCE_DIR"] = str(tmp_path / "instance")
    port = free_port()
    sims = {"wechat": free_port(), "weibo": free_port(), "website": free_port(), "douyin": free_port(),
            "kuaishou": free_port()}
    log = open(tmp_path / "demo.log", "wb")
    demo = subprocess.Popen([*HUB, "demo", "--port", str(port), "--sim-port", str(sims["wechat"]),
                             "--weibo-port", str(sims["weibo"]), "--website-port", str(sims["website"]),
                             "--douyin-port", str(sims["douyin"]), "--kuaishou-port", str(sims["kuaishou"])],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _up(base + "/login") or demo.poll() is not None, timeout=90)
        assert demo.poll() is None, (tmp_path / "demo.log").read_text()
        # The logins are printed once every part is up.
        out = wait_for(lambda: (lambda t: t if "reviewer1" in t else None)((tmp_path / "demo.log").read_text()),
                       timeout=30)
        assert "demo-pass-2026" in out

        def token(user: str) -> dict[str, str]:
            t = subprocess.run([*HUB, "token", "create", user], env=env, capture_output=True, text=True,
                               timeout=60, check=True).stdout.strip()
            return {"Authorization": f"Bearer {t}"}

        ed = token("editor")
        accounts = requests.get(base + "/api/v1/accounts", headers=ed, timeout=10).json()["accounts"]
        # One account per simulator (WeChat has two), each filed and pointing at its simulator, and a 视频号
        # manual-publish account, filed and active like the others.
        assert sorted(a["platform"] for a in accounts) == ["douyin", "kuaishou", "manual", "website", "wechat",
                                                           "wechat", "weibo"]
        assert all(a["status"] == "active" for a in accounts), accounts
        (manual,) = [a for a in accounts if a["platform"] == "manual"]
        assert manual["platform_name"] == "视频号" and manual["is_main"]
        main = {a["platform"]: a["id"] for a in accounts if a["is_main"]}
        r = requests.post(base + "/api/v1/posts", headers=ed, timeout=10, json={
            "title": "演示稿件：冬季供暖服务公告", "content": "<p>供暖热线已开通。</p>",
            "account_ids": [main["wechat"], main["weibo"], main["website"]]})
        assert r.status_code == 201, r.text
        post = r.json()
        assert requests.post(base + f"/api/v1/posts/{post['id']}/submit", headers=ed, timeout=10).ok
        for rv in ("reviewer1", "reviewer2", "reviewer3"):
            r = requests.post(base + f"/api/v1/posts/{post['id']}/approve", headers=token(rv), timeout=10,
                              json={"revision_hash": post["revision"]["hash"], "checks": ALL_CONFIRMATIONS})
            assert r.status_code == 200, r.text

        def published():
            p = requests.get(base + f"/api/v1/posts/{post['id']}", headers=ed, timeout=10).json()
            return p if p["status"] == "published" else None

        wait_for(published, timeout=60)
        for platform in ("wechat", "weibo", "website"):  # exactly once on every platform it went to
            state = requests.get(f"http://127.0.0.1:{sims[platform]}/_sim/state", timeout=10).json()
            assert [p["status"] for p in state["published"]] == ["published"], (platform, state)
            if platform == "weibo":  # the approver's IP as Weibo's rip, the account's safe-domain link
                assert state["published"][0]["rip"] and "https://www.cbeh.gov.cn/" in state["published"][0]["text"]
        for platform in ("douyin", "kuaishou"):  # the video platforms' simulators run, with the demo apps
            state = requests.get(f"http://127.0.0.1:{sims[platform]}/_sim/state", timeout=10).json()
            assert state["published"] == [] and len(state["apps"]) == 1
        # The web UI answers on IPv6 too.
        try:
            r6 = requests.get(f"http://[::1]:{port}/login", timeout=5)
            assert r6.status_code == 200
        except requests.ConnectionError:
            with socket.socket(socket.AF_INET6) as s:  # only acceptable when the host has no IPv6
                try:
                    s.bind(("::1", 0))
                except OSError:
                    pass
                else:
                    raise
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            demo.wait(timeout=30)
        except subprocess.TimeoutExpired:
            demo.kill()
            raise AssertionError("hub demo did not stop on Ctrl-C") from None
        log.close()
    assert demo.returncode is not None
    assert "Traceback" not in Path(tmp_path / "demo.log").read_text()


def _up(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


def test_demo_fails_loudly_when_a_port_is_taken(tmp_path):
    """Another program on the web port: the demo says so and exits, instead of reporting 已启动 because
    its readiness probe was answered by the other program."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env["HUB_INSTANCE_DIR"] = str(tmp_path / "instance")
    sims = [free_port(), free_port(), free_port(), free_port(), free_port()]
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        taken = other.getsockname()[1]
        r = subprocess.run([*HUB, "demo", "--port", str(taken), "--sim-port", str(sims[0]),
                            "--weibo-port", str(sims[1]), "--website-port", str(sims[2]),
                            "--douyin-port", str(sims[3]), "--kuaishou-port", str(sims[4])],
                           env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert f"端口 {taken} 已被占用" in r.stderr and "make run PORT=" in r.stderr
    assert "已启动" not in r.stdout
    assert not (tmp_path / "instance").exists()  # nothing was started or created
