"""handoff desk: the agent of a ticket, agents' messages

Revision ID: 0006_handoff_desk
Revises: 0005_staff_console
Create Date: 2026-12-04 18:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006_handoff_desk'
down_revision = '0005_staff_console'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('handoff_requests') as batch:
        batch.add_column(sa.Column('agent', sa.String(64), nullable=True))
    op.create_index('ix_handoff_requests_status', 'handoff_requests', ['status'])
    op.create_table('handoff_messages',
                    sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('ticket_id', sa.Integer(),
                              sa.ForeignKey('handoff_requests.id', ondelete='CASCADE'), nullable=False),
                    sa.Column('conversation_id', sa.String(140), nullable=False),
                    sa.Column('agent', sa.String(64), nullable=False),
                    sa.Column('text', sa.Text(), nullable=False),
                    sa.Column('created_at', sa.DateTime(), nullable=False),
                    sa.Column('delivered_at', sa.DateTime(), nullable=True))
    op.create_index('ix_handoff_messages_ticket_id', 'handoff_messages', ['ticket_id'])
    op.create_index('ix_handoff_messages_conversation_id', 'handoff_messages', ['conversation_id'])
    op.create_index('ix_handoff_messages_created_at', 'handoff_messages', ['created_at'])


def downgrade() -> None:
    op.drop_table('handoff_messages')
    op.drop_index('ix_handoff_requests_status', table_name='handoff_requests')
    with op.batch_alter_table('handoff_requests') as batch:
        batch.drop_column('agent')
