"""What operators see of reminder delivery: counts per state and the unconfirmed notices.

A notice is ``unconfirmed`` when its send may or may not have reached the citizen
(the platform did not answer, the connection dropped after the request went out, a
5xx, or the worker stopped between sending and recording). It is never resent
automatically. An operator who checked (e.g. in the chat history of the official
account) may mark it ``sent``, or requeue it when it surely did not arrive.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Dict, List, Optional

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.db.models import NotificationLog
from bot.reminders.claims import PENDING, SENT, UNCONFIRMED


@dataclass
class UnconfirmedNotice:
    """One notice whose delivery is unknown (ids and key only: no personal data)."""

    id: int
    key: str
    kind: str
    attempts: int
    send_started_at: Optional[dt.datetime]  # naive UTC
    worker: Optional[str]
    reason: Optional[str]


def state_counts(session: Session) -> Dict[str, int]:
    """Notices per state."""
    n = NotificationLog
    return {state: count for state, count in session.execute(sa.select(n.state, sa.func.count()).group_by(n.state))}


def unconfirmed(session: Session, limit: int = 100) -> List[UnconfirmedNotice]:
    """The oldest ``limit`` unconfirmed notices."""
    n = NotificationLog
    rows = session.execute(
        sa.select(n.id, n.key, n.kind, n.attempts, n.claimed_at, n.claimed_by, n.last_error)
        .where(n.state == UNCONFIRMED).order_by(n.claimed_at, n.id).limit(limit)).all()
    return [UnconfirmedNotice(*row) for row in rows]


def resolve(session: Session, notice_id: int, *, delivered: bool, now: dt.datetime, note: str = "") -> bool:
    """An operator's verdict on an unconfirmed notice: ``sent``, or ``pending`` to send it again.

    Args:
        session: an open session (the caller commits).
        notice_id: the notice.
        delivered: True if the citizen got it; False requeues it for the next sweep.
        now: naive UTC now.
        note: recorded in ``last_error`` for the audit trail.

    Returns:
        False when the notice is not (or no longer) unconfirmed.
    """
    n = NotificationLog
    values: Dict[str, object] = ({"state": SENT, "sent_at": now} if delivered
                                 else {"state": PENDING, "next_attempt_at": now, "claimed_by": None, "attempts": 0})
    values["last_error"] = f"resolved by an operator: {'delivered' if delivered else 'requeued'} {note}".strip()
    result = session.execute(sa.update(n).where(n.id == notice_id, n.state == UNCONFIRMED).values(**values)
                             .execution_options(synchronize_session=False))
    return bool(result.rowcount)
