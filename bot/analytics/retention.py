"""Retention of the analytics tables that hold personal data (with the daily prune, ``RETENTION_CONVERSATION_DAYS``).

Deleted with the conversation events they were computed from: per-conversation summaries,
their intents, tags and review flags (they name the conversation), and unanswered-question
wordings (masked, but typed by citizens). The anonymous daily counts are kept.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Dict, Optional

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.analytics.periods import local_day, zone_of
from bot.analytics.schema import (
    analytics_conversation_intents,
    analytics_conversations,
    analytics_daily_unanswered,
    conversation_flags,
    conversation_tags,
)
from bot.db.models import utcnow

logger = logging.getLogger(__name__)


def prune_analytics(session: Session, settings: Any, now: Optional[dt.datetime] = None) -> Dict[str, int]:
    """Delete analytics rows about conversations older than their retention; returns counts per table."""
    now = now or utcnow()
    cutoff = (now - dt.timedelta(days=settings.retention_conversation_days)).replace(tzinfo=dt.timezone.utc)
    epoch = cutoff.timestamp()
    c = analytics_conversations.c
    old = sa.select(c.sender_id).where(c.last_at < epoch).scalar_subquery()
    removed = {}
    for table in (analytics_conversation_intents, conversation_tags, conversation_flags):
        removed[table.name] = session.execute(table.delete().where(table.c.sender_id.in_(old))).rowcount
    removed["analytics_conversations"] = session.execute(analytics_conversations.delete()
                                                         .where(c.last_at < epoch)).rowcount
    first_kept = local_day(epoch, zone_of(getattr(settings, "timezone", None)))
    removed["analytics_daily_unanswered"] = session.execute(
        analytics_daily_unanswered.delete().where(analytics_daily_unanswered.c.day < first_kept)).rowcount
    logger.info("analytics retention prune: %s", removed)
    return removed
