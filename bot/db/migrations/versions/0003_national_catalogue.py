"""national catalogue: origin, verification, levels, fee doubt, document groups, catalogue version

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 10:00:00

Existing procedures come from the curated file: they become origin 'curated', verified by the
provincial public-service centre on their checked_on date.

Only ADD COLUMN with constant defaults: on SQLite a batch table copy would drop ``procedures``,
and its ON DELETE CASCADE (foreign keys are on) would empty the channels and documents.
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

VERIFIER = "Trung tâm Phục vụ hành chính công tỉnh"


def upgrade() -> None:
    with op.batch_alter_table('procedures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('levels', sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column('competent_agency', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('decision', sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column('origin', sa.String(length=10), nullable=False, server_default='curated'))
        batch_op.add_column(sa.Column('verified_by', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('verified_at', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('flags', sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column('layers', sa.JSON(), nullable=True))
    op.create_index('ix_procedures_origin', 'procedures', ['origin'], unique=False)
    op.create_table('catalogue_state',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('version', sa.Integer(), nullable=False),
                    sa.Column('changed_at', sa.DateTime(), nullable=False),
                    sa.PrimaryKeyConstraint('id'))
    with op.batch_alter_table('procedure_channels', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fee_status', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('fee_doubtful', sa.Boolean(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column('note', sa.Text(), nullable=True))
    with op.batch_alter_table('procedure_documents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('group_name', sa.Text(), nullable=True))
    levels = "CAST('[\"' || level || '\"]' AS json)" if op.get_bind().dialect.name == "postgresql" \
        else "'[\"' || level || '\"]'"
    op.execute(sa.text(f"UPDATE procedures SET verified_by = :who, verified_at = checked_on, levels = {levels} "
                       "WHERE origin = 'curated'").bindparams(who=VERIFIER))


COLUMNS = {
    'procedure_documents': ('group_name',),
    'procedure_channels': ('note', 'fee_doubtful', 'fee_status'),
    'procedures': ('layers', 'flags', 'verified_at', 'verified_by', 'origin', 'decision', 'competent_agency',
                   'levels'),
}


def downgrade() -> None:
    op.drop_table('catalogue_state')
    op.drop_index('ix_procedures_origin', table_name='procedures')
    for table, columns in COLUMNS.items():
        for column in columns:
            # plain DROP COLUMN (SQLite >= 3.35): no table copy, so no cascade into the child tables
            op.execute(f'ALTER TABLE {table} DROP COLUMN {column}')
