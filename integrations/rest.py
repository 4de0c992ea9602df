"""Development REST channel: Rasa's ``rest`` channel with server-set conversation ids.

``POST /webhooks/rest/webhook`` with ``{"sender": "...", "message": "..."}`` answers the
bot's messages as a JSON list, like :class:`rasa.core.channels.rest.RestInput`, except:

* the conversation id is ``rest:<sender>`` (:func:`bot.conversations.identity.conversation_id`),
  so a client can never write into a ``telegram:`` or ``zalo:`` conversation;
* ``input_channel`` is always ``rest`` and client ``metadata`` is dropped (nothing in the
  body sets internal state);
* the body is size-checked, then parsed with a nesting limit; it must be a JSON object
  (400 otherwise), ``sender`` a non-empty printable id (400), ``message`` a string (400)
  of at most :data:`MAX_REST_MESSAGE_CHARS` characters (413, nothing stored);
* streaming (``?stream=true``) is not offered;
* what a handoff agent wrote meanwhile (request/response: nothing can be pushed) comes first
  in the answer to the citizen's next message (:func:`bot.conversations.handoff_desk.take_pending`).

Served only where ``bot.cli`` lists it in the runtime credentials (development). The body parsing and
the health route are the channels' shared ones (:mod:`integrations.http`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Dict, Optional, Tuple

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.conversations.handoff_desk import take_pending
from bot.conversations.identity import conversation_id
from integrations.http import WebhookRejected, health_blueprint, read_json

logger = logging.getLogger(__name__)

CHANNEL = "rest"
MAX_REST_MESSAGE_CHARS = 4000
DEFAULT_MAX_BODY_BYTES = 256_000


def _settings_value(name: str, default: int) -> int:
    try:
        from bot.settings import get_settings

        return int(getattr(get_settings(), name, default) or default)
    except Exception:  # settings that cannot load must not hide the channel's own limits
        logger.warning("could not read %s from the settings; using %d", name, default)
        return default


class DevRestInput(RestInput):
    """Rasa's REST channel, hardened: ``rest:``-namespaced sender ids, validated bodies, no streaming."""

    @classmethod
    def name(cls) -> str:
        """Channel name (also the URL prefix under ``/webhooks/``)."""
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> "DevRestInput":
        """Optional ``max_message_chars`` and ``max_body_bytes``; defaults from the settings."""
        credentials = credentials or {}
        return cls(
            max_message_chars=int(credentials.get("max_message_chars")
                                  or _settings_value("max_rest_message_chars", MAX_REST_MESSAGE_CHARS)),
            max_body_bytes=int(credentials.get("max_body_bytes")
                               or _settings_value("max_webhook_bytes", DEFAULT_MAX_BODY_BYTES)),
        )

    def __init__(self, max_message_chars: int = MAX_REST_MESSAGE_CHARS,
                 max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.max_message_chars = max_message_chars
        self.max_body_bytes = max_body_bytes

    def parse(self, request: Request) -> Tuple[str, str]:
        """``(conversation id, text)`` of a request, or :class:`WebhookRejected` (400 / 413)."""
        data = read_json(request, self.max_body_bytes)
        sender = data.get("sender")
        if isinstance(sender, bool) or not isinstance(sender, (str, int)) or not str(sender).strip():
            raise WebhookRejected(400, "sender missing or not a string")
        try:
            conversation = conversation_id(CHANNEL, sender)
        except ValueError as exc:
            raise WebhookRejected(400, "invalid sender") from exc
        text = data.get("message")
        if not isinstance(text, str):
            raise WebhookRejected(400, "message missing or not a string")
        if len(text) > self.max_message_chars:
            raise WebhookRejected(413, f"message longer than {self.max_message_chars} characters")
        return conversation, text

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Routes: ``GET /`` (health) and ``POST /webhook``."""
        bp = health_blueprint(f"integrations_rest_{id(self)}", __name__)

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            return await self.handle(request, on_new_message)

        return bp

    async def handle(self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> HTTPResponse:
        """Validate, hand the message to Rasa, answer the collected bot messages."""
        try:
            sender, text = self.parse(request)
        except WebhookRejected as exc:
            logger.info("rest request rejected with %d: %s", exc.status, exc.reason)
            return response.json({"error": exc.reason[:200]}, status=exc.status)
        collector = CollectingOutputChannel()
        try:
            await on_new_message(UserMessage(text, collector, sender, input_channel=CHANNEL))
        except asyncio.CancelledError:
            logger.error("rest message of %s timed out", sender)
        except Exception:
            logger.exception("rest message of %s failed", sender)
        try:
            pending = await asyncio.to_thread(take_pending, sender)
        except Exception:  # the desk's table missing or the database down: the bot's answer still goes out
            logger.exception("agents' messages for a rest conversation could not be read")
            pending = []
        return response.json([{"recipient_id": sender, "text": text} for text in pending] + collector.messages)
