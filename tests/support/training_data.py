"""Tracker-store events of poorly understood messages, for the NLU inbox tests (services and browser)."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Sequence, Tuple

from tests.support.analytics import create_events, insert_events

__all__ = ["create_events", "insert_events", "user_row", "action_row", "turn"]


def user_row(sender: str, ts: float, text: str, intent: str, confidence: float = 0.9,
             ranking: Optional[Sequence[Tuple[str, float]]] = None) -> Dict[str, Any]:
    """A ``user`` event row as Rasa's SQL tracker store writes it (with the parse data)."""
    ranking = list(ranking or [(intent, confidence)])
    parse = {"text": text, "intent": {"name": intent, "confidence": confidence},
             "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking], "entities": []}
    data = {"event": "user", "timestamp": ts, "text": text, "parse_data": parse}
    return {"sender_id": sender, "type_name": "user", "timestamp": ts, "intent_name": intent, "action_name": None,
            "data": json.dumps(data, ensure_ascii=False)}


def action_row(sender: str, ts: float, action: str) -> Dict[str, Any]:
    """An ``action`` event row."""
    data = {"event": "action", "timestamp": ts, "name": action}
    return {"sender_id": sender, "type_name": "action", "timestamp": ts, "intent_name": None, "action_name": action,
            "data": json.dumps(data)}


def turn(sender: str, ts: float, text: str, intent: str, action: str, confidence: float = 0.9,
         ranking: Optional[Sequence[Tuple[str, float]]] = None) -> List[Dict[str, Any]]:
    """A user message and the action that answered it, then ``action_listen``."""
    return [user_row(sender, ts, text, intent, confidence, ranking), action_row(sender, ts + 1, action),
            action_row(sender, ts + 2, "action_listen")]
