"""accounts: second factor, session devices, token expiry and estates

Revision ID: 0010_accounts
Revises: 0009_privacy
Create Date: 2026-11-30 11:55:34.643762

"""
from datetime import timedelta

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_accounts'
down_revision = '0009_privacy'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('recovery_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_user_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['staff_user_id'], ['staff_user.id'], name=op.f('fk_recovery_code_staff_user_id_staff_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_code'))
    )
    with op.batch_alter_table('recovery_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recovery_code_staff_user_id'), ['staff_user_id'], unique=False)

    op.create_table('api_token_estate',
    sa.Column('api_token_id', sa.Integer(), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['api_token_id'], ['api_token.id'], name=op.f('fk_api_token_estate_api_token_id_api_token')),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], name=op.f('fk_api_token_estate_estate_id_estate')),
    sa.PrimaryKeyConstraint('api_token_id', 'estate_id', name=op.f('pk_api_token_estate'))
    )
    with op.batch_alter_table('api_token_estate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_token_estate_estate_id'), ['estate_id'], unique=False)

    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('last_used_at', sa.DateTime(), nullable=True))
    # Tokens made before tokens expired: 90 days from their creation, the new default.
    api_token = sa.table('api_token', sa.column('id'), sa.column('created_at'), sa.column('expires_at'))
    connection = op.get_bind()
    for token_id, created_at in connection.execute(sa.select(api_token.c.id, api_token.c.created_at)).all():
        connection.execute(
            api_token.update().where(api_token.c.id == token_id).values(expires_at=created_at + timedelta(days=90))
        )
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.alter_column('expires_at', existing_type=sa.DateTime(), nullable=False)

    with op.batch_alter_table('auth_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_used_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('device', sa.String(length=100), nullable=False, server_default=''))
    with op.batch_alter_table('auth_session', schema=None) as batch_op:
        batch_op.alter_column('device', existing_type=sa.String(length=100), server_default=None)

    with op.batch_alter_table('staff_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_secret', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('totp_enabled_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            op.f('ck_staff_user_totp_enabled_has_secret'),
            'totp_enabled_at IS NULL OR totp_secret IS NOT NULL',
        )



def downgrade():
    with op.batch_alter_table("staff_user", schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_staff_user_totp_enabled_has_secret'), type_='check')
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_enabled_at')
        batch_op.drop_column('totp_secret')

    with op.batch_alter_table('auth_session', schema=None) as batch_op:
        batch_op.drop_column('device')
        batch_op.drop_column('last_used_at')

    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_column('last_used_at')
        batch_op.drop_column('expires_at')

    with op.batch_alter_table('api_token_estate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_token_estate_estate_id'))

    op.drop_table('api_token_estate')
    with op.batch_alter_table('recovery_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recovery_code_staff_user_id'))

    op.drop_table('recovery_code')
