"""initial schema

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('accounts',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('train_jobs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('account_id', sa.String(length=32), nullable=False),
    sa.Column('created_by', sa.String(length=32), nullable=True),
    sa.Column('model_id', sa.String(length=128), nullable=False),
    sa.Column('origin', sa.String(length=8), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('object_type', sa.String(length=64), nullable=False),
    sa.Column('image_urls', sa.JSON(), nullable=False),
    sa.Column('train_steps', sa.Integer(), nullable=False),
    sa.Column('seed', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('progress', sa.Float(), nullable=False),
    sa.Column('failure_reason', sa.Text(), nullable=True),
    sa.Column('adapter_key', sa.String(length=256), nullable=True),
    sa.Column('adapter_sha256', sa.String(length=64), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('model_id')
    )
    with op.batch_alter_table('train_jobs', schema=None) as batch_op:
        batch_op.create_index('ix_train_jobs_account_origin', ['account_id', 'origin', 'id'], unique=False)
        batch_op.create_index('ix_train_jobs_status', ['status'], unique=False)

    op.create_table('access_keys',
    sa.Column('access_key_id', sa.String(length=64), nullable=False),
    sa.Column('secret', sa.String(length=128), nullable=False),
    sa.Column('account_id', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.String(length=32), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
    sa.PrimaryKeyConstraint('access_key_id')
    )
    with op.batch_alter_table('access_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_keys_account_id'), ['account_id'], unique=False)

    op.create_table('inference_jobs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('account_id', sa.String(length=32), nullable=False),
    sa.Column('created_by', sa.String(length=32), nullable=True),
    sa.Column('train_job_id', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.String(length=128), nullable=False),
    sa.Column('prompt_id', sa.String(length=64), nullable=False),
    sa.Column('generation', sa.String(length=8), nullable=False),
    sa.Column('prompt', sa.Text(), nullable=False),
    sa.Column('image_number', sa.Integer(), nullable=False),
    sa.Column('seed', sa.Integer(), nullable=False),
    sa.Column('strength', sa.Float(), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('progress', sa.Float(), nullable=False),
    sa.Column('failure_reason', sa.Text(), nullable=True),
    sa.Column('result_image_ids', sa.JSON(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['train_job_id'], ['train_jobs.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('prompt_id')
    )
    with op.batch_alter_table('inference_jobs', schema=None) as batch_op:
        batch_op.create_index('ix_inference_jobs_account', ['account_id', 'train_job_id'], unique=False)
        batch_op.create_index('ix_inference_jobs_status', ['status'], unique=False)

    op.create_table('image_assets',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('account_id', sa.String(length=32), nullable=False),
    sa.Column('inference_job_id', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.String(length=128), nullable=False),
    sa.Column('prompt_id', sa.String(length=64), nullable=False),
    sa.Column('image_id', sa.String(length=128), nullable=False),
    sa.Column('blob_key', sa.String(length=256), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['inference_job_id'], ['inference_jobs.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('image_assets', schema=None) as batch_op:
        batch_op.create_index('ix_image_assets_account_image', ['account_id', 'image_id'], unique=False)
        batch_op.create_index('ux_image_assets_prompt_image', ['prompt_id', 'image_id'], unique=True)



def downgrade() -> None:
    with op.batch_alter_table('image_assets', schema=None) as batch_op:
        batch_op.drop_index('ux_image_assets_prompt_image')
        batch_op.drop_index('ix_image_assets_account_image')

    op.drop_table('image_assets')
    with op.batch_alter_table('inference_jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_inference_jobs_status')
        batch_op.drop_index('ix_inference_jobs_account')

    op.drop_table('inference_jobs')
    with op.batch_alter_table('access_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_keys_account_id'))

    op.drop_table('access_keys')
    with op.batch_alter_table('train_jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_train_jobs_status')
        batch_op.drop_index('ix_train_jobs_account_origin')

    op.drop_table('train_jobs')
    op.drop_table('accounts')
