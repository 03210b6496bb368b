"""dispatch engine: attempt history and dispatch bookkeeping columns

Revision ID: 0004
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None

NEW_COLUMNS = (
    ("stage", sa.String(length=20)),
    ("claim", sa.String(length=40)),
    ("lease_until", sa.DateTime()),
    ("check_at", sa.DateTime()),
    ("unconfirmed_since", sa.DateTime()),
    ("alerted_at", sa.DateTime()),
    ("absent_at", sa.DateTime()),
)


def upgrade() -> None:
    op.create_table(
        "dispatch_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dispatch_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("worker", sa.String(length=100), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["dispatch_id"], ["dispatches.id"],
                                name=op.f("fk_dispatch_attempts_dispatch_id_dispatches")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispatch_attempts")),
    )
    with op.batch_alter_table("dispatch_attempts") as batch_op:
        batch_op.create_index(batch_op.f("ix_dispatch_attempts_dispatch_id"), ["dispatch_id"], unique=False)
    with op.batch_alter_table("dispatches") as batch_op:
        for name, type_ in NEW_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
        batch_op.create_index("ix_dispatches_check_at", ["check_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("dispatches") as batch_op:
        batch_op.drop_index("ix_dispatches_check_at")
        for name, _type in reversed(NEW_COLUMNS):
            batch_op.drop_column(name)
    with op.batch_alter_table("dispatch_attempts") as batch_op:
        batch_op.drop_index(batch_op.f("ix_dispatch_attempts_dispatch_id"))
    op.drop_table("dispatch_attempts")
