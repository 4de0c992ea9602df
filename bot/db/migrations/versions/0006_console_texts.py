"""console texts: staff overrides of domain responses, their revisions, a version row

Revision ID: 0006_console_texts
Revises: 0005_staff_console
Create Date: 2026-12-04 18:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006_console_texts'
down_revision = '0005_staff_console'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('response_overrides',
                    sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('response', sa.String(120), nullable=False),
                    sa.Column('variation', sa.Integer(), nullable=False),
                    sa.Column('channel', sa.String(16), nullable=False, server_default=''),
                    sa.Column('text', sa.Text(), nullable=False),
                    sa.Column('buttons', sa.JSON(), nullable=True),
                    sa.Column('updated_at', sa.DateTime(), nullable=False),
                    sa.Column('updated_by', sa.String(64), nullable=False),
                    sa.UniqueConstraint('response', 'variation', 'channel', name='uq_response_overrides_key'))
    op.create_index('ix_response_overrides_response', 'response_overrides', ['response'])
    op.create_table('response_revisions',
                    sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('response', sa.String(120), nullable=False),
                    sa.Column('variation', sa.Integer(), nullable=False),
                    sa.Column('channel', sa.String(16), nullable=False, server_default=''),
                    sa.Column('action', sa.String(16), nullable=False),
                    sa.Column('text', sa.Text(), nullable=True),
                    sa.Column('buttons', sa.JSON(), nullable=True),
                    sa.Column('actor', sa.String(64), nullable=False),
                    sa.Column('at', sa.DateTime(), nullable=False))
    op.create_index('ix_response_revisions_response', 'response_revisions', ['response'])
    op.create_table('response_texts_version',
                    sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('version', sa.Integer(), nullable=False, server_default='0'),
                    sa.Column('updated_at', sa.DateTime(), nullable=False))
    op.execute("INSERT INTO response_texts_version (id, version, updated_at) VALUES (1, 0, CURRENT_TIMESTAMP)")


def downgrade() -> None:
    op.drop_table('response_texts_version')
    op.drop_table('response_revisions')
    op.drop_table('response_overrides')
