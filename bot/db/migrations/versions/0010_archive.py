"""the chat archive (会话内容存档): its seq cursor and lease, items held for a missing key, customer groups;
messages.room_id and drafts.room_id for group chats; drafts.status wide enough for answered_manually

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 05:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('archive_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('lease_holder', sa.String(length=64), nullable=False),
    sa.Column('lease_until', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_error_at', sa.DateTime(), nullable=True),
    sa.Column('pulled_at', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('archive_held',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('msgid', sa.String(length=128), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('publickey_ver', sa.Integer(), nullable=False),
    sa.Column('item', sa.JSON(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('msgid')
    )
    op.create_table('archive_rooms',
    sa.Column('room_id', sa.String(length=128), nullable=False),
    sa.Column('owner', sa.String(length=128), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('members', sa.JSON(), nullable=False),
    sa.Column('fetched_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('room_id')
    )
    with op.batch_alter_table('messages') as batch:
        batch.add_column(sa.Column('room_id', sa.String(length=128), nullable=True))
    with op.batch_alter_table('drafts') as batch:
        batch.add_column(sa.Column('room_id', sa.String(length=128), nullable=True))
        batch.alter_column('status', existing_type=sa.String(length=16), type_=sa.String(length=32), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('drafts') as batch:
        batch.alter_column('status', existing_type=sa.String(length=32), type_=sa.String(length=16), existing_nullable=False)
        batch.drop_column('room_id')
    with op.batch_alter_table('messages') as batch:
        batch.drop_column('room_id')
    op.drop_table('archive_rooms')
    op.drop_table('archive_held')
    op.drop_table('archive_state')
