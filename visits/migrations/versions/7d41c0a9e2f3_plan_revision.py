"""plan.revision: bumped on every change of a plan's checklist, which processes cache by it

Revision ID: 7d41c0a9e2f3
Revises: 5c2e1d7a9b40
Create Date: 2026-12-03 11:15:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7d41c0a9e2f3'
down_revision = '5c2e1d7a9b40'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('plan', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revision', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    # Not batch mode: on SQLite it copies the table and drops the old one, which the foreign keys to plan refuse.
    # Both databases drop a column in place (SQLite since 3.35).
    op.execute('ALTER TABLE plan DROP COLUMN revision')
