"""personal data: messages.redacted_at and drafts.redacted_at (when a customer's deletion or the retention period
emptied their texts), indexed with created_at so the retention batches find what is left to redact

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 05:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('messages') as batch:
        batch.add_column(sa.Column('redacted_at', sa.DateTime(), nullable=True))
        batch.create_index('ix_messages_unredacted', ['redacted_at', 'created_at'], unique=False)
    with op.batch_alter_table('drafts') as batch:
        batch.add_column(sa.Column('redacted_at', sa.DateTime(), nullable=True))
        batch.create_index('ix_drafts_unredacted', ['redacted_at', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('drafts') as batch:
        batch.drop_index('ix_drafts_unredacted')
        batch.drop_column('redacted_at')
    with op.batch_alter_table('messages') as batch:
        batch.drop_index('ix_messages_unredacted')
        batch.drop_column('redacted_at')
