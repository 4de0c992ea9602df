"""The tables analytics reads and writes.

* ``events``: Rasa's SQL tracker store table (``integrations/tracker_store.py``), created by
  Rasa, not by our migrations. It is described here on its own ``MetaData`` (never created
  by Alembic, never emptied with our models) so that Core queries can name its columns.
* The rollup tables and the review tables, on the models' metadata (migration
  ``0004_analytics_rollups``).

Indexes on ``events``: Rasa creates ``ix_events_sender_id``; analytics needs
``ix_events_timestamp`` (day ranges, the settle window). Migration 0004 creates it when the
table already exists; :func:`ensure_event_indexes` (run by every rollup) creates it when Rasa
made the table later, ``CONCURRENTLY`` on PostgreSQL so the assistant keeps writing.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.db.models import Base

logger = logging.getLogger(__name__)

rasa_metadata = sa.MetaData()

events = sa.Table(
    "events", rasa_metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sender_id", sa.String(255), nullable=False, index=True),
    sa.Column("type_name", sa.String(255), nullable=False),
    sa.Column("timestamp", sa.Float),
    sa.Column("intent_name", sa.String(255)),
    sa.Column("action_name", sa.String(255)),
    sa.Column("data", sa.Text),
)

EVENT_TIMESTAMP_INDEX = "ix_events_timestamp"

analytics_state = sa.Table(
    "analytics_state", Base.metadata,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("last_event_id", sa.BigInteger, nullable=True),
    sa.Column("last_run_at", sa.Float, nullable=True),  # epoch seconds of the last run's start
    sa.Column("updated_at", sa.Float, nullable=True),
)

analytics_daily = sa.Table(
    "analytics_daily", Base.metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("channel", sa.String(20), primary_key=True),
    sa.Column("conversations", sa.Integer, nullable=False, default=0),
    sa.Column("user_messages", sa.Integer, nullable=False, default=0),
    sa.Column("bot_messages", sa.Integer, nullable=False, default=0),
    sa.Column("fallback_messages", sa.Integer, nullable=False, default=0),
)

analytics_daily_intents = sa.Table(
    "analytics_daily_intents", Base.metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("channel", sa.String(20), primary_key=True),
    sa.Column("intent", sa.String(255), primary_key=True),
    sa.Column("messages", sa.Integer, nullable=False, default=0),
)

analytics_daily_unanswered = sa.Table(
    "analytics_daily_unanswered", Base.metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("question_key", sa.String(200), primary_key=True),
    sa.Column("sample", sa.Text, nullable=False),  # one wording of the question, masked
    sa.Column("messages", sa.Integer, nullable=False, default=0),
)

analytics_conversations = sa.Table(
    "analytics_conversations", Base.metadata,
    sa.Column("sender_id", sa.String(255), primary_key=True),
    sa.Column("channel", sa.String(20), nullable=False),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("last_at", sa.Float, nullable=False),
    sa.Column("sessions", sa.Integer, nullable=False, default=0),
    sa.Column("user_messages", sa.Integer, nullable=False, default=0),
    sa.Column("bot_messages", sa.Integer, nullable=False, default=0),
    sa.Column("fallback_messages", sa.Integer, nullable=False, default=0),
    sa.Index("ix_analytics_conversations_last", "last_at", "sender_id"),
    sa.Index("ix_analytics_conversations_channel_last", "channel", "last_at"),
)

analytics_conversation_intents = sa.Table(
    "analytics_conversation_intents", Base.metadata,
    sa.Column("sender_id", sa.String(255), primary_key=True),
    sa.Column("intent", sa.String(255), primary_key=True),
    sa.Column("messages", sa.Integer, nullable=False, default=0),
)

conversation_tags = sa.Table(
    "conversation_tags", Base.metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sender_id", sa.String(255), nullable=False),
    sa.Column("tag", sa.String(60), nullable=False),
    sa.Column("created_by", sa.String(100), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("sender_id", "tag", name="uq_conversation_tags"),
    sa.Index("ix_conversation_tags_tag", "tag", "sender_id"),
)

conversation_flags = sa.Table(
    "conversation_flags", Base.metadata,
    sa.Column("sender_id", sa.String(255), primary_key=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("flagged_by", sa.String(100), nullable=False),
    sa.Column("flagged_at", sa.DateTime, nullable=False),
    sa.Column("resolved_by", sa.String(100), nullable=True),
    sa.Column("resolved_at", sa.DateTime, nullable=True),
)

#: Settled handoff requests (closed: never change again) per local day of ``created_at`` (migration 0008).
#: ``waits``: the waiting times of the day, "deciseconds:count" pairs (the report rounds to 0.1 s).
analytics_daily_handoffs = sa.Table(
    "analytics_daily_handoffs", Base.metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("requests", sa.Integer, nullable=False, default=0),
    sa.Column("taken", sa.Integer, nullable=False, default=0),
    sa.Column("wait_sum_us", sa.BigInteger, nullable=False, default=0),
    sa.Column("waits", sa.Text, nullable=False, default=""),
)

#: Settled reminder notices (a final state) per local day of ``created_at``, kind and state (migration 0008).
analytics_daily_reminders = sa.Table(
    "analytics_daily_reminders", Base.metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("kind", sa.String(40), primary_key=True),
    sa.Column("state", sa.String(20), primary_key=True),
    sa.Column("notices", sa.Integer, nullable=False, default=0),
)

#: Rows a rollup saw still changing (open requests, notices not in a final state): reports read them live.
analytics_unsettled = sa.Table(
    "analytics_unsettled", Base.metadata,
    sa.Column("source", sa.String(20), primary_key=True),
    sa.Column("row_id", sa.Integer, primary_key=True),
    sa.Column("day", sa.Date, nullable=False),
    sa.Index("ix_analytics_unsettled_day", "source", "day"),
)

ROLLUP_TABLES = (analytics_daily, analytics_daily_intents, analytics_daily_unanswered,
                 analytics_conversations, analytics_conversation_intents, analytics_daily_handoffs,
                 analytics_daily_reminders, analytics_unsettled)

#: SQL of the channel of a conversation id (the prefix the server sets, see bot.conversations.identity).
CHANNEL_SQL = ("CASE WHEN {col} LIKE 'telegram:group:%' THEN 'telegram_group' "
               "WHEN {col} LIKE 'telegram:%' THEN 'telegram' WHEN {col} LIKE 'zalo:%' THEN 'zalo' "
               "WHEN {col} LIKE 'rest:%' THEN 'rest' WHEN {col} LIKE 'web:%' THEN 'web' ELSE 'other' END")
CHANNEL_LABELS = ("telegram", "telegram_group", "zalo", "rest", "web", "other")


def channel_of(sender_id: str) -> str:
    """The channel label of a conversation id (same rule as :data:`CHANNEL_SQL`)."""
    if sender_id.startswith("telegram:group:"):
        return "telegram_group"
    prefix = sender_id.partition(":")[0]
    return prefix if prefix in {"telegram", "zalo", "rest", "web"} and ":" in sender_id else "other"


def has_events(bind: sa.engine.Connection) -> bool:
    """True when Rasa's ``events`` table exists in this database."""
    return sa.inspect(bind).has_table("events")


def ensure_event_indexes(engine: Engine) -> bool:
    """Create ``ix_events_timestamp`` if missing (idempotent); returns whether ``events`` exists."""
    with engine.connect() as conn:
        if not has_events(conn):
            return False
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {EVENT_TIMESTAMP_INDEX} "
                                 "ON events (timestamp)"))
    else:
        with engine.begin() as conn:
            conn.execute(sa.text(f"CREATE INDEX IF NOT EXISTS {EVENT_TIMESTAMP_INDEX} ON events (timestamp)"))
    return True
