"""verification attempts: index by sender (per-sender lock-out budgets)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 12:20:00
"""
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('verification_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_verification_sender_time', ['sender_key', 'attempted_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('verification_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_verification_sender_time')
