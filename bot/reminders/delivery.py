"""How a notice reaches a citizen: a small ``Sender`` protocol and channel routing.

The reminder core talks only to :class:`TextSender` / :class:`TemplateSender`, given
to it (the channel adapters live in ``integrations/senders.py`` and raise the
:class:`DeliveryError` subclasses below themselves). Any other exception is
classified once by :func:`classify` (HTTP/transport errors of httpx, or unknown):

* transient: the platform certainly did not take the message (connect error or
  timeout, pool timeout, 429 with ``retry_after``, quota, rejected token) → retry later;
* unreachable (blocked the bot, unfollowed the OA) → stop pushing to that user;
* outside the Zalo interaction window → fall back to a ZNS template when configured;
* permanent (bad request) → give up on this notice only;
* ambiguous: the request may have reached the platform (read/write timeout or error,
  dropped connection, HTTP 5xx, a multi-part message cut short, any unexpected
  error) → never retried, so a notice is never sent twice.
"""

from __future__ import annotations

import datetime as dt
import inspect
import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Mapping, Optional, Protocol, runtime_checkable

from bot.text.phone import international_phone

logger = logging.getLogger(__name__)


@runtime_checkable
class TextSender(Protocol):
    """Sends a plain text to a user of one channel (raises on failure)."""

    async def send_text(self, recipient_id: str, text: str) -> Any:
        """Send ``text`` to ``recipient_id`` (the channel's user / chat id)."""


@runtime_checkable
class TemplateSender(Protocol):
    """Sends a registered template message to a phone number (Zalo ZNS)."""

    async def send_template(self, phone: str, template_id: str, data: Mapping[str, str], tracking_id: str) -> Any:
        """Send template ``template_id`` with ``data`` to ``phone``."""


# --- failures ------------------------------------------------------------------------------------


class DeliveryError(Exception):
    """A classified delivery failure (raised by the channel adapters, or built by :func:`classify`)."""

    transient = False
    unreachable = False
    ambiguous = False
    outside_window = False

    def __init__(self, message: str, *, retry_after: Optional[float] = None, reason: Optional[str] = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.reason = reason


class TransientFailure(DeliveryError):
    """Certainly not delivered; retry later (connect errors, 429, quota, expired token)."""

    transient = True


class AmbiguousFailure(DeliveryError):
    """The platform may have delivered it (the request may have been sent): never resent."""

    ambiguous = True


class UnreachableFailure(DeliveryError):
    """The user blocked us / left: no more pushes to this user."""

    unreachable = True


class OutsideWindowFailure(DeliveryError):
    """Zalo: the user has not interacted within the window; a ZNS may still work."""

    outside_window = True


class PermanentFailure(DeliveryError):
    """This notice cannot be delivered (bad request, no sender for the channel ...)."""


def classify(exc: BaseException) -> DeliveryError:
    """Map any exception raised by a sender to a :class:`DeliveryError`."""
    if isinstance(exc, DeliveryError):
        return exc
    message = f"{type(exc).__name__}: {exc}"
    try:
        import httpx

        if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
            return TransientFailure(message)  # the request never left this process
        if isinstance(exc, httpx.HTTPError):  # read/write error or timeout, dropped connection, ...
            return AmbiguousFailure(message)
    except ImportError:  # pragma: no cover
        pass
    if isinstance(exc, ConnectionRefusedError):
        return TransientFailure(message)
    # A timeout, a reset connection or an unexpected error may come after the platform took
    # the message: not knowing, we do not resend (at most once).
    return AmbiguousFailure(message, reason="unexpected")


# --- adapters -----------------------------------------------------------------------------------


class CallableTextSender:
    """Adapter: any ``send_text``-like callable (sync or async) as a :class:`TextSender`."""

    def __init__(self, func: Callable[[str, str], Any]) -> None:
        """Wrap ``func(recipient_id, text)``."""
        self._func = func

    async def send_text(self, recipient_id: str, text: str) -> Any:
        """Send through the wrapped callable."""
        result = self._func(recipient_id, text)
        if inspect.isawaitable(result):
            return await result
        return result


# --- routing ------------------------------------------------------------------------------------


@dataclass
class Recipient:
    """Who gets a notice, as the router needs it."""

    channel: str
    channel_user_id: str
    last_interaction_at: Optional[dt.datetime]  # naive UTC
    phone: Optional[str]  # applicant phone of the dossier (for ZNS)


@dataclass
class Delivered:
    """A successful delivery."""

    via: str  # "telegram" | "zalo" | "zns" | ...
    detail: Optional[str] = None


@dataclass
class Router:
    """Chooses the way to each recipient and sends.

    Attributes:
        text_senders: channel name (``ChatUser.channel``) → sender.
        zns: the ZNS sender (Zalo template messages to a phone), if any.
        zns_template_id: the approved ZNS template to use outside the Zalo window.
        zalo_window: how long after the user's last message Zalo lets the OA write.
    """

    text_senders: Dict[str, TextSender] = field(default_factory=dict)
    zns: Optional[TemplateSender] = None
    zns_template_id: Optional[str] = None
    zalo_window: dt.timedelta = dt.timedelta(days=7)

    async def deliver(
        self, recipient: Recipient, text: str, template_data: Mapping[str, str], tracking_id: str, now: dt.datetime
    ) -> Delivered:
        """Send ``text`` (or the ZNS template) to ``recipient``; raises :class:`DeliveryError`.

        Args:
            recipient: the chat user and the dossier's phone.
            text: the rendered notice.
            template_data: parameters of the ZNS template.
            tracking_id: the notice key (ZNS tracking id).
            now: naive UTC now (for the Zalo window).
        """
        if recipient.channel == "zalo":
            inside = (recipient.last_interaction_at is not None
                      and now - recipient.last_interaction_at <= self.zalo_window)
            if inside:
                try:
                    await self._text(recipient, text)
                    return Delivered("zalo")
                except Exception as exc:  # noqa: BLE001 - classified below
                    failure = classify(exc)
                    if not failure.outside_window:
                        raise failure from exc
            return await self._zns(recipient, template_data, tracking_id)
        await self._text(recipient, text)
        return Delivered(recipient.channel)

    async def _text(self, recipient: Recipient, text: str) -> None:
        sender = self.text_senders.get(recipient.channel)
        if sender is None:
            raise PermanentFailure(f"no push sender for channel {recipient.channel!r}", reason="no_sender")
        try:
            await sender.send_text(recipient.channel_user_id, text)
        except Exception as exc:  # noqa: BLE001 - classified
            raise classify(exc) from exc

    async def _zns(self, recipient: Recipient, data: Mapping[str, str], tracking_id: str) -> Delivered:
        phone = international_phone(recipient.phone)
        if self.zns is None or not self.zns_template_id or not phone:
            why = "no ZNS template configured" if not self.zns_template_id or self.zns is None else "no phone"
            raise PermanentFailure(f"outside the Zalo window and {why}", reason="outside_window")
        try:
            await self.zns.send_template(phone, self.zns_template_id, data, tracking_id)
        except Exception as exc:  # noqa: BLE001 - classified
            failure = classify(exc)
            if failure.unreachable or failure.outside_window:  # the phone, not the OA follower, is unreachable
                raise PermanentFailure(str(failure), reason=failure.reason) from exc
            raise failure from exc
        return Delivered("zns", detail=phone[:-4] + "****")

