"""Telegram input and output channels (``POST /webhooks/telegram/webhook``) on :class:`WebhookInput`.

1. the ``X-Telegram-Bot-Api-Secret-Token`` header is compared in constant time with the
   secret registered through ``setWebhook`` (401 otherwise); bodies above
   ``max_webhook_bytes`` get 413, malformed JSON / unknown update types 400;
2. the update is parsed with PTB's ``Update.de_json``; group messages are answered only
   when they address the bot (``@botname``, a reply to the bot, or a command);
3. the base de-duplicates ``update_id`` in the database, applies the per-user rate limit,
   answers 200 and handles the message in a background task, in conversation order:
   text goes to Rasa with the server-set conversation id (``telegram:<user>`` in a
   private chat, ``telegram:group:<chat>:<user>`` in a group; replies go to the chat the
   message came from), photos / stickers / voice / files get ``utter_text_only``, a flood
   gets ``utter_rate_limited`` once; a button click is answered (spinner stopped) and its
   payload resolved (:mod:`integrations.telegram.buttons`).
"""

from __future__ import annotations

import hmac
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from rasa.core.channels.channel import OutputChannel
from rasa.shared.exceptions import RasaException
from sanic.request import Request
from telegram import Message, Update

from bot.conversations.identity import conversation_id, parse_conversation_id
from bot.settings import Settings, get_settings
from integrations.errors import ChannelError, PermanentChannelError
from integrations.http import WebhookRejected, check_size, parse_json_object
from integrations.telegram.buttons import ButtonPayloads, decode_callback
from integrations.telegram.client import CHANNEL, TelegramSender
from integrations.webhook import WebhookInput

logger = logging.getLogger(__name__)

SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
COMMANDS = {"/start": "/greet", "/help": "/help"}
MEDIA_FIELDS = ("photo", "sticker", "voice", "audio", "document", "video", "video_note", "animation", "location",
                "contact", "venue", "poll", "dice")


def telegram_chat(recipient_id: Any) -> str:
    """The Telegram chat of a conversation id (a bare numeric chat id is taken as is).

    Raises:
        PermanentChannelError: the id belongs to another channel (never sent to Telegram).
    """
    identity = parse_conversation_id(str(recipient_id))
    if identity is None and str(recipient_id).lstrip("-").isdigit():
        return str(recipient_id)
    if identity is None or identity.channel != CHANNEL:
        raise PermanentChannelError(f"{str(recipient_id)[:40]!r} is not a Telegram conversation", channel=CHANNEL)
    return identity.chat_id or identity.user_id


class TelegramOutput(OutputChannel):
    """Rasa output channel over :class:`TelegramSender`.

    Rasa addresses the conversation id (``telegram:<user>`` / ``telegram:group:<chat>:<user>``);
    it is mapped back to the Telegram chat. ``chat_id`` overrides the recipient: a group
    message is answered in the group, as a reply to the user's message.
    """

    @classmethod
    def name(cls) -> str:
        """Channel name."""
        return CHANNEL

    def __init__(self, sender: TelegramSender, chat_id: Optional[int] = None,
                 reply_to_message_id: Optional[int] = None) -> None:
        self.sender = sender
        self.chat_id = chat_id
        self.reply_to_message_id = reply_to_message_id

    def _target(self, recipient_id: str) -> Any:
        return self.chat_id if self.chat_id is not None else telegram_chat(recipient_id)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """Send text (split when long)."""
        await self.sender.send_text(self._target(recipient_id), text, reply_to_message_id=self.reply_to_message_id)

    async def send_text_with_buttons(self, recipient_id: str, text: str, buttons: List[Dict[str, Any]],
                                     **kwargs: Any) -> None:
        """Send text with an inline keyboard."""
        await self.sender.send_text(self._target(recipient_id), text, buttons,
                                    reply_to_message_id=self.reply_to_message_id)

    async def send_quick_replies(self, recipient_id: str, text: str, quick_replies: List[Dict[str, Any]],
                                 **kwargs: Any) -> None:
        """Quick replies are sent as buttons."""
        await self.send_text_with_buttons(recipient_id, text, quick_replies)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        """Send an image by URL."""
        await self.sender.send_photo(self._target(recipient_id), image)

    async def send_attachment(self, recipient_id: str, attachment: Any, **kwargs: Any) -> None:
        """Attachments (links) are sent as text."""
        if isinstance(attachment, str):
            await self.send_text_message(recipient_id, attachment)
        else:
            logger.warning("unsupported attachment for Telegram dropped: %r", type(attachment))

    async def send_custom_json(self, recipient_id: str, json_message: Dict[str, Any], **kwargs: Any) -> None:
        """Custom payloads with ``text`` (and ``buttons``) are sent; anything else is logged."""
        if isinstance(json_message, dict) and json_message.get("text"):
            await self.sender.send_text(self._target(recipient_id), str(json_message["text"]),
                                        json_message.get("buttons"), reply_to_message_id=self.reply_to_message_id)
        else:
            logger.warning("unsupported custom payload for Telegram dropped")


# -- input channel --------------------------------------------------------------------------------


@dataclass
class TelegramInbound:
    """What we take from one update."""

    kind: str  # text | callback | media
    update_id: int
    user_id: int
    chat_id: int
    is_group: bool
    conversation_id: str = ""  # the Rasa sender id, set by the server (see bot.conversations.identity)
    text: Optional[str] = None
    message_id: Optional[int] = None
    callback_query_id: Optional[str] = None
    callback_data: Optional[str] = None
    button_titles: Dict[str, str] = field(default_factory=dict)
    metadata: Dict[str, Any] = field(default_factory=dict)


class TelegramInput(WebhookInput):
    """Telegram webhook channel (``/webhooks/telegram/webhook``)."""

    channel = CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> "TelegramInput":
        """Build from ``credentials.yml``: ``access_token``, ``webhook_secret`` (required), ``bot_username``.

        Everything else (API base, limits, timeouts) comes from :mod:`bot.settings`;
        ``api_base`` may be overridden in the credentials.
        """
        token, secret = cls.required_credentials(credentials, "Telegram", {"access_token": "TELEGRAM_BOT_TOKEN",
                                                                           "webhook_secret": "TELEGRAM_WEBHOOK_SECRET"})
        settings = get_settings()
        return cls(
            token,
            secret,
            bot_username=credentials.get("bot_username") or settings.telegram_bot_username,
            api_base=credentials.get("api_base") or settings.telegram_api_base,
            settings=settings,
        )

    def __init__(
        self,
        access_token: str,
        webhook_secret: str,
        *,
        bot_username: Optional[str] = None,
        api_base: Optional[str] = None,
        settings: Optional[Settings] = None,
        sender: Optional[TelegramSender] = None,
        database_url: Optional[str] = None,
    ) -> None:
        if not SECRET_RE.match(webhook_secret or ""):
            raise RasaException("TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        settings = settings or get_settings()
        super().__init__(settings, database_url, client=sender)
        self.access_token = access_token
        self.webhook_secret = webhook_secret
        self.bot_username = (bot_username or "").lstrip("@") or None
        self.bot_id = int(access_token.split(":", 1)[0]) if access_token.split(":", 1)[0].isdigit() else 0
        self.api_base = api_base or settings.telegram_api_base
        self.buttons = ButtonPayloads()

    @property
    def sender(self) -> TelegramSender:
        """The channel's sender (created on first use, in the server's event loop)."""
        if self._client is None:
            self._client = TelegramSender.from_settings(
                self._settings.copy(update={"telegram_bot_token": self.access_token}),
                api_base=self.api_base, database_url=self.database_url,
            )
        return self._client

    def get_output_channel(self) -> TelegramOutput:
        """Output channel for pushes through Rasa (recipient = conversation id, mapped to its chat)."""
        return TelegramOutput(self.sender)

    # -- parsing -----------------------------------------------------------------------------
    def verify_secret(self, header: Optional[str]) -> bool:
        """Constant-time comparison of the secret-token header."""
        return hmac.compare_digest((header or "").encode(), self.webhook_secret.encode())

    def parse_update(self, body: bytes) -> Update:
        """Bytes -> PTB ``Update`` (raises :class:`WebhookRejected` 400 on anything malformed)."""
        data = parse_json_object(body)
        if not isinstance(data.get("update_id"), int):
            raise WebhookRejected(400, "update_id missing or not an integer")
        try:
            return Update.de_json(data, self.sender.bot)
        except Exception as exc:  # PTB builds objects from any dict; whatever it trips on is a bad update
            raise WebhookRejected(400, f"not a Telegram update: {type(exc).__name__}") from exc

    def verify(self, request: Request) -> Update:
        """Secret token, size, then the update (401 / 413 / 400)."""
        if not self.verify_secret(request.headers.get("X-Telegram-Bot-Api-Secret-Token")):
            raise WebhookRejected(401, "missing or wrong secret token")
        check_size(request.body, request.headers.get("content-length"), self.max_body_bytes)
        return self.parse_update(request.body)

    async def classify(self, update: Update) -> Optional[TelegramInbound]:
        """Decide what an update is; None for updates we deliberately ignore (400 when it is malformed)."""
        try:
            return await self._classify(update)
        except (TypeError, ValueError, AttributeError, KeyError, IndexError, OverflowError) as exc:
            raise WebhookRejected(400, f"malformed Telegram update: {type(exc).__name__}") from exc

    async def _classify(self, update: Update) -> Optional[TelegramInbound]:
        if update.callback_query is not None:
            return self._classify_callback(update)
        message = update.message or update.edited_message
        if message is None:
            raise WebhookRejected(400, f"unsupported update type: {sorted(update.to_dict().keys())}")
        user = message.from_user
        if user is None or user.is_bot or message.chat.type == "channel":
            return None
        is_group = message.chat.type in ("group", "supergroup")
        if is_group and not await self._addressed(message):
            return None
        base = {
            "update_id": update.update_id, "user_id": user.id, "chat_id": message.chat.id, "is_group": is_group,
            "message_id": message.message_id,
            "conversation_id": conversation_id(CHANNEL, user.id, chat_id=message.chat.id if is_group else None),
            "metadata": {"telegram": {"chat_id": message.chat.id, "chat_type": message.chat.type,
                                      "update_id": update.update_id, "message_id": message.message_id,
                                      "edited": update.edited_message is not None,
                                      "language_code": user.language_code}},
        }
        if message.text:
            text = self._clean_text(message)
            return TelegramInbound(kind="text", text=text, **base) if text else None
        if any(getattr(message, name, None) for name in MEDIA_FIELDS):
            return TelegramInbound(kind="media", **base)
        return None  # service messages (members joined, pinned ...)

    def _classify_callback(self, update: Update) -> TelegramInbound:
        query = update.callback_query
        message = query.message
        chat = getattr(message, "chat", None)
        chat_id = chat.id if chat is not None else query.from_user.id
        titles: Dict[str, str] = {}
        markup = getattr(message, "reply_markup", None)
        for row in getattr(markup, "inline_keyboard", None) or ():
            for button in row:
                if button.callback_data:
                    titles[str(button.callback_data)] = button.text
        is_group = chat is not None and chat.type in ("group", "supergroup")
        return TelegramInbound(
            kind="callback", update_id=update.update_id, user_id=query.from_user.id, chat_id=chat_id,
            is_group=is_group,
            conversation_id=conversation_id(CHANNEL, query.from_user.id, chat_id=chat_id if is_group else None),
            message_id=getattr(message, "message_id", None), callback_query_id=query.id,
            callback_data=query.data, button_titles=titles,
            metadata={"telegram": {"chat_id": chat_id, "update_id": update.update_id, "callback": True,
                                   "language_code": query.from_user.language_code}},
        )

    async def _username(self) -> Optional[str]:
        if self.bot_username is None:
            try:
                self.bot_username = await self.sender.username()
            except ChannelError as exc:
                logger.warning("could not learn the bot's username: %s", exc)
        return self.bot_username

    async def _addressed(self, message: Message) -> bool:
        """Group rule: answer a mention of @bot, a reply to the bot, or a bot command."""
        reply = message.reply_to_message
        if reply is not None and reply.from_user is not None and reply.from_user.id == self.bot_id:
            return True
        username = (await self._username() or "").lower()
        entities = message.parse_entities() if message.text else message.parse_caption_entities()
        for entity, value in entities.items():
            if entity.type == "mention" and username and value.lower() == f"@{username}":
                return True
            if entity.type == "text_mention" and entity.user is not None and entity.user.id == self.bot_id:
                return True
            if entity.type == "bot_command" and entity.offset == 0:
                target = value.partition("@")[2].lower()
                if not target or target == username:
                    return True
        return False

    def _clean_text(self, message: Message) -> str:
        """Drop the @mention of the bot, map commands (``/start`` -> ``/greet``)."""
        text = message.text or ""
        if self.bot_username:
            text = re.sub(rf"@{re.escape(self.bot_username)}\b", " ", text, flags=re.IGNORECASE)
        text = re.sub(r"\s+", " ", text).strip()
        if text.startswith("/"):
            command, _, rest = text.partition(" ")
            command = command.split("@", 1)[0].lower()
            if command in COMMANDS:
                return COMMANDS[command]
            # Other commands are plain words for NLU; typed text never injects intents/entities.
            text = f"{command.lstrip('/')} {rest}".strip()
        return text

    # -- hooks of the webhook base -----------------------------------------------------------
    def admission_args(self, inbound: TelegramInbound) -> Dict[str, Any]:
        """Update ids are per bot: the claimed id is ``<bot id>:<update id>``."""
        return {"message_id": f"{self.bot_id}:{inbound.update_id}", "user_id": str(inbound.user_id)}

    def label(self, inbound: TelegramInbound) -> str:
        """The update id."""
        return str(inbound.update_id)

    def message_id(self, inbound: TelegramInbound) -> str:
        """``tg-<update id>``."""
        return f"tg-{inbound.update_id}"

    def response_body(self, body: Dict[str, Any], status: int) -> Dict[str, Any]:
        """Telegram answers carry ``ok``."""
        return {"ok": status < 400, **body}

    def output_for(self, inbound: TelegramInbound) -> TelegramOutput:
        """Replies go to the chat of the update; in a group, as a reply to the user's message."""
        return TelegramOutput(self.sender, chat_id=inbound.chat_id,
                              reply_to_message_id=inbound.message_id if inbound.is_group else None)

    async def prepare(self, inbound: TelegramInbound) -> bool:
        """A button click first stops the button's loading spinner."""
        if inbound.kind == "callback" and inbound.callback_query_id:
            await self.sender.answer_callback(inbound.callback_query_id)
        return True

    async def text_for(self, inbound: TelegramInbound, agent: Any) -> Optional[str]:
        """The text, or the payload of the clicked button (its title as a last resort)."""
        if inbound.kind != "callback":
            return inbound.text
        data = inbound.callback_data or ""
        payload, key = decode_callback(data)
        if not payload and key:
            payload = (self.buttons.from_domain(agent, key)
                       or await self.buttons.from_tracker(agent, inbound.conversation_id, key))
        payload = payload or inbound.button_titles.get(data)
        if not payload:
            logger.warning("unresolvable callback data %r from %s", inbound.callback_data, inbound.conversation_id)
        return payload
