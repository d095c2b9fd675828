"""audit log, household consent, resident erasure

Revision ID: 48c664efe530
Revises: e77360119343
Create Date: 2026-11-26 09:11:36.357322

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '48c664efe530'
down_revision = 'e77360119343'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('audit_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=30), nullable=False),
    sa.Column('entity', sa.String(length=40), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=True),
    sa.Column('khu_pho_id', sa.Integer(), nullable=True),
    sa.Column('ward_id', sa.Integer(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_entry_at'), ['at'], unique=False)
        batch_op.create_index('ix_audit_entry_khu_pho_at', ['khu_pho_id', 'at'], unique=False)
        batch_op.create_index('ix_audit_entry_user_at', ['user_id', 'at'], unique=False)
        batch_op.create_index('ix_audit_entry_ward_at', ['ward_id', 'at'], unique=False)

    with op.batch_alter_table('household', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consent', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('consent_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('consent_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_household_consent_by_id_app_user', 'app_user', ['consent_by_id'], ['id'])

    with op.batch_alter_table('resident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('erased_at', sa.DateTime(), nullable=True))



def downgrade():
    with op.batch_alter_table('resident', schema=None) as batch_op:
        batch_op.drop_column('erased_at')

    with op.batch_alter_table('household', schema=None) as batch_op:
        batch_op.drop_constraint('fk_household_consent_by_id_app_user', type_='foreignkey')
        batch_op.drop_column('consent_by_id')
        batch_op.drop_column('consent_at')
        batch_op.drop_column('consent')

    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_entry_ward_at')
        batch_op.drop_index('ix_audit_entry_user_at')
        batch_op.drop_index('ix_audit_entry_khu_pho_at')
        batch_op.drop_index(batch_op.f('ix_audit_entry_at'))

    op.drop_table('audit_entry')
