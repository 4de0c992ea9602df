"""The handoff desk's bridge into Rasa: pause, resume and agent replies (``/webhooks/console/handoff/...``).

Rasa's HTTP API stays off (README, security model); the staff console changes a
conversation only through these three routes, each authenticated with
``Authorization: Bearer $CONSOLE_BRIDGE_TOKEN`` (constant-time compare) before the body is
read:

* ``POST /webhooks/console/handoff/pause`` ``{"conversation_id": ...}``: appends
  ``ConversationPaused``; Rasa then stores the citizen's messages but predicts nothing;
* ``POST /webhooks/console/handoff/resume``: appends ``ConversationResumed``;
* ``POST /webhooks/console/handoff/reply`` ``{"conversation_id": ..., "text": ..., "agent": ...}``:
  sends the text to the citizen on their channel (Telegram, Zalo; the REST channel carries it
  in its answer to the citizen's next message) and appends it as ``BotUttered``.

Every change is made under the conversation's lock from Rasa's lock store and saved
through the tracker store, exactly like Rasa's own ``/conversations/<id>/tracker/events``:
a citizen's message being processed at the same moment, on this or another replica, sees
the conversation before or after the change, never half of it. Bad input gets a 4xx, a
channel that cannot be reached a 502, never a 500.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.shared.core.events import BotUttered, ConversationPaused, ConversationResumed, Event
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.conversations.identity import ConversationIdentity, parse_conversation_id
from integrations.errors import ChannelError
from integrations.http import WebhookRejected, read_json

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64_000
MAX_REPLY_CHARS = 4000
MAX_AGENT_CHARS = 64
PUSH_CHANNELS = ("telegram", "zalo")  # channels the bridge sends to; others carry replies in their answers
AGENT_METADATA = "handoff_agent"  # BotUttered metadata key: the staff member who wrote it


class ConsoleBridgeInput(InputChannel):
    """The console's authenticated way into Rasa conversations (handoff desk only)."""

    @classmethod
    def name(cls) -> str:
        """Channel name (URL prefix ``/webhooks/console``)."""
        return "console"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> "ConsoleBridgeInput":
        """Needs ``token`` (``CONSOLE_BRIDGE_TOKEN``)."""
        if not credentials or not credentials.get("token"):
            raise ValueError("console bridge needs 'token' (CONSOLE_BRIDGE_TOKEN)")
        return cls(str(credentials["token"]))

    def __init__(self, token: str, senders: Optional[Dict[str, Any]] = None) -> None:
        self.token = token
        self._senders = senders

    def senders(self) -> Dict[str, Any]:
        """The Telegram / Zalo text senders of this process (built from the settings on first use)."""
        if self._senders is None:
            from integrations.senders import channel_senders

            self._senders = channel_senders()
        return self._senders

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Routes ``POST /handoff/pause``, ``/handoff/resume`` and ``/handoff/reply`` (nothing else)."""
        bp = Blueprint(f"console_bridge_{id(self)}", __name__)

        @bp.route("/handoff/<action:str>", methods=["POST"])
        async def handoff(request: Request, action: str) -> HTTPResponse:
            return await self.handle(request, action)

        @bp.listener("after_server_stop")
        async def close(_app: Any, _loop: Any) -> None:
            for sender in (self._senders or {}).values():
                closer = getattr(getattr(sender, "client", None), "close", None)
                if closer is not None:
                    await closer()

        return bp

    def authorised(self, request: Request) -> bool:
        """True when the request carries this bridge's bearer token (constant-time compare)."""
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode("utf-8", "replace"), f"Bearer {self.token}".encode())

    async def handle(self, request: Request, action: str) -> HTTPResponse:
        """Authenticate, validate, then pause / resume / reply."""
        if not self.authorised(request):
            logger.warning("console bridge: request without the right token from %s", request.ip)
            return response.json({"error": "unauthorized"}, status=401)
        if action not in {"pause", "resume", "reply"}:
            return response.json({"error": "unknown handoff action"}, status=404)
        try:
            identity, text, agent_name = self.parse(request, needs_text=action == "reply")
        except WebhookRejected as exc:
            return response.json({"error": exc.reason[:200]}, status=exc.status)
        agent = getattr(request.app.ctx, "agent", None)
        if agent is None or agent.processor is None:
            return response.json({"error": "assistant not ready"}, status=503)
        conversation = identity.conversation_id
        delivery = "none"
        if action == "reply":
            try:
                delivery = await self.deliver(identity, text)
            except ChannelError as exc:
                logger.warning("console bridge: reply to a %s conversation failed: %s", identity.channel,
                               type(exc).__name__)
                return response.json({"error": "channel unreachable", "detail": type(exc).__name__}, status=502)
            events: List[Event] = [BotUttered(text, metadata={AGENT_METADATA: agent_name})]
        else:
            events = [ConversationPaused() if action == "pause" else ConversationResumed()]
        paused = await self.append(agent, conversation, events)
        logger.info("console bridge: %s on a %s conversation", action, identity.channel)
        return response.json({"ok": True, "paused": paused, "delivery": delivery})

    @staticmethod
    def parse(request: Request, needs_text: bool) -> Tuple[ConversationIdentity, str, str]:
        """The conversation, text and agent of a request body, or :class:`WebhookRejected` (4xx)."""
        data = read_json(request, MAX_BODY_BYTES)
        identity = parse_conversation_id(data.get("conversation_id")) if isinstance(
            data.get("conversation_id"), str) else None
        if identity is None:
            raise WebhookRejected(400, "conversation_id missing or without a known channel")
        text, agent = data.get("text", ""), data.get("agent", "")
        if not isinstance(text, str) or not isinstance(agent, str):
            raise WebhookRejected(400, "text and agent must be strings")
        if needs_text and not text.strip():
            raise WebhookRejected(400, "text missing")
        if len(text) > MAX_REPLY_CHARS or len(agent) > MAX_AGENT_CHARS:
            raise WebhookRejected(413, "text or agent too long")
        return identity, text.strip(), agent

    async def deliver(self, identity: ConversationIdentity, text: str) -> str:
        """Send ``text`` to the citizen: ``"sent"``, or ``"queued"`` for request/response channels.

        Raises:
            ChannelError: the channel refused or could not be reached (nothing stored).
        """
        if identity.channel not in PUSH_CHANNELS:
            return "queued"
        sender = self.senders().get(identity.channel)
        if sender is None:
            raise ChannelError(f"{identity.channel} is not configured")
        recipient = identity.chat_id if identity.chat_id is not None else identity.user_id
        try:
            await sender.send_text(recipient, text)
        except ChannelError:
            raise
        except Exception as exc:  # the senders' DeliveryError and httpx errors: nothing was confirmed
            raise ChannelError(type(exc).__name__) from exc
        return "sent"

    @staticmethod
    async def append(agent: Any, conversation: str, events: List[Event]) -> bool:
        """Append ``events`` under the conversation's lock and save; returns whether it is now paused."""
        async with agent.lock_store.lock(conversation):
            processor = agent.processor
            tracker = await processor.fetch_tracker_with_initial_session(conversation)
            for event in events:
                tracker.update(event, agent.domain)
            await agent.tracker_store.save(tracker)
            return bool(tracker.is_paused())
