"""Button payloads in Telegram's ``callback_data`` (at most 64 bytes).

Payloads that are short ASCII (``/greet``, ``/affirm``) travel as ``=<payload>``; any
other payload travels as ``#<16-char hash>`` and is resolved on click from (1) the
buttons of the domain's responses, then (2) the buttons the bot sent in this user's
conversation (the tracker store, shared by all replicas); as a last resort the channel
sends the clicked button's title as text for NLU. No table and no process memory needed.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from typing import Any, Dict, Optional, Tuple

logger = logging.getLogger(__name__)

MAX_CALLBACK_BYTES = 64
LITERAL_PREFIX = "="
HASH_PREFIX = "#"


def payload_key(payload: str) -> str:
    """A 16-character URL-safe hash of a button payload (96 bits)."""
    return base64.urlsafe_b64encode(hashlib.sha256(payload.encode()).digest()[:12]).decode()


def encode_callback(payload: str) -> str:
    """``callback_data`` for a button payload (always within Telegram's 64 bytes)."""
    literal = LITERAL_PREFIX + payload
    if payload.isascii() and len(literal) <= MAX_CALLBACK_BYTES:
        return literal
    return HASH_PREFIX + payload_key(payload)


def decode_callback(data: str) -> Tuple[Optional[str], Optional[str]]:
    """Split ``callback_data`` into ``(literal payload or None, hash key or None)``."""
    if data.startswith(LITERAL_PREFIX):
        return data[len(LITERAL_PREFIX):], None
    if data.startswith(HASH_PREFIX):
        return None, data[len(HASH_PREFIX):]
    return None, None


class ButtonPayloads:
    """Resolves hashed ``callback_data`` back to the Rasa payload (no state of its own)."""

    def __init__(self) -> None:
        self._domain: Any = None
        self._index: Dict[str, str] = {}

    def from_domain(self, agent: Any, key: str) -> Optional[str]:
        """Look ``key`` up among the buttons of every domain response."""
        domain = getattr(agent, "domain", None)
        if domain is None:
            return None
        if domain is not self._domain:  # rebuilt when the model (and its domain) is replaced
            index: Dict[str, str] = {}
            for variations in (domain.responses or {}).values():
                for variation in variations:
                    for button in variation.get("buttons") or []:
                        if isinstance(button, dict) and button.get("payload"):
                            raw = str(button["payload"])
                            # as written, and as rendered (``{{`` escapes braces from slot filling)
                            for payload in {raw, raw.replace("{{", "{").replace("}}", "}")}:
                                index[payload_key(payload)] = payload
            self._domain, self._index = domain, index
        return self._index.get(key)

    @staticmethod
    async def from_tracker(agent: Any, sender_id: str, key: str, depth: int = 200) -> Optional[str]:
        """Look ``key`` up among the buttons recently sent in this user's conversation."""
        store = getattr(agent, "tracker_store", None)
        if store is None:
            return None
        try:
            tracker = await store.retrieve(sender_id)
        except Exception:
            logger.exception("could not read the tracker of %s to resolve a button", sender_id)
            return None
        if tracker is None:
            return None
        for event in list(tracker.events)[-depth:][::-1]:
            if getattr(event, "type_name", "") != "bot":
                continue
            for button in (getattr(event, "data", None) or {}).get("buttons") or []:
                payload = button.get("payload") if isinstance(button, dict) else None
                if payload and payload_key(str(payload)) == key:
                    return str(payload)
        return None
