"""Reminder senders over the channel clients: Telegram, Zalo OA and ZNS.

Each adapter implements :class:`bot.reminders.delivery.TextSender` (or
``TemplateSender``) and turns the typed errors of :mod:`integrations.errors` into the
:class:`~bot.reminders.delivery.DeliveryError` subclasses the reminder outbox acts on:

* ``UserUnreachable`` → unreachable (or outside the Zalo window, ``reason="outside_window"``);
* ``TransientChannelError`` → transient with its ``retry_after``, or ambiguous when
  ``maybe_delivered`` (never resent);
* ``TokenError`` → transient (``reason="token"``);
* ``PermanentChannelError`` → permanent; any other ``ChannelError`` → transient when
  retryable, else permanent.

Other exceptions (httpx, unexpected) pass through; the router classifies them.
:func:`channel_senders` builds the configured ones (the reminder worker's wiring).
"""

from __future__ import annotations

import asyncio
import inspect
import re
from typing import Any, Callable, Dict, Mapping, Optional

from bot.reminders.delivery import (
    AmbiguousFailure,
    DeliveryError,
    OutsideWindowFailure,
    PermanentFailure,
    TransientFailure,
    UnreachableFailure,
)
from bot.settings import Settings, get_settings
from integrations import errors as ch
from integrations.telegram.client import TelegramSender
from integrations.zalo.client import ZaloClient


def delivery_error(exc: ch.ChannelError) -> DeliveryError:
    """The :class:`DeliveryError` of a channel client's error (same message as the outbox records)."""
    message = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, ch.UserUnreachable):
        reason = getattr(exc, "reason", None) or "blocked"
        if reason == "outside_window":
            return OutsideWindowFailure(message, reason=reason)
        return UnreachableFailure(message, reason=reason)
    if isinstance(exc, ch.TransientChannelError):
        if getattr(exc, "maybe_delivered", False):
            return AmbiguousFailure(message)
        return TransientFailure(message, retry_after=exc.retry_after, reason=type(exc).__name__)
    if isinstance(exc, ch.TokenError):
        return TransientFailure(message, retry_after=getattr(exc, "retry_after", None), reason="token")
    if isinstance(exc, ch.PermanentChannelError):
        return PermanentFailure(message)
    return TransientFailure(message) if getattr(exc, "retryable", False) else PermanentFailure(message)


async def _send(call: Callable[..., Any], *args: Any) -> Any:
    """Await an async client call, or run a sync one in a worker thread; translate channel errors."""
    try:
        if inspect.iscoroutinefunction(call):
            return await call(*args)
        result = await asyncio.to_thread(call, *args)
        if inspect.isawaitable(result):
            return await result
        return result
    except ch.ChannelError as exc:
        raise delivery_error(exc) from exc


class TelegramTextSender:
    """A ``TelegramSender`` as a reminder ``TextSender`` (chat ids are integers)."""

    def __init__(self, client: Any) -> None:
        """Wrap a TelegramSender."""
        self.client = client

    async def send_text(self, recipient_id: str, text: str) -> Any:
        """``TelegramSender.send_text(chat_id, text)``."""
        chat_id: Any = int(recipient_id) if re.fullmatch(r"-?\d+", recipient_id) else recipient_id
        return await _send(self.client.send_text, chat_id, text)


class ZaloTextSender:
    """``ZaloClient.send_text`` (OA consultation message) as a reminder ``TextSender``."""

    def __init__(self, client: Any) -> None:
        """Wrap a ZaloClient."""
        self.client = client

    async def send_text(self, recipient_id: str, text: str) -> Any:
        """``ZaloClient.send_text(user_id, text)``."""
        return await _send(self.client.send_text, recipient_id, text)


class ZnsTemplateSender:
    """``ZaloClient.send_zns`` (template message to a phone) as a reminder ``TemplateSender``."""

    def __init__(self, client: Any) -> None:
        """Wrap a ZaloClient."""
        self.client = client

    async def send_template(self, phone: str, template_id: str, data: Mapping[str, str], tracking_id: str) -> Any:
        """``ZaloClient.send_zns(phone, template_id, template_data, tracking_id)``."""
        return await _send(self.client.send_zns, phone, template_id, dict(data), tracking_id)


def channel_senders(settings: Optional[Settings] = None, database_url: Optional[str] = None) -> Dict[str, Any]:
    """The configured senders: ``{"telegram": ..., "zalo": ..., "zns": ...}`` (None when not configured).

    Telegram needs ``TELEGRAM_BOT_TOKEN``; Zalo OA and ZNS need ``ZALO_APP_ID``.
    """
    settings = settings or get_settings()
    database_url = database_url or settings.database_url
    senders: Dict[str, Any] = {"telegram": None, "zalo": None, "zns": None}
    if settings.telegram_bot_token:
        senders["telegram"] = TelegramTextSender(TelegramSender.from_settings(settings, database_url=database_url))
    if settings.zalo_app_id:
        client = ZaloClient.from_settings(settings, database_url=database_url)
        senders.update(zalo=ZaloTextSender(client), zns=ZnsTemplateSender(client))
    return senders
