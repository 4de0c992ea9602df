"""Handoff to staff: a ticket carrying the conversation so far."""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, Iterable, List, Optional

from sqlalchemy import update
from sqlalchemy.orm import Session

from bot.conversations.masking import mask_events
from bot.db.models import HandoffRequest, utcnow
from bot.db.session import session_scope

TRANSCRIPT_EVENTS = 60


def transcript(events: Iterable[Dict[str, Any]], limit: int = TRANSCRIPT_EVENTS) -> List[Dict[str, Any]]:
    """The user and bot texts of a conversation's ``events`` (Rasa event dicts), oldest first, the last ``limit``."""
    lines = []
    for event in events:
        if event.get("event") in {"user", "bot"} and event.get("text"):
            lines.append({"by": event["event"], "text": event["text"], "at": event.get("timestamp")})
    return lines[-limit:]


def request_handoff(sender_key: str, reason: Optional[str], events: Iterable[Dict[str, Any]],
                    database_url: Optional[str] = None) -> int:
    """Open a handoff ticket with the conversation's transcript (phone data masked); returns the ticket number."""
    with session_scope(database_url) as session:
        ticket = HandoffRequest(sender_key=sender_key, reason=reason, transcript=transcript(mask_events(events)))
        session.add(ticket)
        session.flush()
        return int(ticket.id)


def mark_taken(session: Session, ticket_id: int, now: Optional[dt.datetime] = None,
               agent: Optional[str] = None) -> bool:
    """Record that ``agent`` took ticket ``ticket_id`` (its waiting time ends).

    One atomic ``UPDATE … WHERE taken_at IS NULL AND closed_at IS NULL``: of two agents taking
    the same ticket at once exactly one gets True. False if it was taken or closed already.
    """
    return bool(session.execute(
        update(HandoffRequest).where(HandoffRequest.id == ticket_id, HandoffRequest.taken_at.is_(None),
                                     HandoffRequest.closed_at.is_(None))
        .values(taken_at=now or utcnow(), status="active", agent=agent)).rowcount)


def mark_closed(session: Session, ticket_id: int, now: Optional[dt.datetime] = None) -> bool:
    """Record that ticket ``ticket_id`` was closed (handed back or dropped); False if it was closed already."""
    return bool(session.execute(
        update(HandoffRequest).where(HandoffRequest.id == ticket_id, HandoffRequest.closed_at.is_(None))
        .values(closed_at=now or utcnow(), status="closed")).rowcount)
