"""the append-only audit trail: role, surface, subject, the customer (redactable id, permanent key), text and its
digest, the hash chain and its head (audit_head); supervisors' teams

Existing rows are chained in id order. Opt-out events kept the customer's id and name in `detail`: the id
moves to customer_id/customer_key and the name is dropped; a dismissed inbox message moves from `detail`
to `text` (detail keeps its digest).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 05:40:00
"""
from __future__ import annotations

import hashlib
import json
from datetime import timezone
from typing import Any

from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

GENESIS = "0" * 64

audit = sa.table(
    'audit_log',
    sa.column('id', sa.Integer()), sa.column('at', sa.DateTime()), sa.column('actor', sa.String()),
    sa.column('action', sa.String()), sa.column('version', sa.Integer()), sa.column('detail', sa.JSON()),
    sa.column('role', sa.String()), sa.column('surface', sa.String()), sa.column('subject', sa.String()),
    sa.column('channel', sa.String()), sa.column('customer_id', sa.String()), sa.column('customer_key', sa.String()),
    sa.column('text', sa.Text()), sa.column('text_sha256', sa.String()), sa.column('prev_hash', sa.String()),
    sa.column('hash', sa.String()),
)
drafts = sa.table('drafts', sa.column('id', sa.Integer()), sa.column('channel', sa.String()),
                  sa.column('customer_id', sa.String()))
head = sa.table('audit_head', sa.column('id', sa.Integer()), sa.column('last_id', sa.Integer()),
                sa.column('last_hash', sa.String()))


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _hash(row: dict[str, Any]) -> str:
    """The same canonical form as bot.services.audit.event_hash (copied: a migration must not change with the code)."""
    at = row['at'] if row['at'].tzinfo else row['at'].replace(tzinfo=timezone.utc)
    body = {key: row[key] for key in ('id', 'actor', 'role', 'surface', 'action', 'subject', 'version', 'detail',
                                      'channel', 'customer_key', 'text_sha256', 'prev_hash')}
    body['at'] = at.astimezone(timezone.utc).isoformat(timespec='microseconds')
    body['detail'] = body['detail'] or {}
    return _sha(json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(',', ':')))


def _moved(connection: sa.Connection, row: dict[str, Any]) -> dict[str, Any]:
    """The row with customer ids and words taken out of `detail`."""
    detail = dict(row['detail'] or {})
    values: dict[str, Any] = {'detail': detail, 'channel': None, 'customer_id': None, 'customer_key': None,
                              'text': None, 'text_sha256': None, 'subject': '', 'role': '', 'surface': ''}
    if row['action'] in ('opt_out', 'opt_out_lifted') and detail.get('channel') and detail.get('customer_id'):
        channel, customer = str(detail.pop('channel')), str(detail.pop('customer_id'))
        detail.pop('customer_name', None)
        detail['what'] = '解除退订' if row['action'] == 'opt_out_lifted' else '记录退订'
        values.update(channel=channel, customer_id=customer, customer_key=_sha(f'{channel}:{customer}'), subject='customer')
    elif row['action'] == 'inbox_dismiss' and detail.get('key'):
        key = str(detail.pop('key'))
        detail.pop('what', None)
        detail['key_sha256'] = _sha(key)
        values.update(text=key, text_sha256=_sha(key))
        if detail.get('draft_id') is not None:
            values['subject'] = f"draft:{detail['draft_id']}"
            owner = connection.execute(sa.select(drafts.c.channel, drafts.c.customer_id)
                                       .where(drafts.c.id == detail['draft_id'])).first()
            if owner is not None:
                values.update(channel=owner.channel, customer_id=owner.customer_id,
                              customer_key=_sha(f'{owner.channel}:{owner.customer_id}'))
    elif row['version'] is not None:
        values['subject'] = f"config:v{row['version']}"
    return values


def upgrade() -> None:
    with op.batch_alter_table('audit_log') as batch:
        batch.add_column(sa.Column('role', sa.String(length=16), nullable=False, server_default=''))
        batch.add_column(sa.Column('surface', sa.String(length=16), nullable=False, server_default=''))
        batch.add_column(sa.Column('subject', sa.String(length=64), nullable=False, server_default=''))
        batch.add_column(sa.Column('channel', sa.String(length=16), nullable=True))
        batch.add_column(sa.Column('customer_id', sa.String(length=128), nullable=True))
        batch.add_column(sa.Column('customer_key', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('text', sa.Text(), nullable=True))
        batch.add_column(sa.Column('text_sha256', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('redacted_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=False, server_default=''))
        batch.add_column(sa.Column('hash', sa.String(length=64), nullable=True))
    op.create_table('audit_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('last_id', sa.Integer(), nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('teams',
    sa.Column('supervisor', sa.String(length=128), nullable=False),
    sa.Column('staff_id', sa.String(length=128), nullable=False),
    sa.PrimaryKeyConstraint('supervisor', 'staff_id')
    )

    connection = op.get_bind()
    previous, last_id = GENESIS, 0
    rows = connection.execute(sa.select(audit.c.id, audit.c.at, audit.c.actor, audit.c.action, audit.c.version,
                                        audit.c.detail).order_by(audit.c.id)).mappings().all()
    for original in rows:
        row = {**original, **_moved(connection, dict(original)), 'prev_hash': previous}
        row['hash'] = _hash(row)
        connection.execute(audit.update().where(audit.c.id == row['id']).values(
            {key: row[key] for key in ('detail', 'role', 'surface', 'subject', 'channel', 'customer_id', 'customer_key',
                                       'text', 'text_sha256', 'prev_hash', 'hash')}))
        previous, last_id = row['hash'], row['id']
    connection.execute(head.insert().values(id=1, last_id=last_id, last_hash=previous))

    with op.batch_alter_table('audit_log') as batch:
        batch.alter_column('hash', existing_type=sa.String(length=64), nullable=False)
        batch.create_unique_constraint('uq_audit_log_hash', ['hash'])
        batch.create_index('ix_audit_log_customer_key', ['customer_key'], unique=False)
        batch.create_index('ix_audit_log_actor', ['actor'], unique=False)
        batch.create_index('ix_audit_log_action', ['action'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('audit_log') as batch:
        batch.drop_index('ix_audit_log_action')
        batch.drop_index('ix_audit_log_actor')
        batch.drop_index('ix_audit_log_customer_key')
        batch.drop_constraint('uq_audit_log_hash', type_='unique')
        for column in ('hash', 'prev_hash', 'redacted_at', 'text_sha256', 'text', 'customer_key', 'customer_id',
                       'channel', 'subject', 'surface', 'role'):
            batch.drop_column(column)
    op.drop_table('teams')
    op.drop_table('audit_head')
