"""console accounts and sessions, the draft configuration, staff intent corrections

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 14:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('accounts',
    sa.Column('user_id', sa.String(length=128), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('disabled_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('user_id')
    )
    op.create_table('console_sessions',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=128), nullable=False),
    sa.Column('csrf', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('token_hash')
    )
    op.create_index('ix_console_sessions_user_id', 'console_sessions', ['user_id'])
    op.create_table('config_draft',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('base_version', sa.Integer(), nullable=False),
    sa.Column('files', sa.JSON(), nullable=False),
    sa.Column('updated_by', sa.String(length=128), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('evaluation', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('drafts') as batch:
        batch.add_column(sa.Column('corrected_intent', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('corrected_by', sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('drafts') as batch:
        batch.drop_column('corrected_by')
        batch.drop_column('corrected_intent')
    op.drop_table('config_draft')
    op.drop_index('ix_console_sessions_user_id', 'console_sessions')
    op.drop_table('console_sessions')
    op.drop_table('accounts')
