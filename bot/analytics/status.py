"""How fresh the analytics rollup is, for the pages that show its figures."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.analytics.rollup import STATE
from bot.analytics.schema import analytics_state, has_events

#: Counting new events stops here (a page only says "more than").
PENDING_CAP = 100_000


@dataclass(frozen=True)
class Freshness:
    """The rollup's state: when it last ran, up to which event, and how many events came since.

    The analytics reports read those newer events live (the "tail"), so figures are current either
    way; the conversation list reads only rolled-up conversations.
    """

    last_run_at: Optional[dt.datetime]  # aware UTC; None: never ran
    last_event_id: Optional[int]
    pending_events: int  # events not rolled up yet, capped at PENDING_CAP
    pending_capped: bool


def freshness(session: Session) -> Freshness:
    """The rollup's :class:`Freshness` (one indexed count, capped at :data:`PENDING_CAP`)."""
    row = session.execute(sa.select(analytics_state.c.last_event_id, analytics_state.c.last_run_at)
                          .where(analytics_state.c.name == STATE)).first()
    last_id = None if row is None or row.last_event_id is None else int(row.last_event_id)
    ran = None if row is None or row.last_run_at is None else dt.datetime.fromtimestamp(row.last_run_at,
                                                                                        dt.timezone.utc)
    pending = 0
    if has_events(session.connection()):
        pending = int(session.execute(sa.text(
            "SELECT COUNT(*) FROM (SELECT 1 FROM events WHERE id > :w LIMIT :cap) AS pending"),
            {"w": -1 if last_id is None else last_id, "cap": PENDING_CAP + 1}).scalar_one())
    return Freshness(ran, last_id, min(pending, PENDING_CAP), pending > PENDING_CAP)
