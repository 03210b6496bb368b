"""``hub init``: instance dir, vault key file, schema (Alembic), audit head. Idempotent."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from flask import Flask

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(app: Flask) -> None:
    command.upgrade(alembic_config(app.config["HUB_DATABASE_URL"]), "heads")


def initialise(app: Flask) -> list[str]:
    from . import audit
    from .db import db

    inst = Path(app.config["HUB_INSTANCE_DIR"])
    inst.mkdir(parents=True, exist_ok=True)
    report = [f"实例目录：{inst}"]
    vault = app.extensions["hub_vault"]
    if vault.create_key_file():
        report.append(f"已创建保险库密钥文件 {vault.key_file}（权限 0600，请备份）")
    elif app.config["HUB_VAULT_KEYS"]:
        report.append("保险库密钥来自 HUB_VAULT_KEYS")
    else:
        report.append(f"保险库密钥文件已存在：{vault.key_file}")
    upgrade(app)
    with db.transaction() as s:
        audit.ensure_head(s)
    report.append("数据库结构已是最新版本")
    return report
