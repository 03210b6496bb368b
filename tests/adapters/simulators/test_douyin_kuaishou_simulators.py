"""The 抖音 and 快手 simulators speak their platforms' documented protocols (answer shapes, error codes,
token lifetimes) and the shared control surface; ``hub simulate douyin|kuaishou`` serves them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from html import unescape
from urllib.parse import parse_qs, urlsplit

import requests
from support import serving

from adapters.simulators import douyin, kuaishou


def _code(base: str, **q: str) -> str:
    page = requests.get(base, params=q, timeout=5)
    href = unescape(re.search(r'id="approve" href="([^"]+)"', page.text).group(1))
    return parse_qs(urlsplit(href).query)["code"][0]


def test_douyin_oauth_lifetimes_renewals_and_error_shapes():
    with serving(douyin.make_server) as base:
        app = requests.post(base + "/_sim/apps", json={"appid": "k", "secret": "s"}, timeout=5).json()
        assert set(app) >= {"open_id", "access_token", "refresh_token"}
        code = _code(base + "/platform/oauth/connect/", client_key="k", response_type="code", scope="video.create",
                     redirect_uri="https://hub.example/cb", state="x")
        bad = requests.post(base + "/oauth/access_token/", data={"client_key": "k", "client_secret": "wrong",
                                                                "code": code, "grant_type": "authorization_code"},
                            timeout=5).json()
        assert bad["data"]["error_code"] == 10013
        ok = requests.post(base + "/oauth/access_token/", data={"client_key": "k", "client_secret": "s", "code": code,
                                                               "grant_type": "authorization_code"}, timeout=5).json()
        data = ok["data"]
        assert data["error_code"] == 0 and ok["message"] == "success"
        assert data["expires_in"] == 15 * 86400 and data["refresh_expires_in"] == 30 * 86400
        again = requests.post(base + "/oauth/access_token/", data={"client_key": "k", "client_secret": "s",
                                                                  "code": code, "grant_type": "authorization_code"},
                              timeout=5).json()
        assert again["data"]["error_code"] == 10007  # a code is used once
        rt = data["refresh_token"]
        for _ in range(5):
            rt = requests.post(base + "/oauth/renew_refresh_token/", data={"client_key": "k", "refresh_token": rt},
                               timeout=5).json()["data"]["refresh_token"]
        six = requests.post(base + "/oauth/renew_refresh_token/", data={"client_key": "k", "refresh_token": rt},
                            timeout=5).json()
        assert six["data"]["error_code"] == 10020
        # Video calls: the token in the access-token header, the user's open_id in the query.
        hdr = {"access-token": data["access_token"]}
        r = requests.get(base + "/api/douyin/v1/video/video_list/", params={"open_id": "other"}, headers=hdr,
                         timeout=5).json()
        assert r["data"]["error_code"] == 2190015 and r["extra"]["error_code"] == 2190015
        requests.post(base + "/_sim/expire_tokens", json={}, timeout=5)
        r = requests.get(base + "/api/douyin/v1/video/video_list/", params={"open_id": data["open_id"]}, headers=hdr,
                         timeout=5).json()
        assert r["data"]["error_code"] == 2190008
        refreshed = requests.post(base + "/oauth/refresh_token/", data={"client_key": "k", "grant_type": "refresh_token",
                                                                        "refresh_token": rt}, timeout=5).json()["data"]
        assert refreshed["expires_in"] == 15 * 86400 and refreshed["refresh_expires_in"] <= 86400
        requests.post(base + "/_sim/faults", json={"busy_rate": 1.0}, timeout=5)
        busy = requests.get(base + "/api/douyin/v1/video/video_list/", params={"open_id": data["open_id"]},
                            headers={"access-token": refreshed["access_token"]}, timeout=5).json()
        assert busy["data"]["error_code"] == 2100004
        assert requests.get(base + "/_sim/state", timeout=5).json()["published"] == []


def test_kuaishou_oauth_refresh_rotates_with_inherited_expiry_and_result_codes():
    with serving(kuaishou.make_server) as base:
        requests.post(base + "/_sim/apps", json={"appid": "ks", "secret": "s"}, timeout=5).raise_for_status()
        code = _code(base + "/oauth2/connect", app_id="ks", response_type="code", scope="user_video_publish",
                     redirect_uri="https://hub.example/cb", state="x")
        tok = requests.get(base + "/oauth2/access_token", params={"app_id": "ks", "app_secret": "s", "code": code,
                                                                  "grant_type": "authorization_code"}, timeout=5).json()
        assert tok["result"] == 1 and tok["expires_in"] == 172800 and tok["refresh_token_expires_in"] == 15552000
        new = requests.get(base + "/oauth2/refresh_token", params={
            "app_id": "ks", "app_secret": "s", "refresh_token": tok["refresh_token"], "grant_type": "refresh_token"},
            timeout=5).json()
        assert new["refresh_token"] != tok["refresh_token"] and new["refresh_token_expires_in"] <= 15552000
        old = requests.get(base + "/oauth2/refresh_token", params={
            "app_id": "ks", "app_secret": "s", "refresh_token": tok["refresh_token"], "grant_type": "refresh_token"},
            timeout=5).json()
        assert old["result"] != 1  # the old refresh token is void
        r = requests.get(base + "/openapi/photo/delete", params={"app_id": "ks", "access_token": new["access_token"],
                                                                 "photo_id": "nope"}, timeout=5).json()
        assert r["result"] == 120001
        r = requests.post(base + "/openapi/photo/publish", params={"app_id": "ks", "access_token": new["access_token"],
                                                                   "upload_token": "nope"}, timeout=5).json()
        assert r["result"] == 120002
        r = requests.get(base + "/openapi/photo/list", params={"app_id": "ks", "access_token": "bad"}, timeout=5).json()
        assert r["result"] == 100200102


def test_hub_simulate_serves_douyin_and_kuaishou(tmp_path):
    env = dict(os.environ, HUB_INSTANCE_DIR=str(tmp_path / "instance"))
    for platform, label in (("douyin", "Douyin simulator"), ("kuaishou", "Kuaishou simulator")):
        p = subprocess.Popen([sys.executable, "-m", "hub", "simulate", platform, "--port", "0"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            line = p.stdout.readline() if p.stdout else ""
            assert line.startswith(label + " on http://"), line
            base = line.split(" on ", 1)[1].strip()
            assert requests.get(base + "/_sim/state", timeout=5).json()["published"] == []
        finally:
            p.terminate()
            p.wait(timeout=10)
