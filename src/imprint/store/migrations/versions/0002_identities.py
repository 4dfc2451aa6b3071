"""RAM users, policies, attachments; temporary (STS) keys; sealed secrets

Revision ID: 0002
Revises: 0001

Secrets written by 0001 are plaintext. Sealing them needs the server key, which lives outside the
database, so it happens on start (imprint.store.sealing.seal_plaintext_secrets) rather than here.
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ram_users',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('account_id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ram_users', schema=None) as batch_op:
        batch_op.create_index('ux_ram_users_account_name', ['account_id', 'name'], unique=True)

    op.create_table('ram_policies',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('account_id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ram_policies', schema=None) as batch_op:
        batch_op.create_index('ux_ram_policies_account_name', ['account_id', 'name'], unique=True)

    op.create_table('ram_policy_attachments',
    sa.Column('user_id', sa.String(length=32), nullable=False),
    sa.Column('policy_type', sa.String(length=16), nullable=False),
    sa.Column('policy_name', sa.String(length=128), nullable=False),
    sa.Column('account_id', sa.String(length=32), nullable=False),
    sa.Column('attached_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['ram_users.id'], ),
    sa.PrimaryKeyConstraint('user_id', 'policy_type', 'policy_name')
    )

    # 0001 stamped every key with user_id = its account id; no RAM users existed, so every key is
    # an account's own key, which is now spelled user_id = NULL.
    op.execute("UPDATE access_keys SET user_id = NULL")
    with op.batch_alter_table('access_keys', schema=None) as batch_op:
        batch_op.alter_column('secret', existing_type=sa.String(length=128), type_=sa.String(length=512),
                              existing_nullable=False)
        batch_op.add_column(sa.Column('security_token', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('session_policy', sa.Text(), nullable=True))
        batch_op.create_foreign_key('fk_access_keys_user_id', 'ram_users', ['user_id'], ['id'])
        batch_op.create_index('ix_access_keys_user_id', ['user_id'], unique=False)


def downgrade() -> None:
    # Temporary keys cannot exist without their columns; account keys get their old user_id back.
    op.execute("DELETE FROM access_keys WHERE security_token IS NOT NULL OR user_id IS NOT NULL")
    with op.batch_alter_table('access_keys', schema=None) as batch_op:
        batch_op.drop_index('ix_access_keys_user_id')
        batch_op.drop_constraint('fk_access_keys_user_id', type_='foreignkey')
        batch_op.drop_column('session_policy')
        batch_op.drop_column('expires_at')
        batch_op.drop_column('security_token')
        batch_op.alter_column('secret', existing_type=sa.String(length=512), type_=sa.String(length=128),
                              existing_nullable=False)
    op.execute("UPDATE access_keys SET user_id = account_id")
    op.drop_table('ram_policy_attachments')
    with op.batch_alter_table('ram_policies', schema=None) as batch_op:
        batch_op.drop_index('ux_ram_policies_account_name')
    op.drop_table('ram_policies')
    with op.batch_alter_table('ram_users', schema=None) as batch_op:
        batch_op.drop_index('ux_ram_users_account_name')
    op.drop_table('ram_users')
