"""account reset requests: the kind of a request, one pending request per identifier and kind

Revision ID: 7c2f4a91d3e5
Revises: de0800dd0e99
Create Date: 2026-12-01

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7c2f4a91d3e5'
down_revision = 'de0800dd0e99'
branch_labels = None
depends_on = None

#: a pending request (the states an agent still has to act on)
PENDING = sa.text("state IN ('submitted', 'received')")


def upgrade():
    # existing rows are enrollment requests
    op.add_column('enrollment_requests', sa.Column('kind', sa.String(length=16), server_default='enrollment', nullable=False))
    # a partial unique index on both databases: two racing submissions cannot both be pending
    op.create_index(
        'uq_enrollment_pending', 'enrollment_requests', ['space_key', 'identifier', 'kind'], unique=True,
        sqlite_where=PENDING, postgresql_where=PENDING,
    )


def downgrade():
    op.drop_index('uq_enrollment_pending', table_name='enrollment_requests')
    with op.batch_alter_table('enrollment_requests', schema=None) as batch_op:
        batch_op.drop_column('kind')
