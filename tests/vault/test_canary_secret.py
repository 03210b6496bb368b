"""A canary secret goes through everything a credential goes through (set by API and web form,
verify, publish by a real worker, rotate-key, failed reveal, bad requests) and must not appear
in the database files, Redis, logs, HTML pages, API answers, audit exports or error pages."""

from __future__ import annotations

import io
import logging
import re
import uuid
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from sqlalchemy import create_engine, inspect, text
from support import ALL_CONFIRMATIONS, PASSWORD, Api, run_burst_worker

from hub.audit.export import export
from hub.cli import main
from hub.db import db
from hub.queue import get_redis


class Recorder(Api):
    """An API client that keeps every answer for the scan."""

    def __init__(self, api: Api, seen: list[bytes]) -> None:
        super().__init__(api.client, api.token)
        self.seen = seen

    def _keep(self, r: Any) -> Any:
        self.seen.append(r.get_data())
        return r

    def get(self, path: str, **kw: Any) -> Any:
        return self._keep(super().get(path, **kw))

    def post(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self._keep(super().post(path, json, **kw))

    def put(self, path: str, json: Any = None) -> Any:
        return self._keep(super().put(path, json))


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def _database_bytes(app: Any) -> bytes:
    url = app.config["HUB_DATABASE_URL"]
    if url.startswith("sqlite"):
        db.session.remove()
        inst = Path(app.config["HUB_INSTANCE_DIR"])
        return b"".join(p.read_bytes() for p in inst.iterdir() if p.is_file())
    eng = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    out = []
    with eng.connect() as c:
        for table in inspect(c).get_table_names():
            for (row,) in c.execute(text(f'SELECT row_to_json(t)::text FROM "{table}" t')):
                out.append(row.encode())
    eng.dispose()
    return b"\n".join(out)


def _redis_bytes(app: Any) -> bytes:
    r = get_redis(app.config)
    out: list[bytes] = []
    for key in r.scan_iter(count=1000):
        out.append(key)
        kind = r.type(key)
        kind = kind.decode() if isinstance(kind, bytes) else kind
        if kind == "string":
            out.append(r.get(key) or b"")
        elif kind == "hash":
            for k, v in r.hgetall(key).items():
                out += [k, v]
        elif kind == "list":
            out += r.lrange(key, 0, -1)
        elif kind == "set":
            out += list(r.smembers(key))
        elif kind == "zset":
            out += [m for m, _s in r.zrange(key, 0, -1, withscores=True)]
        elif kind == "stream":
            for _id, fields in r.xrange(key):
                for k, v in fields.items():
                    out += [k, v]
    return b"\n".join(x if isinstance(x, bytes) else str(x).encode() for x in out)


def _forms(canary: bytes) -> list[bytes]:
    import base64

    return [canary, canary.hex().encode(), base64.b64encode(canary)]


def test_canary_secret_never_leaves(world: dict[str, Any], factory: Any, app: Any, client: Any,
                                    caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    canary = f"CANARY-{uuid.uuid4().hex}"
    console = f"CONSOLE-{uuid.uuid4().hex}"
    seen: list[bytes] = []
    sim = world["sim"]
    sim.register("wx_canary", canary)
    admin = Recorder(world["api"]["admin"], seen)
    editor = Recorder(world["api"]["editor"], seen)
    acc = factory.account("cbeh", "陈巴尔虎旗金丝雀", sim.base, appid="wx_canary", secret="placeholder-secret",
                          is_main=False, justification="测试")
    aid = acc.id
    # Set by API (twice, so an archived version exists too), with bad requests carrying the canary.
    assert admin.put(f"/accounts/{aid}/credentials", {"app_secret": canary}).status_code == 200
    assert admin.put(f"/accounts/{aid}/credentials", {"bogus": canary}).status_code == 400
    assert admin.put(f"/accounts/{aid}/credentials", {"app_secret": [canary]}).status_code == 400
    assert editor.put(f"/accounts/{aid}/credentials", {"app_secret": canary}).status_code in (403, 404)
    assert admin.put("/accounts/999999/credentials", {"app_secret": canary}).status_code == 404
    # Set by the web form; a form without a CSRF token gets the error page.
    token = _csrf(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token})
    token = _csrf(client.get(f"/accounts/{aid}").get_data(as_text=True))
    r = client.post(f"/accounts/{aid}/credentials", data={"csrf_token": token, "cred_console_password": console})
    assert r.status_code == 302
    seen.append(client.post(f"/accounts/{aid}/credentials", data={"cred_app_secret": canary}).get_data())
    seen.append(client.post(f"/accounts/{aid}/credentials/console_password/reveal",
                            data={"csrf_token": token, "password": "wrong-password", "reason": "巡检"}).get_data())
    # Verify (a real platform call) and a real publish through the worker.
    assert admin.post(f"/accounts/{aid}/credentials/verify").get_json()["ok"] is True
    post = editor.post("/posts", {"title": "金丝雀测试", "content": "<p>冬季防火安全提示</p>",
                                  "account_ids": [aid]}).get_json()
    assert editor.post(f"/posts/{post['id']}/submit").status_code == 200
    for reviewer in ("r1", "r2", "r3"):
        api = Recorder(world["api"][reviewer], seen)
        h = api.get(f"/posts/{post['id']}").get_json()["revision"]["hash"]
        assert api.post(f"/posts/{post['id']}/approve", {"revision_hash": h, "checks": ALL_CONFIRMATIONS}).status_code == 200
    run_burst_worker(app)
    assert editor.get(f"/posts/{post['id']}").get_json()["status"] == "published"
    # Rotate the master key; a wrong-password reveal through the API.
    assert CliRunner().invoke(main, ["vault", "rotate-key"]).exit_code == 0
    assert admin.post(f"/accounts/{aid}/credentials/console_password/reveal",
                      {"password": "nope", "reason": "巡检"}).status_code == 403
    # Every page and answer a user could see.
    for path in ("/", "/accounts", f"/accounts/{aid}", "/accounts/register", "/accounts/credentials/overdue",
                 "/accounts/filings", f"/accounts/{aid}/edit", "/no-such-page", f"/posts/{post['id']}"):
        seen.append(client.get(path).get_data())
    seen.append(client.get("/accounts/register.csv").get_data())
    for path in ("/accounts", f"/accounts/{aid}", f"/accounts/{aid}/filings", "/accounts/register",
                 "/accounts/credentials/overdue", "/vault/status", "/audit?limit=1000", "/nope"):
        admin.get(path)
    supervisor = Recorder(world["api"]["supervisor"], seen)
    supervisor.get(f"/accounts/{aid}")
    supervisor.get("/audit?limit=1000")
    for fmt in ("jsonl", "csv"):
        buf = io.StringIO()
        export(buf, fmt)
        seen.append(buf.getvalue().encode())
    logs = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records).encode()
    worker_log = Path(app.config["HUB_INSTANCE_DIR"]) / "worker.log"
    places = {
        "database": _database_bytes(app),
        "redis": _redis_bytes(app),
        "logs": logs + (worker_log.read_bytes() if worker_log.exists() else b""),
        "pages and answers": b"\n".join(seen),
    }
    # Positive controls: the scans do see what is stored in each place.
    name = "陈巴尔虎旗金丝雀".encode()
    assert name in places["database"] and name in places["pages and answers"]
    assert b"stable_token" in places["logs"] and places["redis"]
    for secret in (canary, console):
        for where, blob in places.items():
            for form in _forms(secret.encode()):
                assert form not in blob, f"{secret[:7]}… found in {where}"
