"""Typed errors of the outbound channel clients (Telegram, Zalo OA, ZNS).

Every sender raises only these, so callers (the webhook reply path, the reminder
engine) decide with one ``except`` ladder and never look at platform codes:

============================  ===========  ===================================================
exception                     retryable    what to do
============================  ===========  ===================================================
``TransientChannelError``     yes          retry after ``retry_after`` seconds (or backoff)
``QuotaExceeded``             yes          the daily quota is used up; retry after
                                           ``retry_after`` (next quota reset)
``TokenError``                later        credentials rejected and could not be refreshed:
                                           alert an operator, keep the message for later
``UserUnreachable``           no           blocked / unfollowed / outside the interaction
                                           window (``reason`` tells which; for Zalo
                                           ``reason == "outside_window"`` a ZNS may still work)
``PermanentChannelError``     no           the request itself is wrong (bad parameters ...)
============================  ===========  ===================================================

An ambiguous failure (a read timeout after the request was written) is raised as
``TransientChannelError`` with ``maybe_delivered=True``: the platform may have sent
the message, so a caller that must never send twice should not retry it blindly.
"""

from __future__ import annotations

from typing import Awaitable, Optional, TypeVar

T = TypeVar("T")


class ChannelError(Exception):
    """Base class of every channel error.

    Attributes:
        channel: ``"telegram"`` or ``"zalo"`` (or ``"zns"``).
        code: the platform's error code or HTTP status, when there is one.
        retryable: whether retrying the same call later can succeed.
    """

    retryable: bool = False

    def __init__(self, message: str, *, channel: Optional[str] = None, code: Optional[int] = None) -> None:
        super().__init__(message)
        self.channel = channel
        self.code = code


class TransientChannelError(ChannelError):
    """Timeout, connection error, HTTP 5xx or 429 / flood control: retry later.

    Attributes:
        retry_after: seconds the platform asked us to wait, if it said so.
        maybe_delivered: True when the request may have reached the platform (read timeout).
    """

    retryable = True

    def __init__(
        self,
        message: str,
        *,
        retry_after: Optional[float] = None,
        maybe_delivered: bool = False,
        channel: Optional[str] = None,
        code: Optional[int] = None,
    ) -> None:
        super().__init__(message, channel=channel, code=code)
        self.retry_after = retry_after
        self.maybe_delivered = maybe_delivered


class QuotaExceeded(TransientChannelError):
    """The account's (daily) sending quota is used up; ``retry_after`` points at the reset."""


class PermanentChannelError(ChannelError):
    """The platform rejected the request for good (bad parameters, unsupported content ...)."""

    retryable = False


class UserUnreachable(PermanentChannelError):
    """The user cannot receive messages from us on this channel.

    Attributes:
        reason: ``"blocked"``, ``"unfollowed"``, ``"not_follower"``, ``"outside_window"``,
            ``"chat_not_found"`` or ``"no_account"``.
    """

    def __init__(
        self,
        message: str,
        *,
        reason: str = "blocked",
        channel: Optional[str] = None,
        code: Optional[int] = None,
    ) -> None:
        super().__init__(message, channel=channel, code=code)
        self.reason = reason


class TokenError(ChannelError):
    """The access token is invalid or expired and could not be refreshed (operator action needed)."""

    retryable = True
    retry_after: Optional[float] = None


async def send_part(index: int, total: int, send: Awaitable[T]) -> T:
    """Await part ``index`` of a ``total``-part message; a retryable failure after earlier parts is ambiguous.

    Earlier parts went out, so sending the whole text again would repeat them: such a
    failure is raised as ``TransientChannelError(maybe_delivered=True)``.
    """
    try:
        return await send
    except ChannelError as exc:
        if index and exc.retryable and not getattr(exc, "maybe_delivered", False):
            raise TransientChannelError(f"{exc} (after {index} of {total} parts were sent)", channel=exc.channel,
                                        code=exc.code, maybe_delivered=True) from exc
        raise
