"""failed console sign-ins, to throttle password guessing

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 17:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('login_failures',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.String(length=128), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_login_failures_user_id', 'login_failures', ['user_id'])


def downgrade() -> None:
    op.drop_index('ix_login_failures_user_id', 'login_failures')
    op.drop_table('login_failures')
