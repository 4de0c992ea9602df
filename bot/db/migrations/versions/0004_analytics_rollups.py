"""analytics rollups, conversation review (tags, flags), handoff times, date indexes

Revision ID: 0004_analytics_rollups
Revises: 0003
Create Date: 2026-12-02 10:00:00

* daily rollups of Rasa's ``events`` (traffic per channel, intents, unanswered questions) and
  per-conversation summaries, filled by ``bot.analytics.rollup`` (state row ``events``);
* tags and review flags of conversations;
* ``handoff_requests.taken_at`` / ``closed_at`` (waiting time = taken_at - created_at);
* indexes on the date columns analytics groups by;
* ``ix_events_timestamp`` on Rasa's ``events`` when that table exists already (otherwise the
  rollup job creates it the first time it runs).

Only ADD COLUMN on existing tables (no SQLite batch copy of a table with foreign keys).
"""
from alembic import op
import sqlalchemy as sa


revision = '0004_analytics_rollups'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('analytics_state',
                    sa.Column('name', sa.String(40), primary_key=True),
                    sa.Column('last_event_id', sa.BigInteger(), nullable=True),
                    sa.Column('last_run_at', sa.Float(), nullable=True),
                    sa.Column('updated_at', sa.Float(), nullable=True))
    op.create_table('analytics_daily',
                    sa.Column('day', sa.Date(), primary_key=True),
                    sa.Column('channel', sa.String(20), primary_key=True),
                    sa.Column('conversations', sa.Integer(), nullable=False),
                    sa.Column('user_messages', sa.Integer(), nullable=False),
                    sa.Column('bot_messages', sa.Integer(), nullable=False),
                    sa.Column('fallback_messages', sa.Integer(), nullable=False))
    op.create_table('analytics_daily_intents',
                    sa.Column('day', sa.Date(), primary_key=True),
                    sa.Column('channel', sa.String(20), primary_key=True),
                    sa.Column('intent', sa.String(255), primary_key=True),
                    sa.Column('messages', sa.Integer(), nullable=False))
    op.create_table('analytics_daily_unanswered',
                    sa.Column('day', sa.Date(), primary_key=True),
                    sa.Column('question_key', sa.String(200), primary_key=True),
                    sa.Column('sample', sa.Text(), nullable=False),
                    sa.Column('messages', sa.Integer(), nullable=False))
    op.create_table('analytics_conversations',
                    sa.Column('sender_id', sa.String(255), primary_key=True),
                    sa.Column('channel', sa.String(20), nullable=False),
                    sa.Column('started_at', sa.Float(), nullable=False),
                    sa.Column('last_at', sa.Float(), nullable=False),
                    sa.Column('sessions', sa.Integer(), nullable=False),
                    sa.Column('user_messages', sa.Integer(), nullable=False),
                    sa.Column('bot_messages', sa.Integer(), nullable=False),
                    sa.Column('fallback_messages', sa.Integer(), nullable=False))
    op.create_index('ix_analytics_conversations_last', 'analytics_conversations', ['last_at', 'sender_id'])
    op.create_index('ix_analytics_conversations_channel_last', 'analytics_conversations', ['channel', 'last_at'])
    op.create_table('analytics_conversation_intents',
                    sa.Column('sender_id', sa.String(255), primary_key=True),
                    sa.Column('intent', sa.String(255), primary_key=True),
                    sa.Column('messages', sa.Integer(), nullable=False))
    op.create_table('conversation_tags',
                    sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('sender_id', sa.String(255), nullable=False),
                    sa.Column('tag', sa.String(60), nullable=False),
                    sa.Column('created_by', sa.String(100), nullable=False),
                    sa.Column('created_at', sa.DateTime(), nullable=False),
                    sa.UniqueConstraint('sender_id', 'tag', name='uq_conversation_tags'))
    op.create_index('ix_conversation_tags_tag', 'conversation_tags', ['tag', 'sender_id'])
    op.create_table('conversation_flags',
                    sa.Column('sender_id', sa.String(255), primary_key=True),
                    sa.Column('reason', sa.Text(), nullable=True),
                    sa.Column('flagged_by', sa.String(100), nullable=False),
                    sa.Column('flagged_at', sa.DateTime(), nullable=False),
                    sa.Column('resolved_by', sa.String(100), nullable=True),
                    sa.Column('resolved_at', sa.DateTime(), nullable=True))
    op.add_column('handoff_requests', sa.Column('taken_at', sa.DateTime(), nullable=True))
    op.add_column('handoff_requests', sa.Column('closed_at', sa.DateTime(), nullable=True))
    op.create_index('ix_handoff_requests_created_at', 'handoff_requests', ['created_at'])
    op.create_index('ix_feedback_created_at', 'feedback', ['created_at'])
    op.create_index('ix_notification_log_created_at', 'notification_log', ['created_at'])
    op.execute("INSERT INTO analytics_state (name) VALUES ('events')")
    if sa.inspect(op.get_bind()).has_table('events'):
        op.execute("CREATE INDEX IF NOT EXISTS ix_events_timestamp ON events (timestamp)")


def downgrade() -> None:
    # ix_events_timestamp stays: the events table is Rasa's, and the index only helps.
    op.drop_index('ix_notification_log_created_at', table_name='notification_log')
    op.drop_index('ix_feedback_created_at', table_name='feedback')
    op.drop_index('ix_handoff_requests_created_at', table_name='handoff_requests')
    op.execute('ALTER TABLE handoff_requests DROP COLUMN closed_at')
    op.execute('ALTER TABLE handoff_requests DROP COLUMN taken_at')
    for table in ('conversation_flags', 'conversation_tags', 'analytics_conversation_intents',
                  'analytics_conversations', 'analytics_daily_unanswered', 'analytics_daily_intents',
                  'analytics_daily', 'analytics_state'):
        op.drop_table(table)
