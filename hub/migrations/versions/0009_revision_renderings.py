"""Revisions keep the rendering of every target account (what each platform will be sent), and a
WeChat post's extra articles (次条: up to seven after the main one).

Findings name any field that may reach a reader ("variants.weibo.text", "rendering.wechat.digest"),
so the field columns of overrides and inspection findings widen from 16 to 64 characters (a batch
alter, so SQLite's schema says the same as PostgreSQL's even though SQLite does not enforce it).

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


FIELD_TABLES = ("finding_overrides", "scan_findings")


def upgrade() -> None:
    op.add_column("revisions", sa.Column("renderings", sa.JSON(), nullable=True))
    op.add_column("revisions", sa.Column("articles", sa.JSON(), nullable=True))
    for table in FIELD_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.alter_column("field", type_=sa.String(64), existing_type=sa.String(16),
                               existing_nullable=False)


def downgrade() -> None:
    for table in FIELD_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.alter_column("field", type_=sa.String(16), existing_type=sa.String(64),
                               existing_nullable=False)
    with op.batch_alter_table("revisions") as batch:
        batch.drop_column("renderings")
        batch.drop_column("articles")
