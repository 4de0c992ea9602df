"""Zalo OA webhook input: signature checked on the raw bytes, ids checked, conversation ids.

``X-ZEvent-Signature`` = ``mac=`` + sha256(app_id + raw body + timestamp + OA secret key).
The timestamp lives inside the body, so it is read from the raw bytes (every
``"timestamp": ...`` candidate, at most :data:`MAX_TIMESTAMP_CANDIDATES`) and the body is
parsed only once a candidate verifies; the parsed event's ``timestamp`` must then equal
the signed one. Conversation ids are ``zalo:<user id>`` and map back to the user id.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any, Dict, List, Optional

from bot.conversations.identity import conversation_id, parse_conversation_id
from integrations.errors import PermanentChannelError
from integrations.http import WebhookRejected

CHANNEL = "zalo"
MAX_ID_CHARS = 120
MAX_TIMESTAMP_CANDIDATES = 8
# ``"timestamp": "1700000000000"`` (or a number) in the raw body; escaped quotes inside strings never match.
TIMESTAMP = re.compile(rb'"timestamp"\s*:\s*"?(\d{1,20})"?')


def expected_signature(app_id: str, body: bytes, timestamp: str, oa_secret_key: str) -> str:
    """``mac=`` + hex sha256(app_id + raw body + timestamp + OA secret key)."""
    digest = hashlib.sha256(app_id.encode() + body + timestamp.encode() + oa_secret_key.encode()).hexdigest()
    return f"mac={digest}"


def verify_signature(app_id: str, body: bytes, timestamp: str, oa_secret_key: str, header: Optional[str]) -> bool:
    """Constant-time check of ``X-ZEvent-Signature`` (with or without the ``mac=`` prefix)."""
    if not header:
        return False
    provided = header.strip()
    if not provided.startswith("mac="):
        provided = f"mac={provided}"
    return hmac.compare_digest(provided.lower().encode(),
                               expected_signature(app_id, body, timestamp, oa_secret_key).encode())


def signed_timestamp(app_id: str, body: bytes, oa_secret_key: str, header: str) -> Optional[str]:
    """The ``timestamp`` of the raw body under which ``header`` verifies, or None (nothing parsed)."""
    seen: List[str] = []
    for match in TIMESTAMP.finditer(body):
        candidate = match.group(1).decode()
        if candidate in seen:
            continue
        if verify_signature(app_id, body, candidate, oa_secret_key, header):
            return candidate
        seen.append(candidate)
        if len(seen) >= MAX_TIMESTAMP_CANDIDATES:
            break
    return None


def event_object(event: Dict[str, Any], key: str) -> Dict[str, Any]:
    """``event[key]`` when it is a JSON object, else an empty one."""
    value = event.get(key)
    return value if isinstance(value, dict) else {}


def platform_id(value: Any) -> str:
    """A Zalo id (user, message) as text: "" when missing, 400 unless a short printable string or integer."""
    if value is None or value == "":
        return ""
    text = str(value)
    if isinstance(value, (dict, list, bool, float)) or len(text) > MAX_ID_CHARS or not text.isprintable():
        raise WebhookRejected(400, "malformed Zalo id")
    return text


def zalo_conversation(user_id: str) -> str:
    """``zalo:<user id>`` (400 for an id that cannot name a conversation)."""
    try:
        return conversation_id(CHANNEL, user_id)
    except ValueError as exc:
        raise WebhookRejected(400, str(exc)) from exc


def zalo_user(recipient_id: Any) -> str:
    """The Zalo user id of a conversation id (a bare numeric user id is taken as is).

    Raises:
        PermanentChannelError: the id belongs to another channel (never sent to Zalo).
    """
    identity = parse_conversation_id(str(recipient_id))
    if identity is None and str(recipient_id).isdigit():
        return str(recipient_id)
    if identity is None or identity.channel != CHANNEL:
        raise PermanentChannelError(f"{str(recipient_id)[:40]!r} is not a Zalo conversation", channel=CHANNEL)
    return identity.user_id
