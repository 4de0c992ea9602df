"""Helpers shared by the actions: domain text fragments, sender identity, contacts."""

from __future__ import annotations

import logging
from typing import Any, Dict, Optional

from rasa_sdk import Tracker

from bot.catalogue.units import hotline_or_fallback
from bot.conversations.identity import ConversationIdentity, parse_conversation_id
from bot.responses import Responses

logger = logging.getLogger(__name__)


def fragment(domain: Dict[str, Any], response: str, /, **values: Any) -> str:
    """A text fragment kept in the domain, as staff last worded it (see :meth:`bot.responses.Responses.fragment`)."""
    return Responses.of(domain, live=True).fragment(response, **values)


def identity_of(tracker: Tracker) -> Optional[ConversationIdentity]:
    """The channel identity of the conversation, from its server-set id (None: anonymous).

    Never from ``get_latest_input_channel()`` or anything else a client can write.
    """
    return parse_conversation_id(tracker.sender_id)


def sender_key(tracker: Tracker) -> str:
    """Stable key of the conversation (its id, which carries the channel)."""
    identity = identity_of(tracker)
    return identity.conversation_id if identity else f"unknown:{str(tracker.sender_id)[:120]}"


def latest_entity(tracker: Tracker, name: str) -> Optional[str]:
    """Value of entity ``name`` in the latest user message, if any."""
    value = next(tracker.get_latest_entity_values(name), None)
    return str(value) if value is not None else None


def hotline() -> str:
    """The hotline quoted in apologies (see :func:`bot.catalogue.units.hotline`)."""
    return hotline_or_fallback()
