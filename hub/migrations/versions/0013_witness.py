"""Checkpoints witnessed for other hubs (issue 20: witnessed off the host).

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "witnessed_checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("sig", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("received_by", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_id", "seq", name="uq_witnessed_checkpoints_key_seq"),
    )
    op.create_index("ix_witnessed_checkpoints_key_id", "witnessed_checkpoints", ["key_id"])


def downgrade() -> None:
    op.drop_index("ix_witnessed_checkpoints_key_id", table_name="witnessed_checkpoints")
    op.drop_table("witnessed_checkpoints")
