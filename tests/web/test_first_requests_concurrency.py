"""A fresh process (as a fresh gunicorn gthread worker) hit by 16 concurrent first requests answers none
of them with 500: the adapter registry and the other lazily built process-wide state are built once,
under a lock, before anyone reads them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

FIRST_REQUESTS = """
import json, sys, threading
from hub import create_app
app = create_app()
token, account_id = sys.argv[1], int(sys.argv[2])
barrier = threading.Barrier(16)
codes = []
def hit(i):
    client = app.test_client()
    barrier.wait()
    path = f"/api/v1/accounts/{account_id}" if i % 2 else "/api/v1/platforms"
    r = client.get(path, headers={"Authorization": f"Bearer {token}"})
    body = r.get_json(silent=True) or {}
    names = sorted(p.get("platform", p.get("name", "")) for p in body.get("platforms", body.get("items", [])))
    codes.append((path, r.status_code, names if "platforms" in path else r.get_data(as_text=True)[:200]))
threads = [threading.Thread(target=hit, args=(i,)) for i in range(16)]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps(codes, ensure_ascii=False))
"""


def test_sixteen_concurrent_first_requests_of_a_fresh_process_get_no_500(world, instance):
    token = world["api"]["admin"].token
    env = {**os.environ, **instance}
    for _ in range(3):  # a race: three fresh processes, each with 16 first requests at once
        r = subprocess.run([sys.executable, "-c", FIRST_REQUESTS, token, str(world["accounts"][0])], env=env,
                           capture_output=True, text=True, timeout=120, check=False)
        assert r.returncode == 0, r.stderr
        codes = json.loads(r.stdout.strip().splitlines()[-1])
        assert len(codes) == 16
        assert all(code == 200 for _path, code, _body in codes), codes
        # Every thread sees every built-in platform (the registry was not read half-loaded).
        lists = [body for path, _code, body in codes if path.endswith("/platforms")]
        from adapters.registry import platforms

        assert lists == [sorted(platforms())] * 8, lists
        assert {"website", "wechat", "weibo", "douyin", "kuaishou", "manual"} <= set(lists[0])
