"""payments record their channel (how the money came)

Revision ID: 0016_payment_channel
Revises: 0015_satisfaction
Create Date: 2026-11-30 13:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016_payment_channel'
down_revision = '0015_satisfaction'
branch_labels = None
depends_on = None

CHANNEL = sa.Enum(
    'direct', 'maintenance_fund', 'provident_fund', 'common_income', 'in_kind',
    name='channel', native_enum=False, create_constraint=True, length=20,
)


def upgrade():
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=20), nullable=True))
    # A payment recorded before this revision is taken to have come the way the household
    # pledged; a payment without a pledge (a correction, a gift) as a direct payment.
    op.execute(
        "UPDATE payment SET channel = (SELECT pledge.channel FROM pledge"
        " WHERE pledge.campaign_id = payment.campaign_id"
        " AND pledge.household_id = payment.household_id)"
    )
    op.execute("UPDATE payment SET channel = 'direct' WHERE channel IS NULL")
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.alter_column(
            'channel', existing_type=sa.String(length=20), type_=CHANNEL, nullable=False
        )


def downgrade():
    # The enum's CHECK goes first: SQLite's batch copy would otherwise keep it without its column.
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_payment_channel'), type_='check')
        batch_op.drop_column('channel')
