"""daily rollups of handoff requests and reminder notices, and the rows they saw unsettled

Revision ID: 0008_analytics_daily_rollups
Revises: 0007_console_merge
Create Date: 2026-12-04 19:00:00

Filled by ``bot.analytics.row_rollup`` (state rows ``handoffs`` and ``reminders``), read by the
handoff and reminder reports (``bot.analytics.row_figures``). New tables only.
"""
from alembic import op
import sqlalchemy as sa


revision = '0008_analytics_daily_rollups'
down_revision = '0007_console_merge'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('analytics_daily_handoffs',
                    sa.Column('day', sa.Date(), primary_key=True),
                    sa.Column('requests', sa.Integer(), nullable=False),
                    sa.Column('taken', sa.Integer(), nullable=False),
                    sa.Column('wait_sum_us', sa.BigInteger(), nullable=False),
                    sa.Column('waits', sa.Text(), nullable=False))
    op.create_table('analytics_daily_reminders',
                    sa.Column('day', sa.Date(), primary_key=True),
                    sa.Column('kind', sa.String(40), primary_key=True),
                    sa.Column('state', sa.String(20), primary_key=True),
                    sa.Column('notices', sa.Integer(), nullable=False))
    op.create_table('analytics_unsettled',
                    sa.Column('source', sa.String(20), primary_key=True),
                    sa.Column('row_id', sa.Integer(), primary_key=True),
                    sa.Column('day', sa.Date(), nullable=False))
    op.create_index('ix_analytics_unsettled_day', 'analytics_unsettled', ['source', 'day'])
    # the reminder report counts the notices still unsettled per day from this index alone
    op.create_index('ix_notification_log_state_created', 'notification_log', ['state', 'created_at', 'id'])


def downgrade() -> None:
    op.drop_index('ix_notification_log_state_created', table_name='notification_log')
    op.drop_index('ix_analytics_unsettled_day', table_name='analytics_unsettled')
    op.drop_table('analytics_unsettled')
    op.drop_table('analytics_daily_reminders')
    op.drop_table('analytics_daily_handoffs')
