"""Telegram Bot API client (no Rasa): PTB's ``Bot`` with pacing, retries and typed errors.

:class:`TelegramSender` (also used by the reminder worker): the base URL comes from the
settings; replies are split at 4096 characters on paragraph boundaries, buttons become
an inline keyboard whose ``callback_data`` is encoded by :mod:`integrations.telegram.buttons`,
sends are paced (1 message/s per chat, 3 s per group, ~30/s overall), ``RetryAfter`` is
waited out and retried, and ``Forbidden`` (the user blocked the bot) marks the user
unreachable and raises :class:`integrations.errors.UserUnreachable`. A send is repeated
only when it certainly did not reach Telegram (connect / pool failures, ``RetryAfter``);
after a read/write error, a dropped connection or a 5xx it raises
``TransientChannelError(maybe_delivered=True)`` instead (never sent twice).

:func:`register_webhook` registers ``{PUBLIC_BASE_URL}/webhooks/telegram/webhook`` with the
secret token (``python -m integrations.telegram set-webhook``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
import warnings
from typing import Any, Awaitable, Callable, Dict, List, Optional, Sequence, TypeVar

import httpx
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, ReplyParameters
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

from bot.conversations.reachability import mark_unreachable
from bot.settings import Settings, get_settings
from bot.text.split import split_message, utf16_len
from integrations.errors import (
    ChannelError,
    PermanentChannelError,
    TokenError,
    TransientChannelError,
    UserUnreachable,
    send_part,
)
from integrations.telegram.buttons import encode_callback

logger = logging.getLogger(__name__)

CHANNEL = "telegram"
MAX_TEXT = 4096
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
T = TypeVar("T")


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

            await send_part(index, len(chunks), self._call(chat_id, call))

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


# -- webhook registration -------------------------------------------------------------------------


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
