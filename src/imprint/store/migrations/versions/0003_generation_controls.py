"""Generation controls of an inference job; job and image ids never reused after a delete

Revision ID: 0003
Revises: 0004

`controls` NULL means none were asked for: the engine's and the base model's defaults apply, as
before. On SQLite, an INTEGER PRIMARY KEY without AUTOINCREMENT hands the largest id out again once
its row is deleted: a deleted job's id would then name a new job (a client still polling the old one
would read someone else's), so the job and image tables are rebuilt with AUTOINCREMENT. PostgreSQL's
sequences never reuse a value.
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0004'  # after main's webhooks (0004), so a database already at 0004 gets it too
branch_labels = None
depends_on = None

_TABLES = ('train_jobs', 'inference_jobs', 'image_assets')


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == 'sqlite'
    if sqlite:
        # Rebuilding a table drops the old one, which SQLite checks as a delete of every row another
        # table references, although the copy with the same ids takes its place. The check is off for
        # the rebuild (SQLite changes it only outside a transaction: none has begun yet, as pysqlite
        # begins one at the first write); imprint.store.db.migrate then drops this connection.
        op.execute('PRAGMA foreign_keys = OFF')
    for table in _TABLES:
        if sqlite:
            with op.batch_alter_table(table, recreate='always',
                                      table_kwargs={'sqlite_autoincrement': True}) as batch_op:
                if table == 'inference_jobs':
                    batch_op.add_column(sa.Column('controls', sa.JSON(), nullable=True))
        elif table == 'inference_jobs':
            op.add_column('inference_jobs', sa.Column('controls', sa.JSON(), nullable=True))
    if sqlite:
        problems = op.get_bind().exec_driver_sql('PRAGMA foreign_key_check').all()
        if problems:
            raise RuntimeError(f"rebuilding the job tables broke references: {problems[:5]}")


def downgrade() -> None:
    with op.batch_alter_table('inference_jobs', schema=None) as batch_op:
        batch_op.drop_column('controls')
