"""政务新媒体发布中心 — the Flask application factory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Create the app: config from the environment (embedded default) plus ``config`` overrides."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    from hub import api, web
    from hub.config import load_config
    from hub.db import db
    from hub.extensions import babel, csrf, limiter, login_manager, select_locale
    from hub.queue import redis_url_for
    from hub.vault import Vault

    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(Path(__file__).parent / "static"),
        instance_path=None,
    )
    from hub import inputs

    inputs.init_app(app)  # <int:...> within 64 bits, before any rule is added
    app.config.update(load_config(config))
    Path(app.config["HUB_INSTANCE_DIR"]).mkdir(parents=True, exist_ok=True)
    if app.config["HUB_TRUSTED_PROXIES"]:
        n = app.config["HUB_TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]

    db.init_app(app)
    from hub.audit.witness import init_app as init_witness

    init_witness(app)  # the audit witness outside the database (hub.audit.witness)
    app.extensions["hub_vault"] = Vault(app.config["HUB_INSTANCE_DIR"], app.config["HUB_VAULT_KEYS"])

    if "RATELIMIT_STORAGE_URI" not in app.config:
        url = redis_url_for(app.config)
        if url.startswith("unix://"):
            url = "redis+unix://" + url[len("unix://"):]
        app.config["RATELIMIT_STORAGE_URI"] = url
    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"socket_timeout": 5})
    # Counters per instance: two instances sharing one Redis (or one test after another) never share them.
    app.config.setdefault("RATELIMIT_KEY_PREFIX", f"hub-limits:{app.config.get('HUB_QUEUE') or 'hub'}")
    limiter.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=str(Path(__file__).parent / "translations"))
    login_manager.init_app(app)

    web.init_app(app)
    api.init_app(app)
    from hub.cli import register

    register(app)
    return app
