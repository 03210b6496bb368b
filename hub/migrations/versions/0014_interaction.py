"""政民互动 (issue 16): inbox messages, reviewed answers, the 咨询问答库, sealed contact data,
Weibo pull cursors; monitor alerts for overdue messages (account optional, message id).

Revision ID: 0014
Revises: 0018
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('interaction_qa',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('keywords', sa.JSON(), nullable=False),
    sa.Column('source_policy', sa.String(length=500), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('revision_hash', sa.String(length=64), nullable=False),
    sa.Column('findings', sa.JSON(), nullable=False),
    sa.Column('duplicate_of_id', sa.Integer(), nullable=True),
    sa.Column('similarity', sa.Integer(), nullable=True),
    sa.Column('served_count', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('approved_at', sa.DateTime(), nullable=True),
    sa.Column('reject_reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['approved_by_id'], ['users.id'], name=op.f('fk_interaction_qa_approved_by_id_users')),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_interaction_qa_author_id_users')),
    sa.ForeignKeyConstraint(['duplicate_of_id'], ['interaction_qa.id'], name=op.f('fk_interaction_qa_duplicate_of_id_interaction_qa')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_interaction_qa_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_interaction_qa'))
    )
    with op.batch_alter_table('interaction_qa', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_interaction_qa_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_interaction_qa_unit_id'), ['unit_id'], unique=False)

    op.create_table('interaction_cursors',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('since_id', sa.String(length=64), nullable=True),
    sa.Column('polled_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_interaction_cursors_account_id_accounts')),
    sa.PrimaryKeyConstraint('account_id', name=op.f('pk_interaction_cursors'))
    )
    op.create_table('interaction_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=12), nullable=False),
    sa.Column('external_key', sa.String(length=200), nullable=True),
    sa.Column('thread_ref', sa.String(length=64), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('public_text', sa.Text(), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('warn_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('forwarded_from_id', sa.Integer(), nullable=True),
    sa.Column('forward_note', sa.Text(), nullable=True),
    sa.Column('auto_answered', sa.Boolean(), nullable=False),
    sa.Column('qa_entry_id', sa.Integer(), nullable=True),
    sa.Column('answer_text', sa.Text(), nullable=True),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.Column('answer_unit_id', sa.Integer(), nullable=True),
    sa.Column('delivered_via', sa.String(length=16), nullable=True),
    sa.Column('close_reason', sa.String(length=16), nullable=True),
    sa.Column('close_note', sa.Text(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('warned_at', sa.DateTime(), nullable=True),
    sa.Column('escalated_at', sa.DateTime(), nullable=True),
    sa.Column('contact_erased_at', sa.DateTime(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_interaction_messages_account_id_accounts')),
    sa.ForeignKeyConstraint(['answer_unit_id'], ['units.id'], name=op.f('fk_interaction_messages_answer_unit_id_units')),
    sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], name=op.f('fk_interaction_messages_assignee_id_users')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_interaction_messages_created_by_id_users')),
    sa.ForeignKeyConstraint(['forwarded_from_id'], ['units.id'], name=op.f('fk_interaction_messages_forwarded_from_id_units')),
    sa.ForeignKeyConstraint(['qa_entry_id'], ['interaction_qa.id'], name=op.f('fk_interaction_messages_qa_entry_id_interaction_qa')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_interaction_messages_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_interaction_messages')),
    sa.UniqueConstraint('external_key', name=op.f('uq_interaction_messages_external_key'))
    )
    with op.batch_alter_table('interaction_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_interaction_messages_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_interaction_messages_answered_at'), ['answered_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_interaction_messages_closed_at'), ['closed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_interaction_messages_received_at'), ['received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_interaction_messages_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_interaction_messages_unit_id'), ['unit_id'], unique=False)

    op.create_table('interaction_answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('revision_hash', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('steps', sa.Integer(), nullable=False),
    sa.Column('editor_ids', sa.JSON(), nullable=False),
    sa.Column('findings', sa.JSON(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('reject_reason', sa.Text(), nullable=True),
    sa.Column('approved_at', sa.DateTime(), nullable=True),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('platform_ref', sa.String(length=100), nullable=True),
    sa.Column('send_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_interaction_answers_author_id_users')),
    sa.ForeignKeyConstraint(['message_id'], ['interaction_messages.id'], name=op.f('fk_interaction_answers_message_id_interaction_messages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_interaction_answers'))
    )
    with op.batch_alter_table('interaction_answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_interaction_answers_message_id'), ['message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_interaction_answers_status'), ['status'], unique=False)

    op.create_table('interaction_contacts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('field', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('key_version', sa.Integer(), nullable=False),
    sa.Column('wrapped_key', sa.LargeBinary(), nullable=False),
    sa.Column('ciphertext', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['interaction_messages.id'], name=op.f('fk_interaction_contacts_message_id_interaction_messages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_interaction_contacts'))
    )
    with op.batch_alter_table('interaction_contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_interaction_contacts_message_id'), ['message_id'], unique=False)

    op.create_table('interaction_answer_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('answer_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('reviewer_id', sa.Integer(), nullable=False),
    sa.Column('decision', sa.String(length=10), nullable=False),
    sa.Column('revision_hash', sa.String(length=64), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['answer_id'], ['interaction_answers.id'], name=op.f('fk_interaction_answer_decisions_answer_id_interaction_answers')),
    sa.ForeignKeyConstraint(['reviewer_id'], ['users.id'], name=op.f('fk_interaction_answer_decisions_reviewer_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_interaction_answer_decisions'))
    )
    with op.batch_alter_table('interaction_answer_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_interaction_answer_decisions_answer_id'), ['answer_id'], unique=False)

    with op.batch_alter_table('monitor_alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message_id', sa.Integer(), nullable=True))
        batch_op.alter_column('account_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.create_index(batch_op.f('ix_monitor_alerts_message_id'), ['message_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('monitor_alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_monitor_alerts_message_id'))
        batch_op.alter_column('account_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('message_id')

    with op.batch_alter_table('interaction_answer_decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_interaction_answer_decisions_answer_id'))

    op.drop_table('interaction_answer_decisions')
    with op.batch_alter_table('interaction_contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_interaction_contacts_message_id'))

    op.drop_table('interaction_contacts')
    with op.batch_alter_table('interaction_answers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_interaction_answers_status'))
        batch_op.drop_index(batch_op.f('ix_interaction_answers_message_id'))

    op.drop_table('interaction_answers')
    with op.batch_alter_table('interaction_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_interaction_messages_unit_id'))
        batch_op.drop_index(batch_op.f('ix_interaction_messages_status'))
        batch_op.drop_index(batch_op.f('ix_interaction_messages_received_at'))
        batch_op.drop_index(batch_op.f('ix_interaction_messages_closed_at'))
        batch_op.drop_index(batch_op.f('ix_interaction_messages_answered_at'))
        batch_op.drop_index(batch_op.f('ix_interaction_messages_account_id'))

    op.drop_table('interaction_messages')
    op.drop_table('interaction_cursors')
    with op.batch_alter_table('interaction_qa', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_interaction_qa_unit_id'))
        batch_op.drop_index(batch_op.f('ix_interaction_qa_status'))

    op.drop_table('interaction_qa')
