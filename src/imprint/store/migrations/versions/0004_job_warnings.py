"""Job warnings (inputs capped, cut or unlikely to work) and the time a job started running (ETA)

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

_TABLES = ('train_jobs', 'inference_jobs')


def upgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('warnings', sa.JSON(), nullable=True))
            batch_op.add_column(sa.Column('started_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('started_at')
            batch_op.drop_column('warnings')
