"""What a send's outcome does to its notice (the failure half of the state machine).

Every write is fenced by the claim token (:func:`bot.reminders.claims.finish`):

=======================  ==================================================================
outcome                  notice becomes
=======================  ==================================================================
delivered                ``sent`` (also over ``unconfirmed``: a late, true outcome wins)
ambiguous                ``unconfirmed``: the platform may have delivered it (read timeout,
                         dropped connection, 5xx, partial multi-part send); never resent
definite, transient      ``pending`` again at a backoff (or the platform's ``retry_after``),
                         outside quiet hours; ``failed`` after ``max_attempts``
unreachable user         ``undeliverable``, the user marked unreachable, their queue cancelled
permanent                ``failed`` (or ``undeliverable`` when there is no way to the user)
=======================  ==================================================================
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import KW_ONLY, dataclass
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

from bot.db.models import ChatUser, NotificationLog
from bot.reminders.claims import (
    CANCELLED,
    FAILED,
    PENDING,
    SENT,
    UNCONFIRMED,
    UNDELIVERABLE,
    attempts_of,
    finish,
    finish_in,
)
from bot.reminders.clock import to_db, to_local
from bot.reminders.delivery import Delivered, DeliveryError
from bot.reminders.prepare import Prepared
from bot.reminders.workdays import QuietHours

logger = logging.getLogger(__name__)

UNDELIVERABLE_REASONS = {"outside_window", "no_sender"}


@dataclass(eq=False)
class Outcomes:
    """Records send outcomes for one outbox (with the outbox's retry policy)."""

    sessions: sessionmaker
    _: KW_ONLY
    quiet: QuietHours
    zone: dt.tzinfo
    max_attempts: int
    backoff_base_s: float
    backoff_max_s: float

    def sent(self, token: str, item: Prepared, delivered: Delivered, now: dt.datetime) -> str:
        """Record a delivery; returns the stats field to count."""
        payload = {"response": item.response, "text": item.text, "via": delivered.via}
        if delivered.detail:
            payload["detail"] = delivered.detail
        if not finish(self.sessions, token, item.notice_id, state=SENT, sent_at=to_db(now), payload=payload,
                      last_error=None):
            logger.error("notice %s was sent but its record was changed meanwhile (by an operator?)", item.key)
        return "sent"

    def failed(self, token: str, item: Prepared, failure: DeliveryError, now: dt.datetime) -> str:
        """Record a classified failure; returns the stats field to count."""
        error = str(failure)[:1000]
        if failure.unreachable:
            self._unreachable(token, item, failure)
            return "undeliverable"
        if failure.ambiguous:
            logger.warning("notice %s may have been delivered (%s): marked unconfirmed, not resent", item.key, error)
            finish(self.sessions, token, item.notice_id, state=UNCONFIRMED, last_error=error)
            return "unconfirmed"
        if failure.transient:
            return self._retry(token, item, failure, error, now)
        state = UNDELIVERABLE if failure.reason in UNDELIVERABLE_REASONS else FAILED
        logger.warning("notice %s: %s (%s)", item.key, state, error)
        finish(self.sessions, token, item.notice_id, state=state, last_error=error)
        return "undeliverable" if state == UNDELIVERABLE else "failed"

    def _retry(self, token: str, item: Prepared, failure: DeliveryError, error: str, now: dt.datetime) -> str:
        """A definite non-delivery: due again after a backoff, or ``failed`` after the last attempt."""
        attempts = attempts_of(self.sessions, item.notice_id)
        if attempts >= self.max_attempts:
            logger.error("notice %s failed after %d attempts: %s", item.key, attempts, error)
            finish(self.sessions, token, item.notice_id, state=FAILED, last_error=error)
            return "failed"
        delay = min(self.backoff_max_s, self.backoff_base_s * 2 ** max(attempts - 1, 0))
        delay = max(delay, float(failure.retry_after or 0))
        retry_at = self.quiet.next_allowed(to_local(now + dt.timedelta(seconds=delay), self.zone))
        logger.info("notice %s: not delivered (%s); retry at %s", item.key, error, retry_at)
        finish(self.sessions, token, item.notice_id, state=PENDING, next_attempt_at=to_db(retry_at),
               claimed_by=None, last_error=error)
        return "retried"

    def _unreachable(self, token: str, item: Prepared, failure: DeliveryError) -> None:
        reason: Optional[str] = (failure.reason or "blocked")[:200]
        logger.warning("chat user %s is unreachable (%s): pushes stopped", item.user_id, reason)
        n = NotificationLog
        with self.sessions() as session, session.begin():
            finish_in(session, token, item.notice_id, state=UNDELIVERABLE, last_error=str(failure)[:1000])
            session.execute(
                sa.update(ChatUser).where(ChatUser.id == item.user_id)
                .values(reachable=False, unreachable_reason=reason)
                .execution_options(synchronize_session=False))
            session.execute(
                sa.update(n).where(n.chat_user_id == item.user_id, n.state == PENDING)
                .values(state=CANCELLED, last_error=f"user unreachable: {reason}")
                .execution_options(synchronize_session=False))
