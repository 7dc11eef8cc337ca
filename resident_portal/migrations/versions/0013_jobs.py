"""background jobs: kind, owner, scope, progress, result

Revision ID: 0013_jobs
Revises: 0012_secretaries
Create Date: 2026-11-30 12:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013_jobs'
down_revision = '0012_secretaries'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('staff_user_id', sa.Integer(), nullable=True),
    sa.Column('auth_session_id', sa.Integer(), nullable=True),
    sa.Column('estate_id', sa.Integer(), nullable=True),
    sa.Column('district', sa.String(length=100), nullable=True),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('status', sa.Enum('queued', 'running', 'done', 'failed', 'cancelled', name='job_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('failure', sa.String(length=500), nullable=True),
    sa.Column('failure_params', sa.JSON(), nullable=True),
    sa.Column('result', sa.LargeBinary(), nullable=True),
    sa.Column('result_name', sa.String(length=200), nullable=True),
    sa.Column('result_type', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('expires_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint('done >= 0 AND total >= 0', name=op.f('ck_job_progress_not_negative')),
    sa.CheckConstraint('total = 0 OR done <= total', name=op.f('ck_job_done_within_total')),
    sa.CheckConstraint("(status = 'failed') = (failure IS NOT NULL)", name=op.f('ck_job_failure_reason_iff_failed')),
    sa.CheckConstraint("status = 'done' OR result IS NULL", name=op.f('ck_job_result_only_when_done')),
    sa.ForeignKeyConstraint(['auth_session_id'], ['auth_session.id'], name=op.f('fk_job_auth_session_id_auth_session')),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], name=op.f('fk_job_estate_id_estate')),
    sa.ForeignKeyConstraint(['staff_user_id'], ['staff_user.id'], name=op.f('fk_job_staff_user_id_staff_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job'))
    )
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_job_estate_id'), ['estate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_job_staff_user_id'), ['staff_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_job_status'), ['status'], unique=False)


def downgrade():
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_job_status'))
        batch_op.drop_index(batch_op.f('ix_job_staff_user_id'))
        batch_op.drop_index(batch_op.f('ix_job_estate_id'))
    op.drop_table('job')
