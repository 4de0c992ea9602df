"""Stored conversations, read straight from the tracker store's ``events`` table.

Rasa's HTTP API (``/conversations/...``) is off, so end-to-end tests look at what the
running assistant stored, exactly as staff tools and the retention job do.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

from sqlalchemy import text

from bot.db.session import get_engine

_EVENTS = text("SELECT type_name, intent_name, data FROM events WHERE sender_id = :sender ORDER BY id")


def stored_events(database_url: str, sender_id: str) -> List[Dict[str, Any]]:
    """Every stored event of conversation ``sender_id`` (oldest first), as Rasa serialised it."""
    with get_engine(database_url).connect() as conn:
        return [json.loads(row.data) for row in conn.execute(_EVENTS, {"sender": sender_id})]


def bot_events(database_url: str, sender_id: str) -> List[Dict[str, Any]]:
    """The bot utterances of the conversation."""
    return [e for e in stored_events(database_url, sender_id) if e.get("event") == "bot"]


def bot_texts(database_url: str, sender_id: str) -> List[str]:
    """The texts the bot said in the conversation."""
    return [e["text"].strip() for e in bot_events(database_url, sender_id) if e.get("text")]


def last_intent(database_url: str, sender_id: str) -> Optional[str]:
    """The intent of the conversation's latest user message."""
    users = [e for e in stored_events(database_url, sender_id) if e.get("event") == "user"]
    return ((users[-1].get("parse_data") or {}).get("intent") or {}).get("name") if users else None
