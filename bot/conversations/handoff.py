"""Handoff to staff: a ticket carrying the conversation so far."""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional

from bot.db.models import HandoffRequest
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
    """Open a handoff ticket with the conversation's transcript; returns the ticket number."""
    with session_scope(database_url) as session:
        ticket = HandoffRequest(sender_key=sender_key, reason=reason, transcript=transcript(events))
        session.add(ticket)
        session.flush()
        return int(ticket.id)
