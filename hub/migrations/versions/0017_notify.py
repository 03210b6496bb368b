"""Notifications (issue 18 part 1): channels per unit, their sealed URL and secret, preferences per
person, in-app items and deliveries with a unique idempotency key.

Revision ID: 0017
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notify_channels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("url_hint", sa.String(300), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name="fk_notify_channels_unit_id_units"),
        sa.ForeignKeyConstraint(["updated_by_id"], ["users.id"], name="fk_notify_channels_updated_by_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_notify_channels"),
    )
    op.create_index("ix_notify_channels_unit_id", "notify_channels", ["unit_id"])
    op.create_table(
        "notify_secrets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(20), nullable=False),
        sa.Column("field", sa.String(80), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["channel_id"], ["notify_channels.id"], ondelete="CASCADE",
                                name="fk_notify_secrets_channel_id_notify_channels"),
        sa.PrimaryKeyConstraint("id", name="pk_notify_secrets"),
        sa.UniqueConstraint("channel_id", "name", name="uq_notify_secrets_channel_name"),
    )
    op.create_index("ix_notify_secrets_channel_id", "notify_secrets", ["channel_id"])
    op.create_index("ix_notify_secrets_key_version", "notify_secrets", ["key_version"])
    op.create_table(
        "notify_preferences",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("email_on", sa.Boolean(), nullable=False),
        sa.Column("wecom_userid", sa.String(64), nullable=False),
        sa.Column("wecom_on", sa.Boolean(), nullable=False),
        sa.Column("dingtalk_on", sa.Boolean(), nullable=False),
        sa.Column("digest", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name="fk_notify_preferences_user_id_users"),
        sa.PrimaryKeyConstraint("user_id", name="pk_notify_preferences"),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("event_key", sa.String(160), nullable=False),
        sa.Column("text", sa.String(500), nullable=False),
        sa.Column("link", sa.String(300), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("read_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE", name="fk_notifications_user_id_users"),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name="fk_notifications_unit_id_units"),
        sa.PrimaryKeyConstraint("id", name="pk_notifications"),
        sa.UniqueConstraint("event_key", "user_id", name="uq_notifications_event_key"),
    )
    op.create_index("ix_notifications_user_id", "notifications", ["user_id"])
    op.create_table(
        "notify_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("text", sa.String(500), nullable=False),
        sa.Column("link", sa.String(300), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", sa.DateTime(), nullable=False),
        sa.Column("last_error", sa.String(300), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["channel_id"], ["notify_channels.id"], ondelete="CASCADE",
                                name="fk_notify_deliveries_channel_id_notify_channels"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name="fk_notify_deliveries_user_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_notify_deliveries"),
        sa.UniqueConstraint("key", name="uq_notify_deliveries_key"),
    )
    op.create_index("ix_notify_deliveries_channel_id", "notify_deliveries", ["channel_id"])
    op.create_index("ix_notify_deliveries_status", "notify_deliveries", ["status"])


def downgrade() -> None:
    op.drop_table("notify_deliveries")
    op.drop_table("notifications")
    op.drop_table("notify_preferences")
    op.drop_table("notify_secrets")
    op.drop_table("notify_channels")
