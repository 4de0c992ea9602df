"""Retention of personal data: the daily prune (Decree 13/2023/ND-CP, settings ``RETENTION_*``).

Deleted once older than their retention period:

* ``verification_attempts`` (phone-ending checks; never sooner than the 24 h the
  lock-out budgets look back);
* ``feedback`` (texts and ratings);
* ``handoff_requests`` (with the conversation transcript they carry);
* Rasa's conversation ``events`` (the tracker store, when it lives in this database).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Dict, Optional

from sqlalchemy import delete, inspect, text
from sqlalchemy.orm import Session

from bot.db.models import Feedback, HandoffRequest, ProcessedMessage, RateLimitHit, VerificationAttempt, utcnow
from bot.db.models_handoff import HandoffMessage

logger = logging.getLogger(__name__)


def prune_personal_data(session: Session, settings: Any, now: Optional[dt.datetime] = None) -> Dict[str, int]:
    """Delete personal data older than the retention settings; returns counts per table."""
    now = now or utcnow()

    def cutoff(days: int, minimum: float = 0) -> dt.datetime:
        return now - dt.timedelta(days=max(days, minimum))

    removed = {
        "verification_attempts": session.execute(delete(VerificationAttempt).where(
            VerificationAttempt.attempted_at < cutoff(settings.retention_verification_days, 1))).rowcount,
        "feedback": session.execute(delete(Feedback).where(
            Feedback.created_at < cutoff(settings.retention_feedback_days))).rowcount,
        "handoff_messages": session.execute(delete(HandoffMessage).where(
            HandoffMessage.created_at < cutoff(settings.retention_handoff_days))).rowcount,
        "handoff_requests": session.execute(delete(HandoffRequest).where(
            HandoffRequest.created_at < cutoff(settings.retention_handoff_days))).rowcount,
        "events": 0,
    }
    if inspect(session.connection()).has_table("events"):
        epoch = cutoff(settings.retention_conversation_days).replace(tzinfo=dt.timezone.utc).timestamp()
        removed["events"] = session.execute(text("DELETE FROM events WHERE timestamp < :epoch"),
                                            {"epoch": epoch}).rowcount
    logger.info("retention prune: %s", removed)
    return removed


def prune_channel_records(
    session: Session,
    *,
    processed_older_than: dt.timedelta = dt.timedelta(days=30),
    windows_older_than: dt.timedelta = dt.timedelta(hours=1),
    now: Optional[dt.datetime] = None,
) -> Dict[str, int]:
    """Housekeeping for a scheduled job: drop old message ids and rate-limit windows.

    Message ids are kept far longer than any platform retries (Telegram keeps
    undelivered updates 24 h, Zalo retries for minutes).
    """
    now = now or utcnow()
    removed_ids = session.execute(
        delete(ProcessedMessage).where(ProcessedMessage.received_at < now - processed_older_than)
    ).rowcount
    removed_windows = session.execute(
        delete(RateLimitHit).where(RateLimitHit.window_start < now - windows_older_than)
    ).rowcount
    return {"processed_messages": removed_ids, "rate_limit_hits": removed_windows}
