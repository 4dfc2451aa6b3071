"""Generation controls of an inference job; job and image ids never reused after a delete

Revision ID: 0005
Revises: 0004

`controls` NULL means none were asked for: the engine's and the base model's defaults apply, as
before. On SQLite, an INTEGER PRIMARY KEY without AUTOINCREMENT hands the largest id out again once
its row is deleted: a deleted job's id would then name a new job (a client still polling the old one
would read someone else's), so the job and image tables are rebuilt with AUTOINCREMENT. PostgreSQL's
sequences never reuse a value. The rebuild needs SQLite's foreign-key check off, which
imprint.store.db.migrate arranges (and then checks every reference).
"""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

_TABLES = ('train_jobs', 'inference_jobs', 'image_assets')


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == 'sqlite'
    for table in _TABLES:
        if sqlite:
            with op.batch_alter_table(table, recreate='always',
                                      table_kwargs={'sqlite_autoincrement': True}) as batch_op:
                if table == 'inference_jobs':
                    batch_op.add_column(sa.Column('controls', sa.JSON(), nullable=True))
        elif table == 'inference_jobs':
            op.add_column('inference_jobs', sa.Column('controls', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('inference_jobs', schema=None) as batch_op:
        batch_op.drop_column('controls')
