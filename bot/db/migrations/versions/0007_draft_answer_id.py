"""drafts.answer_id: the brand answer (intents/<intent>.yml `answers:`) a draft says, so staff see where a fact came from

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-04 18:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('drafts') as batch:
        batch.add_column(sa.Column('answer_id', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('drafts') as batch:
        batch.drop_column('answer_id')
