"""audit trail: cheaper appends (BRIN time index, partial reveal index, no unique nonce in the queue)

Every index on audit_entries is maintained by every append. The time index
becomes BRIN on PostgreSQL (the trail is written in time order), the actor
index becomes a partial index over the reveal actions (its only query), and
the queue's unique nonce constraint goes (the sealer drops repeated nonces).

Revision ID: 0008
Revises: 0007
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_REVEALS = sa.text("action IN ('account.credential_reveal', 'account.credential_reveal_denied')")


def upgrade() -> None:
    # Plain index operations: a batch (table-rebuilding) operation would drop the append-only triggers.
    op.drop_index("ix_audit_entries_at", table_name="audit_entries")
    op.drop_index("ix_audit_entries_actor_id", table_name="audit_entries")
    op.create_index("ix_audit_entries_at", "audit_entries", ["at"], unique=False, postgresql_using="brin")
    op.create_index("ix_audit_entries_reveals", "audit_entries", ["actor_id", "at"], unique=False,
                    postgresql_where=_REVEALS, sqlite_where=_REVEALS)
    with op.batch_alter_table("audit_queue", schema=None) as batch_op:
        batch_op.drop_constraint("uq_audit_queue_nonce", type_="unique")


def downgrade() -> None:
    with op.batch_alter_table("audit_queue", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_audit_queue_nonce", ["nonce"])
    op.drop_index("ix_audit_entries_reveals", table_name="audit_entries")
    op.drop_index("ix_audit_entries_at", table_name="audit_entries")
    op.create_index("ix_audit_entries_actor_id", "audit_entries", ["actor_id"], unique=False)
    op.create_index("ix_audit_entries_at", "audit_entries", ["at"], unique=False)
