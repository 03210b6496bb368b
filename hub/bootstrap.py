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
    command.upgrade(alembic_config(app.config["HUB_DATABASE_URL"]), "head")


def initialise(app: Flask) -> list[str]:
    from hub import audit
    from hub.db import db

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
    report.extend(init_audit_witness(app))
    return report


def init_audit_witness(app: Flask) -> list[str]:
    """Create the checkpoint signing key; adopt a trail that predates the witness (see hub.audit.witness)."""
    from hub import audit
    from hub.audit.witness import Witness, key_id
    from hub.db import db

    w: Witness = app.extensions["hub_witness"]
    fresh_files = not w.witness_path.exists() and not w.checkpoint_path.exists()
    if not w.create_key():
        return [f"审计检查点签名密钥已存在：{w.key_path}（指纹 {key_id(w.private_key().public_key())}）"]
    fp = key_id(w.private_key().public_key())
    out = [f"已创建审计检查点签名密钥 {w.key_path}（权限 0600，指纹 {fp}；公钥 {w.public_key_path}，"
           "请将公钥另行保存）"]
    s = db.session()
    if fresh_files:
        res = audit.verify(s, use_witness=False)
        if res.ok and res.entries:
            audit.checkpoint_now(s, w, "adopt")
            out.append(f"已为现有 {res.entries} 条审计记录写入签名检查点（见证自此开始）")
        elif not res.ok:
            out.append(f"警告：现有审计日志校验失败（第 {res.first_bad_seq} 条：{res.reason}），未写入检查点")
    s.rollback()
    with db.transaction() as s:
        audit.record(s, "audit.key_create", object_type="audit", object_id=fp,
                     summary=f"创建审计检查点签名密钥（指纹 {fp}）", details={"key_id": fp})
    return out
