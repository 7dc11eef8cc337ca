"""privacy: estate organiser and contact, privacy notice acknowledgement, correction requests

Revision ID: 0009_privacy
Revises: 0008_photo_store
Create Date: 2026-11-30 12:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_privacy'
down_revision = '0008_photo_store'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('estate', schema=None) as batch_op:
        batch_op.add_column(sa.Column('organiser', sa.String(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('contact', sa.String(length=100), nullable=False, server_default=''))
    with op.batch_alter_table('household', schema=None) as batch_op:
        batch_op.add_column(sa.Column('privacy_acknowledged_at', sa.DateTime(), nullable=True))
    op.create_table('correction_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.String(length=2000), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('handled_at', sa.DateTime(), nullable=True),
    sa.Column('handled_by_id', sa.Integer(), nullable=True),
    sa.Column('handled_note', sa.String(length=1000), nullable=True),
    sa.CheckConstraint('length(text) >= 1', name=op.f('ck_correction_request_text_not_empty')),
    sa.CheckConstraint('(handled_at IS NULL) = (handled_by_id IS NULL)', name=op.f('ck_correction_request_handled_by_someone')),
    sa.CheckConstraint('handled_at IS NULL OR length(handled_note) >= 1', name=op.f('ck_correction_request_handled_with_note')),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], name=op.f('fk_correction_request_estate_id_estate')),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_correction_request_household_id_household')),
    sa.ForeignKeyConstraint(['handled_by_id'], ['staff_user.id'], name=op.f('fk_correction_request_handled_by_id_staff_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_correction_request'))
    )
    with op.batch_alter_table('correction_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_correction_request_estate_id'), ['estate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_correction_request_household_id'), ['household_id'], unique=False)


def downgrade():
    with op.batch_alter_table('correction_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_correction_request_household_id'))
        batch_op.drop_index(batch_op.f('ix_correction_request_estate_id'))
    op.drop_table('correction_request')
    with op.batch_alter_table('household', schema=None) as batch_op:
        batch_op.drop_column('privacy_acknowledged_at')
    with op.batch_alter_table('estate', schema=None) as batch_op:
        batch_op.drop_column('contact')
        batch_op.drop_column('organiser')
