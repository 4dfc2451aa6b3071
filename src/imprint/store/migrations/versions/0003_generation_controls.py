"""Generation controls of an inference job (negative prompt, steps, size, scheduler...)

Revision ID: 0003
Revises: 0002

NULL means none were asked for: the engine's and the base model's defaults apply, as before.
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('inference_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('controls', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('inference_jobs', schema=None) as batch_op:
        batch_op.drop_column('controls')
