"""catalogue editing: procedure revisions, retraining flag

Revision ID: 0006_catalogue
Revises: 0005_staff_console
Create Date: 2026-12-04 18:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006_catalogue'
down_revision = '0005_staff_console'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('procedure_revisions',
                    sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('code', sa.String(20), nullable=False),
                    sa.Column('number', sa.Integer(), nullable=False),
                    sa.Column('at', sa.DateTime(), nullable=False),
                    sa.Column('actor', sa.String(64), nullable=False),
                    sa.Column('action', sa.String(20), nullable=False),
                    sa.Column('source', sa.Text(), nullable=True),
                    sa.Column('checked_on', sa.Date(), nullable=True),
                    sa.Column('note', sa.Text(), nullable=True),
                    sa.Column('reverted_from', sa.Integer(), nullable=True),
                    sa.Column('record', sa.JSON(), nullable=False),
                    sa.UniqueConstraint('code', 'number', name='uq_procedure_revisions_code_number'))
    op.create_index('ix_procedure_revisions_code', 'procedure_revisions', ['code'])
    op.create_table('retrain_flags',
                    sa.Column('key', sa.String(40), primary_key=True),
                    sa.Column('needed', sa.Boolean(), nullable=False, server_default=sa.false()),
                    sa.Column('reason', sa.Text(), nullable=True),
                    sa.Column('changed_at', sa.DateTime(), nullable=False),
                    sa.Column('changed_by', sa.String(64), nullable=True))


def downgrade() -> None:
    op.drop_table('retrain_flags')
    op.drop_index('ix_procedure_revisions_code', table_name='procedure_revisions')
    op.drop_table('procedure_revisions')
