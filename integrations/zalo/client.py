"""Zalo OA Open API v3 and ZNS client (no Rasa), all async over ``httpx`` with a timeout on every call.

* ``send_text`` - customer-service text, ``POST {api}/v3.0/oa/message/cs`` (header
  ``access_token``), split at 2000 characters on paragraph boundaries;
* ``send_buttons`` - the same endpoint with a template payload of up to 5 buttons:
  Rasa intent payloads (``/greet``) become ``oa.query.hide`` (sent back to us as a user
  message the citizen does not see), text payloads ``oa.query.show``, URLs ``oa.open.url``;
* ``send_zns`` - a ZNS template message to a phone number, ``POST {zns}/message/template``,
  for reminders outside the 7-day interaction window.

Zalo error codes become :mod:`integrations.errors` exceptions (-124/-216 token -> one
refresh and retry, then :class:`TokenError`; -211/-144 :class:`QuotaExceeded`; -213/-230
:class:`UserUnreachable`; -32/HTTP 429 :class:`TransientChannelError`, retried; a read/write error, a dropped
connection or HTTP 5xx may have been delivered: ``TransientChannelError(maybe_delivered=True)``,
never retried). Tokens come from :class:`integrations.zalo.tokens.ZaloTokenManager`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any, Dict, Optional, Sequence

import httpx

from bot.conversations.reachability import mark_unreachable
from bot.settings import Settings, get_settings
from bot.text.phone import international_phone
from bot.text.split import split_message
from integrations.errors import (
    PermanentChannelError,
    QuotaExceeded,
    TokenError,
    TransientChannelError,
    UserUnreachable,
    send_part,
)
from integrations.zalo.tokens import CHANNEL, ZaloTokenManager

logger = logging.getLogger(__name__)

MAX_TEXT = 2000
MAX_BUTTONS = 5
MAX_BUTTON_TITLE = 100
VN_TZ = dt.timezone(dt.timedelta(hours=7))

TOKEN_ERRORS = {-124, -216}
QUOTA_ERRORS = {-211, -144}
RATE_LIMIT_ERRORS = {-32}
UNREACHABLE_ERRORS = {-213: "not_follower", -230: "outside_window", -118: "no_account", -119: "no_account"}


def _seconds_to_quota_reset(now: Optional[dt.datetime] = None) -> float:
    """Zalo quotas reset at midnight Vietnam time."""
    now = now or dt.datetime.now(VN_TZ)
    tomorrow = (now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=5, microsecond=0)
    return (tomorrow - now).total_seconds()


def raise_for_zalo_error(code: int, message: str, *, channel: str = CHANNEL) -> None:
    """Map a non-zero Zalo ``error`` code to the matching exception."""
    if code in TOKEN_ERRORS or -14999 <= code <= -14000:
        raise TokenError(f"Zalo rejected the token ({code}): {message}", channel=channel, code=code)
    if code in QUOTA_ERRORS:
        raise QuotaExceeded(f"Zalo quota exceeded ({code}): {message}", retry_after=_seconds_to_quota_reset(),
                            channel=channel, code=code)
    if code in RATE_LIMIT_ERRORS:
        raise TransientChannelError(f"Zalo rate limit ({code}): {message}", retry_after=1.0, channel=channel,
                                    code=code)
    if code in UNREACHABLE_ERRORS:
        raise UserUnreachable(f"Zalo user unreachable ({code}): {message}", reason=UNREACHABLE_ERRORS[code],
                              channel=channel, code=code)
    raise PermanentChannelError(f"Zalo error {code}: {message}", channel=channel, code=code)


def normalize_phone(phone: str) -> str:
    """The ZNS form of ``phone`` (:func:`bot.text.phone.international_phone`); raises when it is not one."""
    digits = international_phone(phone)
    if digits is None:
        raise PermanentChannelError(f"not a Vietnamese phone number: {phone!r}", channel="zns")
    return digits


class ZaloClient:
    """Small async client of the Zalo OA Open API v3 and ZNS.

    Args:
        tokens: the token manager.
        api_base: ``https://openapi.zalo.me`` or a fake.
        zns_base: ``https://business.openapi.zalo.me`` or a fake.
        timeout: timeout of every call, seconds.
        max_retries: retries of calls that surely did not reach Zalo (connect errors, 429, rate
            limit -32); never after a read/write error, a dropped connection or a 5xx.
        max_retry_wait: longest Retry-After honoured in-process.
        retry_backoff: first backoff after a connection error (doubles each retry).
        default_template_id: ZNS template used when ``send_zns`` gets none.
        database_url: database for marking unreachable users.
    """

    def __init__(
        self,
        tokens: ZaloTokenManager,
        *,
        api_base: str = "https://openapi.zalo.me",
        zns_base: str = "https://business.openapi.zalo.me",
        timeout: float = 10.0,
        max_retries: int = 2,
        max_retry_wait: float = 10.0,
        retry_backoff: float = 0.5,
        default_template_id: Optional[str] = None,
        database_url: Optional[str] = None,
        max_connections: int = 64,
    ) -> None:
        self.tokens = tokens
        self.api_base = api_base.rstrip("/")
        self.zns_base = zns_base.rstrip("/")
        self.timeout = timeout
        self.max_retries, self.max_retry_wait, self.retry_backoff = max_retries, max_retry_wait, retry_backoff
        self.default_template_id = default_template_id
        self.database_url = database_url
        self._max_connections = max_connections
        self._http: Optional[httpx.AsyncClient] = None

    @classmethod
    def from_settings(cls, settings: Optional[Settings] = None, **overrides: Any) -> "ZaloClient":
        """A client (and token manager) configured from settings."""
        settings = settings or get_settings()
        database_url = overrides.pop("database_url", None)
        tokens = overrides.pop("tokens", None) or ZaloTokenManager.from_settings(settings, database_url=database_url)
        kwargs: Dict[str, Any] = {
            "api_base": settings.zalo_api_base, "zns_base": settings.zalo_zns_base,
            "timeout": settings.channel_http_timeout_s, "default_template_id": settings.zalo_zns_template_id,
            "database_url": database_url,
        }
        kwargs.update(overrides)
        return cls(tokens, **kwargs)

    @property
    def http(self) -> httpx.AsyncClient:
        """The shared async HTTP client (created on first use)."""
        if self._http is None or self._http.is_closed:
            self._http = httpx.AsyncClient(timeout=self.timeout,
                                           limits=httpx.Limits(max_connections=self._max_connections))
        return self._http

    async def close(self) -> None:
        """Close the HTTP client."""
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    # -- messages ----------------------------------------------------------------------------
    async def send_text(self, user_id: str, text: str) -> Optional[str]:
        """Send a customer-service text (split at 2000 characters); returns the last message id."""
        message_id = None
        chunks = split_message(text or "", MAX_TEXT)
        for index, chunk in enumerate(chunks):
            message_id = await send_part(index, len(chunks), self._send_cs(user_id, {"text": chunk}))
        return message_id

    async def send_buttons(self, user_id: str, text: str, buttons: Sequence[Dict[str, Any]]) -> Optional[str]:
        """Send text with up to 5 buttons (extra buttons are dropped with a warning)."""
        zalo_buttons = [b for b in (self.button(b) for b in buttons) if b]
        if not zalo_buttons:
            return await self.send_text(user_id, text)
        if len(zalo_buttons) > MAX_BUTTONS:
            logger.warning("Zalo shows at most %d buttons; %d dropped", MAX_BUTTONS, len(zalo_buttons) - MAX_BUTTONS)
            zalo_buttons = zalo_buttons[:MAX_BUTTONS]
        chunks = split_message(text or "", MAX_TEXT)
        for index, chunk in enumerate(chunks[:-1]):
            await send_part(index, len(chunks), self._send_cs(user_id, {"text": chunk}))
        message: Dict[str, Any] = {"attachment": {"type": "template", "payload": {"buttons": zalo_buttons}}}
        if chunks:
            message["text"] = chunks[-1]
        return await send_part(max(len(chunks) - 1, 0), len(chunks), self._send_cs(user_id, message))

    async def send_image(self, user_id: str, url: str) -> Optional[str]:
        """Send an image by URL (media template)."""
        message = {"attachment": {"type": "template", "payload": {
            "template_type": "media", "elements": [{"media_type": "image", "url": url}]}}}
        return await self._send_cs(user_id, message)

    async def send_zns(self, phone: str, template_id: Optional[str], template_data: Dict[str, Any],
                       tracking_id: str) -> Optional[str]:
        """Send a ZNS template message to ``phone``; returns Zalo's ``msg_id``."""
        template = template_id or self.default_template_id
        if not template:
            raise PermanentChannelError("no ZNS template id (ZALO_ZNS_TEMPLATE_ID)", channel="zns")
        body = {"phone": normalize_phone(phone), "template_id": str(template),
                "template_data": template_data, "tracking_id": str(tracking_id)}
        data = await self._post(f"{self.zns_base}/message/template", body, channel="zns")
        return (data.get("data") or {}).get("msg_id")

    @staticmethod
    def button(button: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        """A Rasa button -> a Zalo template button."""
        title = str(button.get("title") or "").strip()[:MAX_BUTTON_TITLE]
        if not title:
            return None
        if button.get("url"):
            return {"title": title, "type": "oa.open.url", "payload": {"url": str(button["url"])}}
        payload = str(button.get("payload") or title)
        kind = "oa.query.hide" if payload.startswith("/") else "oa.query.show"
        return {"title": title, "type": kind, "payload": payload}

    async def _send_cs(self, user_id: str, message: Dict[str, Any]) -> Optional[str]:
        body = {"recipient": {"user_id": str(user_id)}, "message": message}
        try:
            data = await self._post(f"{self.api_base}/v3.0/oa/message/cs", body)
        except UserUnreachable as exc:
            if exc.reason == "not_follower":
                await mark_unreachable(CHANNEL, str(user_id), exc.reason, self.database_url)
            raise
        return (data.get("data") or {}).get("message_id")

    # -- transport ---------------------------------------------------------------------------
    async def _post(self, url: str, body: Dict[str, Any], *, channel: str = CHANNEL) -> Dict[str, Any]:
        """POST with the access token; retries what surely did not arrive; one token refresh."""
        refreshed = False
        attempt = 0
        while True:
            token = await self.tokens.get_access_token()
            try:
                data = await self._post_once(url, body, token, channel)
            except TokenError:
                if refreshed:
                    raise
                refreshed = True
                await self.tokens.refresh(token)
                continue
            except TransientChannelError as exc:
                wait = exc.retry_after if exc.retry_after is not None else min(self.retry_backoff * 2**attempt, 5.0)
                if exc.maybe_delivered or isinstance(exc, QuotaExceeded) or attempt >= self.max_retries \
                        or wait > self.max_retry_wait:
                    raise
                attempt += 1
                await asyncio.sleep(wait)
                continue
            return data

    async def _post_once(self, url: str, body: Dict[str, Any], token: str, channel: str) -> Dict[str, Any]:
        try:
            reply = await self.http.post(url, json=body, headers={"access_token": token})
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise TransientChannelError(f"Zalo unreachable: {exc!r}", channel=channel) from exc
        except httpx.HTTPError as exc:  # read/write timeout, broken connection: may have been delivered
            raise TransientChannelError(f"Zalo call failed: {exc!r}", channel=channel, maybe_delivered=True) from exc
        if reply.status_code == 429:
            raise TransientChannelError("Zalo HTTP 429", retry_after=_retry_after(reply), channel=channel, code=429)
        if reply.status_code >= 500:  # the request reached Zalo (or its gateway): it may have been sent
            raise TransientChannelError(f"Zalo HTTP {reply.status_code}", channel=channel, code=reply.status_code,
                                        maybe_delivered=True)
        try:
            data = reply.json()
        except ValueError as exc:
            raise PermanentChannelError(f"Zalo answered HTTP {reply.status_code} without JSON", channel=channel,
                                        code=reply.status_code) from exc
        if not isinstance(data, dict):
            raise PermanentChannelError("unexpected Zalo response", channel=channel)
        code = data.get("error", 0)
        if reply.status_code >= 400 and not code:
            raise PermanentChannelError(f"Zalo HTTP {reply.status_code}", channel=channel, code=reply.status_code)
        if code:
            raise_for_zalo_error(int(code), str(data.get("message") or ""), channel=channel)
        return data


def _retry_after(reply: httpx.Response) -> Optional[float]:
    value = reply.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
