"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 11:49:23.510335
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.String(length=128), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.Column('last_used_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_table('jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('run_after', sa.DateTime(), nullable=False),
    sa.Column('lease_until', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index('ix_jobs_due', ['status', 'run_after'], unique=False)

    op.create_table('kf_cursors',
    sa.Column('open_kfid', sa.String(length=128), nullable=False),
    sa.Column('cursor', sa.String(length=255), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('open_kfid')
    )
    op.create_table('messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('msg_id', sa.String(length=128), nullable=False),
    sa.Column('direction', sa.String(length=3), nullable=False),
    sa.Column('customer_id', sa.String(length=128), nullable=False),
    sa.Column('customer_name', sa.String(length=128), nullable=False),
    sa.Column('open_kfid', sa.String(length=128), nullable=True),
    sa.Column('staff_id', sa.String(length=128), nullable=True),
    sa.Column('msg_type', sa.String(length=32), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('draft_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('channel', 'msg_id', name='uq_messages_channel_msg_id')
    )
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index('ix_messages_customer', ['channel', 'customer_id', 'created_at'], unique=False)

    op.create_table('opt_outs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('customer_id', sa.String(length=128), nullable=False),
    sa.Column('opted_out', sa.Boolean(), nullable=False),
    sa.Column('recorded_by', sa.String(length=128), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('opt_outs', schema=None) as batch_op:
        batch_op.create_index('ix_opt_outs_customer', ['channel', 'customer_id', 'id'], unique=False)

    op.create_table('drafts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('customer_id', sa.String(length=128), nullable=False),
    sa.Column('customer_name', sa.String(length=128), nullable=False),
    sa.Column('open_kfid', sa.String(length=128), nullable=True),
    sa.Column('assignee', sa.String(length=128), nullable=True),
    sa.Column('message_text', sa.Text(), nullable=False),
    sa.Column('intent', sa.String(length=64), nullable=True),
    sa.Column('confidence', sa.Float(), nullable=True),
    sa.Column('runners_up', sa.JSON(), nullable=False),
    sa.Column('persona', sa.String(length=64), nullable=False),
    sa.Column('template', sa.String(length=255), nullable=True),
    sa.Column('variation', sa.String(length=16), nullable=True),
    sa.Column('original_text', sa.Text(), nullable=False),
    sa.Column('final_text', sa.Text(), nullable=True),
    sa.Column('marketing', sa.Boolean(), nullable=False),
    sa.Column('solicited', sa.Boolean(), nullable=False),
    sa.Column('urgent', sa.Boolean(), nullable=False),
    sa.Column('escalated_at', sa.DateTime(), nullable=True),
    sa.Column('superseded_by', sa.Integer(), nullable=True),
    sa.Column('entities', sa.JSON(), nullable=False),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.Column('manual_reason', sa.Text(), nullable=True),
    sa.Column('approved_by', sa.String(length=128), nullable=True),
    sa.Column('approved_at', sa.DateTime(), nullable=True),
    sa.Column('rejected_by', sa.String(length=128), nullable=True),
    sa.Column('reject_reason', sa.Text(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('send_attempts', sa.Integer(), nullable=False),
    sa.Column('send_errcode', sa.Integer(), nullable=True),
    sa.Column('send_errmsg', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('message_id')
    )
    with op.batch_alter_table('drafts', schema=None) as batch_op:
        batch_op.create_index('ix_drafts_status', ['status', 'created_at'], unique=False)

    op.create_table('cards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('draft_id', sa.Integer(), nullable=False),
    sa.Column('userid', sa.String(length=128), nullable=False),
    sa.Column('task_id', sa.String(length=128), nullable=False),
    sa.Column('response_code', sa.String(length=255), nullable=True),
    sa.Column('outcome', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['draft_id'], ['drafts.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('task_id')
    )
    with op.batch_alter_table('cards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cards_draft_id'), ['draft_id'], unique=False)

    op.create_table('edit_requests',
    sa.Column('userid', sa.String(length=128), nullable=False),
    sa.Column('draft_id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['draft_id'], ['drafts.id'], ),
    sa.PrimaryKeyConstraint('userid')
    )


def downgrade() -> None:
    op.drop_table('edit_requests')
    with op.batch_alter_table('cards', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cards_draft_id'))

    op.drop_table('cards')
    with op.batch_alter_table('drafts', schema=None) as batch_op:
        batch_op.drop_index('ix_drafts_status')

    op.drop_table('drafts')
    with op.batch_alter_table('opt_outs', schema=None) as batch_op:
        batch_op.drop_index('ix_opt_outs_customer')

    op.drop_table('opt_outs')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_customer')

    op.drop_table('messages')
    op.drop_table('kf_cursors')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_due')

    op.drop_table('jobs')
    op.drop_table('api_tokens')
