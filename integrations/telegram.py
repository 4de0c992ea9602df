"""Telegram channel: Rasa input/output channel, outbound sender and webhook registration.

Inbound (``POST /webhooks/telegram/webhook``):

1. the ``X-Telegram-Bot-Api-Secret-Token`` header is compared in constant time with the
   secret registered through ``setWebhook`` (401 otherwise); bodies above
   ``max_webhook_bytes`` get 413, malformed JSON / unknown update types 400;
2. the update is parsed with PTB's ``Update.de_json``; group messages are answered only
   when they address the bot (``@botname``, a reply to the bot, or a command);
3. :func:`integrations.channel_common.admit_inbound` de-duplicates ``update_id`` in the
   database and applies the per-user rate limit;
4. the webhook answers 200 at once and the message is handled in a background task,
   after the earlier messages of the same conversation (strictly in arrival order):
   text goes to Rasa with the server-set conversation id (``telegram:<user>`` in a
   private chat, ``telegram:group:<chat>:<user>`` in a group; replies go to the chat
   the message came from), photos / stickers / voice / files get ``utter_text_only``,
   a flood gets ``utter_rate_limited`` once.

Outbound (:class:`TelegramSender`, also used by reminders): PTB's ``Bot`` with its base
URL from settings; replies are split at 4096 characters on paragraph boundaries,
buttons become an inline keyboard whose ``callback_data`` is a short hash of the Rasa
payload, sends are paced (1 message/s per chat, 3 s per group, ~30/s overall),
``RetryAfter`` is waited out and retried, and ``Forbidden`` (the user blocked the bot)
marks the user unreachable and raises :class:`integrations.errors.UserUnreachable`.
A send is repeated only when it certainly did not reach Telegram (connect / pool
failures, ``RetryAfter``); after a read/write error, a dropped connection or a 5xx it
raises ``TransientChannelError(maybe_delivered=True)`` instead (never sent twice).

Button payloads: Telegram allows 64 bytes of ``callback_data``. Payloads that are short
ASCII (``/greet``, ``/affirm``) travel as ``=<payload>``; any other payload travels as
``#<16-char hash>`` and is resolved on click from (1) the buttons of the domain's
responses, then (2) the buttons the bot sent in this user's conversation (the tracker
store, shared by all replicas), and as a last resort (3) the clicked button's title is
sent as text for NLU. No extra table and no process memory are needed.

Webhook registration: ``python -m integrations.telegram set-webhook`` (or
:func:`register_webhook` from ``bot.cli``).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import logging
import re
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, List, Optional, Sequence, TypeVar

import httpx
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, ReplyParameters, Update
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import HTTPXRequest

from bot.conversations.identity import conversation_id, parse_conversation_id
from bot.settings import Settings, get_settings
from integrations.channel_common import (
    RESPONSE_RATE_LIMITED,
    RESPONSE_TEXT_ONLY,
    Admission,
    BackgroundTasks,
    WebhookRejected,
    admit_inbound,
    check_size,
    mark_unreachable,
    parse_json_object,
    render_response,
    split_message,
    utf16_len,
    webhook_blueprint,
)
from integrations.errors import (
    ChannelError,
    PermanentChannelError,
    TokenError,
    TransientChannelError,
    UserUnreachable,
)

logger = logging.getLogger(__name__)

CHANNEL = "telegram"
MAX_TEXT = 4096
MAX_CALLBACK_BYTES = 64
SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
COMMANDS = {"/start": "/greet", "/help": "/help"}
MAX_IN_FLIGHT = 1000  # background tasks per process before webhooks are refused with 503 (platform retries)
MEDIA_FIELDS = ("photo", "sticker", "voice", "audio", "document", "video", "video_note", "animation", "location",
                "contact", "venue", "poll", "dice")
T = TypeVar("T")


# -- button payloads in callback_data -------------------------------------------------------------

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


def decode_callback(data: str) -> tuple:
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


# -- outbound pacing ------------------------------------------------------------------------------


class SendThrottle:
    """Paces sends: one per ``chat_interval`` per chat (``group_interval`` for groups), ``global_rate``/s overall.

    Slots are reserved in call order, so messages to one chat keep their order. The
    reservations are a pacing cache only (losing them on restart is harmless).
    """

    def __init__(self, chat_interval: float = 1.0, group_interval: float = 3.0, global_rate: float = 30.0) -> None:
        self.chat_interval = chat_interval
        self.group_interval = group_interval
        self.global_gap = 1.0 / global_rate if global_rate > 0 else 0.0
        self._chat_next: Dict[str, float] = {}
        self._global_next = 0.0

    def _reserve(self, chat_id: Any) -> float:
        now = time.monotonic()
        key = str(chat_id)
        interval = self.group_interval if key.startswith("-") else self.chat_interval
        slot = max(now, self._chat_next.get(key, 0.0))
        self._chat_next[key] = slot + interval
        slot = max(slot, self._global_next)
        self._global_next = slot + self.global_gap
        if len(self._chat_next) > 10_000:  # forget chats whose slot has passed
            self._chat_next = {k: v for k, v in self._chat_next.items() if v > now}
        return slot

    async def wait(self, chat_id: Any) -> None:
        """Sleep until this chat may receive its next message."""
        delay = self._reserve(chat_id) - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)

    def defer(self, chat_id: Any, seconds: float) -> None:
        """Push the chat's (and the global) next slot ``seconds`` into the future (after a 429)."""
        until = time.monotonic() + seconds
        key = str(chat_id)
        self._chat_next[key] = max(self._chat_next.get(key, 0.0), until)
        self._global_next = max(self._global_next, until)


def _not_sent(exc: BaseException) -> bool:
    """True when PTB's error proves the request never left this process (connect / pool failure)."""
    cause = exc.__cause__
    while cause is not None:
        if isinstance(cause, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
            return True
        cause = cause.__cause__
    return False


def _retry_after_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


# -- sender -------------------------------------------------------------------------------------


class TelegramSender:
    """Sends messages with PTB's ``Bot``; every failure becomes an :mod:`integrations.errors` error.

    Args:
        token: the bot token.
        api_base: Bot API base URL (``https://api.telegram.org`` or a loopback fake).
        timeout: connect/read/write timeout of every call, seconds.
        chat_interval: minimum seconds between two messages to one private chat.
        group_interval: the same for group chats (Telegram allows ~20/min per group).
        global_rate: messages per second overall.
        max_retries: retries after ``RetryAfter`` or errors that prove nothing was sent (connect /
            pool failures); idempotent calls (``getMe``, ``setWebhook`` ...) also after 5xx / timeouts.
        max_retry_wait: longest ``RetryAfter`` waited in-process; longer ones are raised.
        retry_backoff: first backoff after a connection error (doubles each retry).
        database_url: database for marking blocked users (default ``DATABASE_URL``).
        pool_size: HTTP connections to the Bot API.
    """

    def __init__(
        self,
        token: str,
        *,
        api_base: str = "https://api.telegram.org",
        timeout: float = 10.0,
        chat_interval: float = 1.0,
        group_interval: float = 3.0,
        global_rate: float = 30.0,
        max_retries: int = 3,
        max_retry_wait: float = 30.0,
        retry_backoff: float = 0.5,
        database_url: Optional[str] = None,
        pool_size: int = 64,
    ) -> None:
        base = api_base.rstrip("/")
        self._requests = (
            HTTPXRequest(connection_pool_size=pool_size, read_timeout=timeout, write_timeout=timeout,
                         connect_timeout=timeout, pool_timeout=timeout),
            HTTPXRequest(connection_pool_size=1, read_timeout=timeout, write_timeout=timeout,
                         connect_timeout=timeout, pool_timeout=timeout),
        )
        self.bot = Bot(token, base_url=f"{base}/bot", base_file_url=f"{base}/file/bot", request=self._requests[0],
                       get_updates_request=self._requests[1])
        self.bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else None
        self.throttle = SendThrottle(chat_interval, group_interval, global_rate)
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait
        self.retry_backoff = retry_backoff
        self.database_url = database_url
        self._closed = False
        self._username: Optional[str] = None

    @classmethod
    def from_settings(cls, settings: Optional[Settings] = None, **overrides: Any) -> "TelegramSender":
        """A sender configured from :func:`bot.settings.get_settings`."""
        settings = settings or get_settings()
        if not settings.telegram_bot_token:
            raise TokenError("TELEGRAM_BOT_TOKEN is not set", channel=CHANNEL)
        kwargs: Dict[str, Any] = {
            "api_base": settings.telegram_api_base,
            "timeout": settings.channel_http_timeout_s,
            "chat_interval": settings.telegram_chat_interval_s,
            "group_interval": settings.telegram_group_interval_s,
            "global_rate": settings.telegram_global_rate_per_s,
        }
        kwargs.update(overrides)
        return cls(settings.telegram_bot_token, **kwargs)

    async def _ensure_open(self) -> None:
        if self._closed:  # HTTPXRequest builds its client at construction; only a closed one needs reopening
            await asyncio.gather(*(request.initialize() for request in self._requests))
            self._closed = False

    async def close(self) -> None:
        """Close the HTTP connection pools (the sender reopens them if used again)."""
        await asyncio.gather(*(request.shutdown() for request in self._requests))
        self._closed = True

    async def username(self) -> Optional[str]:
        """The bot's @username (``getMe``, cached)."""
        if self._username is None:
            me = await self._call(None, lambda _chat: self.bot.get_me(), throttled=False, idempotent=True)
            self._username = me.username
        return self._username

    # -- sending -----------------------------------------------------------------------------
    async def send_text(
        self,
        chat_id: Any,
        text: str,
        buttons: Optional[List[Dict[str, Any]]] = None,
        *,
        reply_to_message_id: Optional[int] = None,
    ) -> None:
        """Send ``text`` (split at 4096 characters), with ``buttons`` as an inline keyboard on the last part.

        Raises:
            UserUnreachable: the user blocked the bot / the chat does not exist (user marked unreachable).
            TransientChannelError: flood control longer than ``max_retry_wait``, Telegram unreachable;
                with ``maybe_delivered=True`` when the message may have gone out (read/write timeout,
                dropped connection, 5xx, a later part failing): do not resend it then.
            TokenError: the bot token was rejected.
            PermanentChannelError: Telegram refused the request.
        """
        chunks = split_message(text or "", MAX_TEXT, utf16_len)
        markup = self.keyboard(buttons) if buttons else None
        if not chunks:
            if markup is None:
                return
            logger.warning("buttons without text cannot be sent to Telegram; dropped")
            return
        reply = ReplyParameters(reply_to_message_id, allow_sending_without_reply=True) if reply_to_message_id else None
        for index, chunk in enumerate(chunks):

            def call(chat: Any, chunk: str = chunk, first: bool = index == 0,
                     last: bool = index == len(chunks) - 1) -> Awaitable[Message]:
                return self.bot.send_message(chat, chunk, reply_markup=markup if last else None,
                                             reply_parameters=reply if first else None)

            try:
                await self._call(chat_id, call)
            except ChannelError as exc:
                if index and exc.retryable and not getattr(exc, "maybe_delivered", False):
                    # earlier parts went out: sending the text again would repeat them
                    raise TransientChannelError(f"{exc} (after {index} of {len(chunks)} parts were sent)",
                                                channel=CHANNEL, code=exc.code, maybe_delivered=True) from exc
                raise

    async def send_photo(self, chat_id: Any, url: str, caption: Optional[str] = None) -> None:
        """Send a photo by URL."""
        await self._call(chat_id, lambda chat: self.bot.send_photo(chat, url, caption=caption))

    async def answer_callback(self, callback_query_id: str) -> None:
        """Stop the button's loading spinner; failures are logged, never raised."""
        try:
            await self._call(None, lambda _chat: self.bot.answer_callback_query(callback_query_id), throttled=False,
                             idempotent=True)
        except ChannelError as exc:
            logger.info("answerCallbackQuery failed: %s", exc)

    async def set_webhook(self, url: str, secret_token: str, *, drop_pending_updates: bool = False,
                          max_connections: int = 40) -> bool:
        """Register the webhook ``url`` with ``secret_token`` and our allowed update types."""
        return await self._call(None, lambda _chat: self.bot.set_webhook(
            url=url, secret_token=secret_token, allowed_updates=ALLOWED_UPDATES,
            max_connections=max_connections, drop_pending_updates=drop_pending_updates), throttled=False,
            idempotent=True)

    async def delete_webhook(self) -> bool:
        """Remove the webhook."""
        return await self._call(None, lambda _chat: self.bot.delete_webhook(), throttled=False, idempotent=True)

    async def webhook_info(self) -> Dict[str, Any]:
        """``getWebhookInfo`` as a dict."""
        info = await self._call(None, lambda _chat: self.bot.get_webhook_info(), throttled=False, idempotent=True)
        return info.to_dict()

    @staticmethod
    def keyboard(buttons: Sequence[Dict[str, Any]]) -> Optional[InlineKeyboardMarkup]:
        """Rasa buttons -> inline keyboard, one button per row (Vietnamese titles are long)."""
        rows = []
        for button in buttons:
            title = str(button.get("title") or "").strip()
            if not title:
                continue
            if button.get("url"):
                rows.append([InlineKeyboardButton(title, url=str(button["url"]))])
            else:
                payload = str(button.get("payload") or title)
                rows.append([InlineKeyboardButton(title, callback_data=encode_callback(payload))])
        return InlineKeyboardMarkup(rows) if rows else None

    # -- error handling ----------------------------------------------------------------------
    async def _call(self, chat_id: Any, fn: Callable[[Any], Awaitable[T]], *, throttled: bool = True,
                    idempotent: bool = False) -> T:
        """Run one Bot API call with pacing, retries and typed errors.

        A call is repeated only when the failed attempt certainly did not reach Telegram
        (connect error or timeout, pool timeout, ``RetryAfter``, ``ChatMigrated``), or when
        ``idempotent`` says repeating it is harmless. A failure after the request may have
        been written (read/write timeout or error, dropped connection, HTTP 5xx) raises
        :class:`TransientChannelError` with ``maybe_delivered=True`` at once: a message is
        never sent twice by this client.
        """
        await self._ensure_open()
        attempt = 0
        while True:
            if throttled:
                await self.throttle.wait(chat_id)
            try:
                return await fn(chat_id)
            except RetryAfter as exc:
                wait = _retry_after_seconds(exc)
                if attempt >= self.max_retries or wait > self.max_retry_wait:
                    raise TransientChannelError(f"Telegram flood control: retry after {wait}s", retry_after=wait,
                                                channel=CHANNEL, code=429) from exc
                logger.warning("Telegram flood control for chat %s: waiting %.1fs", chat_id, wait)
                self.throttle.defer(chat_id, wait)
                if not throttled:
                    await asyncio.sleep(wait)
            except Forbidden as exc:
                if chat_id is not None:
                    await mark_unreachable(CHANNEL, str(chat_id), f"blocked: {exc.message}"[:200], self.database_url)
                raise UserUnreachable(exc.message, reason="blocked", channel=CHANNEL, code=403) from exc
            except InvalidToken as exc:
                raise TokenError(f"Telegram rejected the bot token: {exc.message}", channel=CHANNEL,
                                 code=401) from exc
            except ChatMigrated as exc:
                if attempt >= self.max_retries:
                    raise PermanentChannelError("chat migrated repeatedly", channel=CHANNEL) from exc
                logger.info("chat %s migrated to %s", chat_id, exc.new_chat_id)
                chat_id = exc.new_chat_id
            except BadRequest as exc:
                text = exc.message.lower()
                if "chat not found" in text or "user is deactivated" in text or "bot was kicked" in text:
                    if chat_id is not None:
                        await mark_unreachable(CHANNEL, str(chat_id), exc.message[:200], self.database_url)
                    raise UserUnreachable(exc.message, reason="chat_not_found", channel=CHANNEL, code=400) from exc
                raise PermanentChannelError(exc.message, channel=CHANNEL, code=400) from exc
            except NetworkError as exc:  # TimedOut too; connect/pool errors, dropped connections, 5xx
                not_sent = _not_sent(exc)
                if not (not_sent or idempotent) or attempt >= self.max_retries:
                    kind = "timed out" if isinstance(exc, TimedOut) else "unavailable"
                    raise TransientChannelError(f"Telegram {kind}: {exc.message}", channel=CHANNEL,
                                                maybe_delivered=not not_sent) from exc
                await asyncio.sleep(min(self.retry_backoff * 2**attempt, 5.0))
            except TelegramError as exc:
                raise PermanentChannelError(exc.message, channel=CHANNEL) from exc
            attempt += 1


# -- output channel -------------------------------------------------------------------------------


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


class TelegramInput(InputChannel):
    """Telegram webhook channel (``/webhooks/telegram/webhook``)."""

    @classmethod
    def name(cls) -> str:
        """Channel name (also the URL prefix under ``/webhooks/``)."""
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> "TelegramInput":
        """Build from ``credentials.yml``: ``access_token``, ``webhook_secret`` (required), ``bot_username``.

        Everything else (API base, limits, timeouts) comes from :mod:`bot.settings`;
        ``api_base`` may be overridden in the credentials.
        """
        if not credentials:
            cls.raise_missing_credentials_exception()
        token = credentials.get("access_token")
        secret = credentials.get("webhook_secret")
        if not token or not secret:
            raise RasaException("The Telegram channel needs 'access_token' and 'webhook_secret' in its credentials "
                                "(TELEGRAM_BOT_TOKEN, TELEGRAM_WEBHOOK_SECRET).")
        settings = get_settings()
        return cls(
            str(token),
            str(secret),
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
        self.access_token = access_token
        self.webhook_secret = webhook_secret
        self.bot_username = (bot_username or "").lstrip("@") or None
        self.bot_id = int(access_token.split(":", 1)[0]) if access_token.split(":", 1)[0].isdigit() else 0
        self.api_base = api_base or settings.telegram_api_base
        self.max_body_bytes = settings.max_webhook_bytes
        self.rate_limit = settings.user_rate_limit_per_minute
        self.database_url = database_url
        self._settings = settings
        self._sender = sender
        self.buttons = ButtonPayloads()
        self.tasks = BackgroundTasks()
        self.max_in_flight = MAX_IN_FLIGHT

    @property
    def sender(self) -> TelegramSender:
        """The channel's sender (created on first use, in the server's event loop)."""
        if self._sender is None:
            self._sender = TelegramSender.from_settings(
                self._settings.copy(update={"telegram_bot_token": self.access_token}),
                api_base=self.api_base, database_url=self.database_url,
            )
        return self._sender

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

    async def classify(self, update: Update) -> Optional[TelegramInbound]:
        """Decide what an update is; None for updates we deliberately ignore."""
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

    # -- webhook -----------------------------------------------------------------------------
    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Routes: ``GET /`` (health) and ``POST /webhook``."""
        async def close() -> None:
            if self._sender is not None:
                await self._sender.close()

        return webhook_blueprint(f"integrations_telegram_{id(self)}", type(self).__module__,
                                 lambda request: self.handle_webhook(request, on_new_message), self.tasks, close)

    async def handle_webhook(self, request: Request,
                             on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> HTTPResponse:
        """Verify, parse, admit; then process in the background and answer 200."""
        try:
            if not self.verify_secret(request.headers.get("X-Telegram-Bot-Api-Secret-Token")):
                raise WebhookRejected(401, "missing or wrong secret token")
            check_size(request.body, request.headers.get("content-length"), self.max_body_bytes)
            update = self.parse_update(request.body)
            try:
                inbound = await self.classify(update)
            except (TypeError, ValueError, AttributeError, KeyError, IndexError, OverflowError) as exc:
                raise WebhookRejected(400, f"malformed Telegram update: {type(exc).__name__}") from exc
        except WebhookRejected as exc:
            logger.warning("telegram webhook rejected with %d from %s: %s", exc.status, request.ip, exc.reason)
            return response.json({"ok": False, "error": exc.reason[:200]}, status=exc.status)
        if inbound is None:
            return response.json({"ok": True, "status": "ignored"})
        if len(self.tasks) >= self.max_in_flight:  # overloaded: not claimed, so Telegram's retry is processed
            logger.warning("telegram: %d updates in flight; asking Telegram to retry later", len(self.tasks))
            return response.json({"ok": False, "error": "busy"}, status=503)
        with self.tasks.reserve(inbound.conversation_id) as slot:  # arrival order, before the first await
            try:
                admission = await admit_inbound(
                    platform=CHANNEL, message_id=f"{self.bot_id}:{inbound.update_id}", channel=CHANNEL,
                    user_id=str(inbound.user_id), limit=self.rate_limit, database_url=self.database_url,
                )
            except Exception:
                logger.exception("telegram admission failed; Telegram will retry update %s", inbound.update_id)
                return response.json({"ok": False, "error": "temporarily unavailable"}, status=503)
            if admission.duplicate:
                logger.info("telegram update %s already processed; skipped", inbound.update_id)
                return response.json({"ok": True, "status": "duplicate"})
            agent = getattr(request.app.ctx, "agent", None)
            slot.spawn(self.process(inbound, admission, on_new_message, agent), f"telegram-{inbound.update_id}")
        return response.json({"ok": True, "status": "limited" if admission.limited else "accepted"})

    async def process(self, inbound: TelegramInbound, admission: Admission,
                      on_new_message: Callable[[UserMessage], Awaitable[Any]], agent: Any) -> None:
        """Handle one admitted update (runs after the webhook answered, in conversation order)."""
        sender_id = inbound.conversation_id
        output = TelegramOutput(self.sender, chat_id=inbound.chat_id,
                                reply_to_message_id=inbound.message_id if inbound.is_group else None)
        try:
            if inbound.kind == "callback" and inbound.callback_query_id:
                await self.sender.answer_callback(inbound.callback_query_id)
            if admission.limited:
                if admission.notify:
                    await self._notice(agent, RESPONSE_RATE_LIMITED, sender_id, output)
                logger.info("telegram user %s is over the rate limit; update %s absorbed", sender_id,
                            inbound.update_id)
                return
            if inbound.kind == "media":
                await self._notice(agent, RESPONSE_TEXT_ONLY, sender_id, output)
                return
            text = inbound.text
            if inbound.kind == "callback":
                text = await self._resolve_callback(inbound, agent, sender_id)
                if not text:
                    logger.warning("unresolvable callback data %r from %s", inbound.callback_data, sender_id)
                    return
            await on_new_message(UserMessage(text, output, sender_id, input_channel=self.name(),
                                             message_id=f"tg-{inbound.update_id}", metadata=inbound.metadata))
        except UserUnreachable as exc:
            logger.info("telegram user %s unreachable: %s", sender_id, exc)
        except ChannelError as exc:
            logger.warning("telegram reply to %s failed: %r", sender_id, exc)

    async def _notice(self, agent: Any, name: str, sender_id: str, output: TelegramOutput) -> None:
        message = await render_response(agent, name, sender_id, self.name())
        if message:
            await output.send_response(sender_id, message)

    async def _resolve_callback(self, inbound: TelegramInbound, agent: Any, sender_id: str) -> Optional[str]:
        data = inbound.callback_data or ""
        literal, key = decode_callback(data)
        if literal:
            return literal
        if key:
            payload = self.buttons.from_domain(agent, key) or await self.buttons.from_tracker(agent, sender_id, key)
            if payload:
                return payload
        return inbound.button_titles.get(data)


# -- credentials and webhook registration ---------------------------------------------------------


def credentials_entry(settings: Optional[Settings] = None, *, as_env_refs: bool = False) -> Optional[Dict[str, Any]]:
    """The ``integrations.telegram.TelegramInput`` credentials, or None when Telegram is not configured.

    Args:
        settings: settings to read (default :func:`get_settings`).
        as_env_refs: write ``${TELEGRAM_...}`` references (expanded by Rasa at start-up)
            instead of the secret values, so no secret lands in a generated file.
    """
    settings = settings or get_settings()
    if not settings.telegram_enabled:
        return None
    if as_env_refs:
        entry = {"access_token": "${TELEGRAM_BOT_TOKEN}", "webhook_secret": "${TELEGRAM_WEBHOOK_SECRET}"}
        if settings.telegram_bot_username:
            entry["bot_username"] = "${TELEGRAM_BOT_USERNAME}"
        return entry
    entry = {"access_token": settings.telegram_bot_token, "webhook_secret": settings.telegram_webhook_secret}
    if settings.telegram_bot_username:
        entry["bot_username"] = settings.telegram_bot_username
    return entry


def webhook_url(settings: Settings) -> str:
    """``{PUBLIC_BASE_URL}/webhooks/telegram/webhook``."""
    if not settings.public_base_url:
        raise ValueError("PUBLIC_BASE_URL is not set")
    return f"{settings.public_base_url.rstrip('/')}/webhooks/{CHANNEL}/webhook"


async def register_webhook(settings: Optional[Settings] = None, *, url: Optional[str] = None,
                           drop_pending_updates: bool = False) -> str:
    """Register our webhook (with the secret token) at Telegram; returns the URL registered."""
    settings = settings or get_settings()
    if not settings.telegram_enabled:
        raise ValueError("set TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET first")
    target = url or webhook_url(settings)
    sender = TelegramSender.from_settings(settings)
    try:
        await sender.set_webhook(target, str(settings.telegram_webhook_secret),
                                 drop_pending_updates=drop_pending_updates)
    finally:
        await sender.close()
    return target


def main(argv: Optional[List[str]] = None) -> int:
    """``python -m integrations.telegram set-webhook|delete-webhook|webhook-info``."""
    parser = argparse.ArgumentParser(prog="python -m integrations.telegram", description=main.__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    set_cmd = sub.add_parser("set-webhook", help="register {PUBLIC_BASE_URL}/webhooks/telegram/webhook")
    set_cmd.add_argument("--url", help="override the webhook URL")
    set_cmd.add_argument("--drop-pending-updates", action="store_true")
    sub.add_parser("delete-webhook", help="remove the webhook")
    sub.add_parser("webhook-info", help="show getWebhookInfo")
    args = parser.parse_args(argv)
    settings = get_settings()

    async def run() -> int:
        if args.command == "set-webhook":
            url = await register_webhook(settings, url=args.url, drop_pending_updates=args.drop_pending_updates)
            print(f"webhook set: {url}")
            return 0
        sender = TelegramSender.from_settings(settings)
        try:
            if args.command == "delete-webhook":
                await sender.delete_webhook()
                print("webhook deleted")
            else:
                print(await sender.webhook_info())
        finally:
            await sender.close()
        return 0

    try:
        return asyncio.run(run())
    except (ChannelError, ValueError) as exc:
        print(f"error: {exc}")
        return 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
