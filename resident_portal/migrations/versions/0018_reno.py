"""renovation: dated records of funds received and investment completed, for the bulletin of
an earlier month

Revision ID: 0018_reno
Revises: 0017_vote
Create Date: 2026-11-30 15:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018_reno'
down_revision = '0017_vote'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('renovation_received',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.Enum('central', 'provincial', 'local', 'residents', 'maintenance_fund', 'estate_income', 'utilities', 'enterprises', 'loans', 'other', name='renovation_funding_source', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.Column('received_fen', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("source <> 'residents'", name=op.f('ck_renovation_received_not_residents')),
    sa.CheckConstraint('received_fen >= 0', name=op.f('ck_renovation_received_received_not_negative')),
    sa.ForeignKeyConstraint(['project_id'], ['renovation_project.id'], name=op.f('fk_renovation_received_project_id_renovation_project')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_renovation_received'))
    )
    with op.batch_alter_table('renovation_received', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_renovation_received_project_id'), ['project_id'], unique=False)

    op.create_table('renovation_investment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.Column('invested_fen', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('invested_fen >= 0', name=op.f('ck_renovation_investment_invested_not_negative')),
    sa.ForeignKeyConstraint(['project_id'], ['renovation_project.id'], name=op.f('fk_renovation_investment_project_id_renovation_project')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_renovation_investment'))
    )
    with op.batch_alter_table('renovation_investment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_renovation_investment_project_id'), ['project_id'], unique=False)

    # Amounts recorded before this revision have no date of their own: they count from the
    # project's last change (never earlier than they can have been typed).
    op.execute(
        "INSERT INTO renovation_received (project_id, source, recorded_at, received_fen)"
        " SELECT f.project_id, f.source, p.updated_at, f.received_fen"
        " FROM renovation_funding f JOIN renovation_project p ON p.id = f.project_id"
        " WHERE f.received_fen > 0 AND f.source <> 'residents'"
    )
    op.execute(
        "INSERT INTO renovation_investment (project_id, recorded_at, invested_fen)"
        " SELECT id, updated_at, invested_fen FROM renovation_project WHERE invested_fen > 0"
    )


def downgrade():
    with op.batch_alter_table('renovation_investment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_renovation_investment_project_id'))

    op.drop_table('renovation_investment')
    with op.batch_alter_table('renovation_received', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_renovation_received_project_id'))

    op.drop_table('renovation_received')
