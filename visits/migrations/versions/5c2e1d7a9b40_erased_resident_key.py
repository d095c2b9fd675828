"""a keyed hash of an erased resident's name, so that an import does not bring it back

Revision ID: 5c2e1d7a9b40
Revises: 872d3045b582
Create Date: 2026-12-02 18:55:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5c2e1d7a9b40'
down_revision = '872d3045b582'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('resident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('erased_key', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('resident', schema=None) as batch_op:
        batch_op.drop_column('erased_key')
