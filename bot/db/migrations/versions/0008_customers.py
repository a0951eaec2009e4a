"""customers: who a customer is, as WeCom said when last asked (nickname, a staff member's remark, tags)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 19:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('customers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('customer_id', sa.String(length=128), nullable=False),
    sa.Column('staff_id', sa.String(length=128), nullable=True),
    sa.Column('nickname', sa.String(length=128), nullable=False),
    sa.Column('remark', sa.String(length=128), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('fetched_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_customers_who', 'customers', ['channel', 'customer_id', 'staff_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_customers_who', table_name='customers')
    op.drop_table('customers')
