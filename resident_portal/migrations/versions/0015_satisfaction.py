"""satisfaction surveys of renovation projects: the survey kind and the project's link

Revision ID: 0015_satisfaction
Revises: 0014_renovation
Create Date: 2026-11-30 13:15:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015_satisfaction'
down_revision = '0014_renovation'
branch_labels = None
depends_on = None

KINDS = ('consultation', 'decision', 'satisfaction')
MATTER_RULE = (
    "(kind = 'consultation' AND matter IS NULL) "
    "OR (kind = 'decision' AND matter IS NOT NULL) "
    "OR (kind = 'satisfaction' AND matter IS NULL)"
)
OLD_MATTER_RULE = (
    "(kind = 'consultation' AND matter IS NULL) OR (kind = 'decision' AND matter IS NOT NULL)"
)


def upgrade():
    with op.batch_alter_table('survey', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_survey_matter_for_decisions'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_survey_survey_kind'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_survey_survey_kind'), "kind IN ('consultation', 'decision', 'satisfaction')")
        batch_op.create_check_constraint(batch_op.f('ck_survey_matter_for_decisions'), MATTER_RULE)
    with op.batch_alter_table('renovation_project', schema=None) as batch_op:
        batch_op.add_column(sa.Column('satisfaction_survey_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_renovation_project_satisfaction_survey_id_survey'), 'survey', ['satisfaction_survey_id'], ['id'])
        batch_op.create_unique_constraint(batch_op.f('uq_renovation_project_satisfaction_survey_id'), ['satisfaction_survey_id'])


def downgrade():
    with op.batch_alter_table('renovation_project', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_renovation_project_satisfaction_survey_id'), type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_renovation_project_satisfaction_survey_id_survey'), type_='foreignkey')
        batch_op.drop_column('satisfaction_survey_id')
    with op.batch_alter_table('survey', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_survey_matter_for_decisions'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_survey_survey_kind'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_survey_survey_kind'), "kind IN ('consultation', 'decision')")
        batch_op.create_check_constraint(batch_op.f('ck_survey_matter_for_decisions'), OLD_MATTER_RULE)
