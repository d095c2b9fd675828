"""visit: one index on (household_id, recorded_at, uuid) in place of the one on household_id

Revision ID: 3b8e5f0c2d71
Revises: 7d41c0a9e2f3
Create Date: 2026-12-03 14:30:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '3b8e5f0c2d71'
down_revision = '7d41c0a9e2f3'
branch_labels = None
depends_on = None


def upgrade():
    # Its first column serves every lookup the old index served (the foreign key, a household's visits).
    op.create_index('ix_visit_household_recorded', 'visit', ['household_id', 'recorded_at', 'uuid'], unique=False)
    op.drop_index('ix_visit_household_id', table_name='visit')


def downgrade():
    op.create_index('ix_visit_household_id', 'visit', ['household_id'], unique=False)
    op.drop_index('ix_visit_household_recorded', table_name='visit')
