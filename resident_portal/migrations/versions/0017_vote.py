"""ballot revisions indexed by survey and time (the overview's latest ballot per estate)

Revision ID: 0017_vote
Revises: 0016_payment_channel
Create Date: 2026-11-30 15:45:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0017_vote'
down_revision = '0016_payment_channel'
branch_labels = None
depends_on = None


def upgrade():
    # The new index starts with survey_id, so the one on survey_id alone goes: one index less
    # to write with every ballot.
    with op.batch_alter_table('ballot_revision', schema=None) as batch_op:
        batch_op.create_index(
            'ix_ballot_revision_survey_submitted', ['survey_id', 'submitted_at'], unique=False
        )
        batch_op.drop_index('ix_ballot_revision_survey_id')


def downgrade():
    with op.batch_alter_table('ballot_revision', schema=None) as batch_op:
        batch_op.create_index('ix_ballot_revision_survey_id', ['survey_id'], unique=False)
        batch_op.drop_index('ix_ballot_revision_survey_submitted')
