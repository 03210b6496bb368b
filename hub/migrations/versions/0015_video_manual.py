"""Video posts and manual-publish accounts (issue 14).

* media: ``kind`` (image | video), ``size``, ``duration`` and ``path`` (a video's file under the
  instance dir; its ``data`` stays empty).
* revisions: ``video_id`` and ``video_sha256`` (covered by the revision hash).
* accounts: ``platform_name`` (the name a manual-publish account's platform goes by: 视频号 …); the
  one-main-account index becomes (unit_id, platform, platform_name).
* dispatches: ``awaiting_manual`` joins the status check; ``manual_by_id``, ``manual_check`` and
  ``screenshot_id`` record a manual publication.

Revision ID: 0015
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0013"
branch_labels = None
depends_on = None

WHERE = "is_main AND status <> 'closed'"
OLD_DISPATCH = ("pending", "sending", "unconfirmed", "published", "failed", "cancelled", "withdrawn")
NEW_DISPATCH = (*OLD_DISPATCH, "awaiting_manual")


def _check(values: tuple[str, ...]) -> str:
    return "status IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade() -> None:
    with op.batch_alter_table("media") as batch:
        batch.add_column(sa.Column("kind", sa.String(10), nullable=False, server_default="image"))
        batch.add_column(sa.Column("size", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True))
        batch.add_column(sa.Column("duration", sa.Float(), nullable=True))
        batch.add_column(sa.Column("path", sa.String(300), nullable=True))
    with op.batch_alter_table("revisions") as batch:
        batch.add_column(sa.Column("video_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("video_sha256", sa.String(64), nullable=False, server_default=""))
        batch.create_foreign_key("fk_revisions_video_id_media", "media", ["video_id"], ["id"])
    op.drop_index("uq_accounts_one_main", table_name="accounts")
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("platform_name", sa.String(50), nullable=False, server_default=""))
    op.create_index("uq_accounts_one_main", "accounts", ["unit_id", "platform", "platform_name"], unique=True,
                    sqlite_where=sa.text(WHERE), postgresql_where=sa.text(WHERE))
    with op.batch_alter_table("dispatches") as batch:
        batch.drop_constraint("ck_dispatches_status", type_="check")
        batch.create_check_constraint("ck_dispatches_status", _check(NEW_DISPATCH))
        batch.add_column(sa.Column("manual_by_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("manual_check", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("screenshot_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_dispatches_manual_by_id_users", "users", ["manual_by_id"], ["id"])
        batch.create_foreign_key("fk_dispatches_screenshot_id_media", "media", ["screenshot_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("dispatches") as batch:
        batch.drop_constraint("fk_dispatches_screenshot_id_media", type_="foreignkey")
        batch.drop_constraint("fk_dispatches_manual_by_id_users", type_="foreignkey")
        batch.drop_column("screenshot_id")
        batch.drop_column("manual_check")
        batch.drop_column("manual_by_id")
        batch.drop_constraint("ck_dispatches_status", type_="check")
        batch.create_check_constraint("ck_dispatches_status", _check(OLD_DISPATCH))
    op.drop_index("uq_accounts_one_main", table_name="accounts")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("platform_name")
    op.create_index("uq_accounts_one_main", "accounts", ["unit_id", "platform"], unique=True,
                    sqlite_where=sa.text(WHERE), postgresql_where=sa.text(WHERE))
    with op.batch_alter_table("revisions") as batch:
        batch.drop_constraint("fk_revisions_video_id_media", type_="foreignkey")
        batch.drop_column("video_sha256")
        batch.drop_column("video_id")
    with op.batch_alter_table("media") as batch:
        batch.drop_column("path")
        batch.drop_column("duration")
        batch.drop_column("size")
        batch.drop_column("kind")
