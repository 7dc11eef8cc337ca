"""photos in the database: the bytes of report photos and paper-ballot evidence, for servers
that share one PostgreSQL database (photos.DatabasePhotoStore)

Revision ID: 0008_photo_store
Revises: 0007
Create Date: 2026-11-30 12:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_photo_store'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('stored_photo',
    sa.Column('photo_key', sa.String(length=64), nullable=False),
    sa.Column('jpeg', sa.LargeBinary(), nullable=False),
    sa.Column('thumbnail', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('length(photo_key) = 64', name=op.f('ck_stored_photo_key_is_sha256')),
    sa.CheckConstraint('length(jpeg) > 0 AND length(thumbnail) > 0', name=op.f('ck_stored_photo_not_empty')),
    sa.PrimaryKeyConstraint('photo_key', name=op.f('pk_stored_photo'))
    )


def downgrade():
    op.drop_table('stored_photo')
