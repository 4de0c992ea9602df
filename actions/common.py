"""Helpers shared by the actions: domain text fragments, sender identity, contacts."""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any, Dict, Optional

from rasa_sdk import Tracker

from bot.conversations.identity import ConversationIdentity, parse_conversation_id
from bot.settings import get_settings

logger = logging.getLogger(__name__)


def fragment(domain: Dict[str, Any], response: str, /, **values: Any) -> str:
    """Render the first text of response ``name`` (a text fragment kept in the domain).

    Used to build list lines (documents, fees, …) whose wording must stay in the
    domain; missing values render as empty strings instead of failing.
    """
    variants = (domain.get("responses") or {}).get(response) or []
    template = variants[0].get("text", "") if variants else ""
    if not template:
        logger.error("missing domain fragment %s", response)
        return ""
    return template.format_map(defaultdict(str, {k: "" if v is None else v for k, v in values.items()}))


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
    """The hotline quoted in apologies (province centre, from the database)."""
    from bot.catalogue.units import UnitService
    from bot.db.session import session_scope

    try:
        with session_scope() as session:
            centre = UnitService(session).province_centre()
            if centre and centre.hotline:
                return centre.hotline
    except Exception:  # noqa: BLE001 - the database may be the thing that is down
        logger.warning("hotline lookup failed; using the setting")
    return get_settings().fallback_hotline
