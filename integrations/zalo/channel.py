"""Zalo OA input and output channels (``POST /webhooks/zalo/webhook``) on :class:`WebhookInput`.

``X-ZEvent-Signature`` = ``mac=`` + sha256(app_id + raw body + timestamp + OA secret key)
is compared in constant time *before* the body is parsed (the timestamp is read from the
raw bytes, then must equal the parsed one, :mod:`integrations.zalo.signature`), stale
timestamps are refused; the base then de-duplicates ``message.msg_id`` in the database,
applies the per-user rate limit, answers 200 at once and processes the event in a
background task after the earlier events of the same conversation (Zalo retries slow
webhooks). A follow gets ``utter_welcome_follow``, an unfollow marks the user
unreachable. The conversation id is ``zalo:<user id>``, set here.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from rasa.core.channels.channel import OutputChannel
from sanic.request import Request

from bot.conversations.reachability import mark_unreachable
from bot.settings import Settings, get_settings
from integrations.http import WebhookRejected, check_size, parse_json_object
from integrations.webhook import RESPONSE_TEXT_ONLY, RESPONSE_WELCOME_FOLLOW, WebhookInput
from integrations.zalo.client import ZaloClient
from integrations.zalo.signature import (
    TIMESTAMP,
    event_object,
    platform_id,
    signed_timestamp,
    zalo_conversation,
    zalo_user,
)
from integrations.zalo.tokens import CHANNEL

logger = logging.getLogger(__name__)

MEDIA_EVENTS = {"user_send_image", "user_send_sticker", "user_send_gif", "user_send_file", "user_send_audio",
                "user_send_voice", "user_send_video", "user_send_location", "user_send_link",
                "user_send_business_card"}
IGNORED_EVENTS = {"user_seen_message", "user_received_message", "user_reacted_message", "oa_reacted_message",
                  "user_click_chatnow", "user_submit_info", "add_user_to_tag", "change_oa_daily_quota",
                  "change_template_status", "user_feedback", "anonymous_send_text"}


# -- output channel -------------------------------------------------------------------------------


class ZaloOutput(OutputChannel):
    """Rasa output channel over :class:`ZaloClient` (recipient = conversation ``zalo:<user id>``)."""

    @classmethod
    def name(cls) -> str:
        """Channel name."""
        return CHANNEL

    def __init__(self, client: ZaloClient) -> None:
        self.client = client

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """Send text."""
        await self.client.send_text(zalo_user(recipient_id), text)

    async def send_text_with_buttons(self, recipient_id: str, text: str, buttons: List[Dict[str, Any]],
                                     **kwargs: Any) -> None:
        """Send text with buttons."""
        await self.client.send_buttons(zalo_user(recipient_id), text, buttons)

    async def send_quick_replies(self, recipient_id: str, text: str, quick_replies: List[Dict[str, Any]],
                                 **kwargs: Any) -> None:
        """Quick replies are sent as buttons."""
        await self.client.send_buttons(zalo_user(recipient_id), text, quick_replies)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        """Send an image by URL."""
        await self.client.send_image(zalo_user(recipient_id), image)

    async def send_attachment(self, recipient_id: str, attachment: Any, **kwargs: Any) -> None:
        """Attachments (links) are sent as text."""
        if isinstance(attachment, str):
            await self.client.send_text(zalo_user(recipient_id), attachment)
        else:
            logger.warning("unsupported attachment for Zalo dropped: %r", type(attachment))

    async def send_custom_json(self, recipient_id: str, json_message: Dict[str, Any], **kwargs: Any) -> None:
        """Custom payloads with ``text`` (and ``buttons``) are sent; anything else is logged."""
        if isinstance(json_message, dict) and json_message.get("text"):
            await self.client.send_buttons(zalo_user(recipient_id), str(json_message["text"]),
                                           json_message.get("buttons") or [])
        else:
            logger.warning("unsupported custom payload for Zalo dropped")


# -- input channel --------------------------------------------------------------------------------


@dataclass
class ZaloInbound:
    """What we take from one webhook event."""

    kind: str  # text | media | follow | unfollow | ignored
    event_name: str
    user_id: str = ""
    conversation_id: str = ""  # ``zalo:<user id>``, the Rasa sender id
    dedup_id: str = ""
    text: Optional[str] = None
    metadata: Dict[str, Any] = field(default_factory=dict)


class ZaloInput(WebhookInput):
    """Zalo OA webhook channel (``/webhooks/zalo/webhook``)."""

    notices = {"media": RESPONSE_TEXT_ONLY, "follow": RESPONSE_WELCOME_FOLLOW}

    channel = CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> "ZaloInput":
        """Build from ``credentials.yml``: ``app_id``, ``oa_secret_key`` (required), ``app_secret``.

        Base URLs, limits and the token seeds come from :mod:`bot.settings`.
        """
        app_id, oa_secret_key = cls.required_credentials(credentials, "Zalo", {"app_id": "ZALO_APP_ID",
                                                                               "oa_secret_key": "ZALO_OA_SECRET_KEY"})
        return cls(app_id, oa_secret_key, app_secret=credentials.get("app_secret"),  # type: ignore[union-attr]
                   settings=get_settings())

    def __init__(
        self,
        app_id: str,
        oa_secret_key: str,
        *,
        app_secret: Optional[str] = None,
        settings: Optional[Settings] = None,
        client: Optional[ZaloClient] = None,
        database_url: Optional[str] = None,
    ) -> None:
        settings = settings or get_settings()
        super().__init__(settings, database_url, client=client)
        self.app_id = app_id
        self.oa_secret_key = oa_secret_key
        self.app_secret = app_secret or settings.zalo_app_secret
        if not self.app_secret:
            logger.warning("ZALO_APP_SECRET is not set: the Zalo access token cannot be refreshed")
        self.max_age_s = settings.zalo_webhook_max_age_s

    @property
    def client(self) -> ZaloClient:
        """The channel's API client (created on first use)."""
        if self._client is None:
            settings = self._settings.copy(update={"zalo_app_id": self.app_id, "zalo_app_secret": self.app_secret})
            self._client = ZaloClient.from_settings(settings, database_url=self.database_url)
        return self._client

    def get_output_channel(self) -> ZaloOutput:
        """Output channel for pushes through Rasa."""
        return ZaloOutput(self.client)

    # -- parsing -----------------------------------------------------------------------------
    def verify(self, request: Request) -> Dict[str, Any]:
        """Size, signature and freshness checks on the raw bytes, then the (depth-limited) JSON parse.

        Returns the event, or raises :class:`WebhookRejected`.
        """
        body, headers = request.body, request.headers
        check_size(body, headers.get("content-length"), self.max_body_bytes)
        signature = headers.get("X-ZEvent-Signature")
        if not signature:
            raise WebhookRejected(401, "missing X-ZEvent-Signature")
        if not TIMESTAMP.search(body):
            raise WebhookRejected(400, "timestamp missing or not numeric")
        timestamp = signed_timestamp(self.app_id, body, self.oa_secret_key, signature)
        if timestamp is None:
            raise WebhookRejected(401, "bad X-ZEvent-Signature")
        age_s = abs(time.time() * 1000 - int(timestamp)) / 1000
        if age_s > self.max_age_s:
            raise WebhookRejected(401, f"stale event ({age_s:.0f}s old)")
        event = parse_json_object(body)
        if str(event.get("timestamp")) != timestamp:
            raise WebhookRejected(400, "the event's timestamp is not the signed one")
        return event

    async def classify(self, event: Dict[str, Any]) -> ZaloInbound:
        """Decide what an event is (raises WebhookRejected 400 for unknown / incomplete events)."""
        name = str(event.get("event_name") or "")
        if not name:
            raise WebhookRejected(400, "event_name missing")
        timestamp = str(event.get("timestamp"))
        if name in ("follow", "unfollow"):
            follower = platform_id(event_object(event, "follower").get("id"))
            if not follower:
                raise WebhookRejected(400, f"{name} without follower.id")
            return ZaloInbound(kind=name, event_name=name, user_id=follower,
                               conversation_id=zalo_conversation(follower), dedup_id=f"{name}:{follower}:{timestamp}")
        if name == "user_send_text" or name in MEDIA_EVENTS:
            sender = platform_id(event_object(event, "sender").get("id"))
            message = event_object(event, "message")
            msg_id = platform_id(message.get("msg_id"))
            if not sender or not msg_id:
                raise WebhookRejected(400, f"{name} without sender.id or message.msg_id")
            metadata = {"zalo": {"event": name, "msg_id": msg_id, "timestamp": timestamp,
                                 "user_id_by_app": event.get("user_id_by_app")}}
            conversation = zalo_conversation(sender)
            if name == "user_send_text":
                text = str(message.get("text") or "").strip()
                return ZaloInbound(kind="text" if text else "ignored", event_name=name, user_id=sender,
                                   conversation_id=conversation, dedup_id=msg_id, text=text, metadata=metadata)
            return ZaloInbound(kind="media", event_name=name, user_id=sender, conversation_id=conversation,
                               dedup_id=msg_id, metadata=metadata)
        if name.startswith("oa_send_") or name in IGNORED_EVENTS:
            return ZaloInbound(kind="ignored", event_name=name)
        raise WebhookRejected(400, f"unknown event type {name!r}")

    # -- hooks of the webhook base -----------------------------------------------------------
    def admission_args(self, inbound: ZaloInbound) -> Dict[str, Any]:
        """Only messages count towards the rate limit; an unfollow records no interaction."""
        return {"message_id": inbound.dedup_id, "user_id": None if inbound.kind == "unfollow" else inbound.user_id,
                "count_towards_limit": inbound.kind in ("text", "media")}

    def label(self, inbound: ZaloInbound) -> str:
        """The de-duplication id (``msg_id``, or the follow event's own)."""
        return inbound.dedup_id

    async def prepare(self, inbound: ZaloInbound) -> bool:
        """An unfollow marks the user unreachable for pushes, and nothing more."""
        if inbound.kind == "unfollow":
            await mark_unreachable(CHANNEL, inbound.user_id, "unfollowed", self.database_url)
            return False
        return True
