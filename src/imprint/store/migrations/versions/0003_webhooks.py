"""Webhooks: endpoints, callback secrets, the delivery outbox; callbackUrl on jobs

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('webhook_endpoints',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('account_id', sa.String(length=32), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('events', sa.JSON(), nullable=False),
    sa.Column('secret', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_webhook_endpoints_account_id', 'webhook_endpoints', ['account_id'])
    op.create_table('webhook_callback_secrets',
    sa.Column('account_id', sa.String(length=32), nullable=False),
    sa.Column('secret', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
    sa.PrimaryKeyConstraint('account_id')
    )
    op.create_table('webhook_deliveries',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('message_id', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.String(length=32), nullable=False),
    sa.Column('endpoint_id', sa.String(length=40), nullable=True),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('event', sa.String(length=40), nullable=False),
    sa.Column('job_kind', sa.String(length=16), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('claimed_until', sa.DateTime(), nullable=True),
    sa.Column('last_attempt_at', sa.DateTime(), nullable=True),
    sa.Column('last_status', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('delivered_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('message_id')
    )
    op.create_index('ix_webhook_deliveries_due', 'webhook_deliveries', ['state', 'next_attempt_at'])
    op.create_index('ix_webhook_deliveries_account', 'webhook_deliveries', ['account_id', 'id'])
    for table in ('train_jobs', 'inference_jobs'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('callback_url', sa.Text(), nullable=True))


def downgrade() -> None:
    for table in ('inference_jobs', 'train_jobs'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('callback_url')
    op.drop_table('webhook_deliveries')
    op.drop_table('webhook_callback_secrets')
    op.drop_index('ix_webhook_endpoints_account_id', 'webhook_endpoints')
    op.drop_table('webhook_endpoints')
