"""messages.from_customer: the customer's own words as WeCom delivered them (or as a trusted intake vouched)

Only such a message can make a promotional reply solicited. Messages stored before this revision
came through the same paths that drafted them as the customer's, so they keep that meaning.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 18:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('messages') as batch:
        batch.add_column(sa.Column('from_customer', sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table('messages') as batch:
        batch.drop_column('from_customer')
