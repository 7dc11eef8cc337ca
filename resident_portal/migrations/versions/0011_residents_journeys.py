"""replaced letters: the code a reissue replaced, and when

Revision ID: 0011_residents_journeys
Revises: 0010_accounts
Create Date: 2026-11-30 12:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011_residents_journeys'
down_revision = '0010_accounts'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('household', schema=None) as batch_op:
        batch_op.add_column(sa.Column('replaced_code_hash', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('code_replaced_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('household', schema=None) as batch_op:
        batch_op.drop_column('code_replaced_at')
        batch_op.drop_column('replaced_code_hash')
