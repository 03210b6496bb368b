"""merge the feature heads (audit, filing and vault, dispatch, review chains, checks)

Revision ID: 0007
Revises: 0002, 0003, 0004, 0005, 0006
"""
from __future__ import annotations

revision = "0007"
down_revision = ("0002", "0003", "0004", "0005", "0006")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
