"""Zalo Official Account channel: OA API v3 client, ZNS, OAuth v4 tokens, Rasa channel.

Outbound (:class:`ZaloClient`, also used by reminders), all async over ``httpx`` with a
timeout on every call:

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
never retried).

Tokens (:class:`ZaloTokenManager`): the access token lasts ~25 h and each refresh token
works ONCE. The pair lives in table ``oauth_tokens`` (provider ``zalo_oa``) and is
refreshed ahead of expiry inside a database lock - ``SELECT ... FOR UPDATE`` on
PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite - held across the HTTP refresh call, so only
one process refreshes; a waiter re-reads the row and finds the fresh token. The env
tokens only seed an empty table, so a restart never reuses a spent refresh token.

Inbound (``POST /webhooks/zalo/webhook``): ``X-ZEvent-Signature`` =
``mac=`` + sha256(app_id + raw body + timestamp + OA secret key) compared in constant
time *before* the body is parsed (the timestamp is read from the raw bytes, then must
equal the parsed one), stale timestamps refused, ``message.msg_id`` de-duplicated in
the database, the per-user rate limit applied, HTTP 200 returned at once and the event
processed in a background task after the earlier events of the same conversation
(Zalo retries slow webhooks). The conversation id is ``zalo:<user id>``, set here.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, List, Optional, Sequence

import httpx
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sqlalchemy import select

from bot.db.models import OAuthToken, utcnow
from bot.db.session import get_engine, session_scope
from bot.settings import Settings, get_settings
from integrations.channel_common import (
    RESPONSE_RATE_LIMITED,
    RESPONSE_TEXT_ONLY,
    RESPONSE_WELCOME_FOLLOW,
    Admission,
    BackgroundTasks,
    WebhookRejected,
    _insert,
    admit_inbound,
    check_size,
    mark_unreachable,
    parse_json_object,
    render_response,
    split_message,
    webhook_blueprint,
)
from integrations.errors import (
    ChannelError,
    PermanentChannelError,
    QuotaExceeded,
    TokenError,
    TransientChannelError,
    UserUnreachable,
)
from integrations.zalo_webhook import (  # noqa: F401 - signature helpers re-exported
    TIMESTAMP,
    event_object,
    expected_signature,
    platform_id,
    signed_timestamp,
    verify_signature,
    zalo_conversation,
    zalo_user,
)

logger = logging.getLogger(__name__)

CHANNEL = "zalo"
PROVIDER = "zalo_oa"
MAX_TEXT = 2000
MAX_BUTTONS = 5
MAX_BUTTON_TITLE = 100
MAX_IN_FLIGHT = 1000  # background tasks per process before webhooks are refused with 503 (platform retries)
REFRESH_RETRY_S = 60.0  # after a failed ahead-of-expiry refresh, keep the still-valid token this long
VN_TZ = dt.timezone(dt.timedelta(hours=7))

TOKEN_ERRORS = {-124, -216}
QUOTA_ERRORS = {-211, -144}
RATE_LIMIT_ERRORS = {-32}
UNREACHABLE_ERRORS = {-213: "not_follower", -230: "outside_window", -118: "no_account", -119: "no_account"}

MEDIA_EVENTS = {"user_send_image", "user_send_sticker", "user_send_gif", "user_send_file", "user_send_audio",
                "user_send_voice", "user_send_video", "user_send_location", "user_send_link",
                "user_send_business_card"}
IGNORED_EVENTS = {"user_seen_message", "user_received_message", "user_reacted_message", "oa_reacted_message",
                  "user_click_chatnow", "user_submit_info", "add_user_to_tag", "change_oa_daily_quota",
                  "change_template_status", "user_feedback", "anonymous_send_text"}


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
    """``0912 345 678`` / ``+84912345678`` -> ``84912345678`` (the format ZNS requires)."""
    digits = re.sub(r"\D", "", phone or "")
    if digits.startswith("0"):
        digits = "84" + digits[1:]
    if not (digits.startswith("84") and 10 <= len(digits) <= 12):
        raise PermanentChannelError(f"not a Vietnamese phone number: {phone!r}", channel="zns")
    return digits


# -- tokens ---------------------------------------------------------------------------------------


@dataclass
class _TokenRow:
    access_token: str
    refresh_token: Optional[str]
    expires_at: dt.datetime


class ZaloTokenManager:
    """OAuth v4 token pair of the OA, persisted in ``oauth_tokens`` and refreshed under a DB lock.

    Use one manager (and one :class:`ZaloClient`) per event loop.

    Args:
        app_id: Zalo app id.
        app_secret: app secret key (the ``secret_key`` header of the refresh call).
        oauth_base: ``https://oauth.zaloapp.com`` or a fake.
        seed_access_token: ``ZALO_ACCESS_TOKEN``, used only if the table has no row yet.
        seed_refresh_token: ``ZALO_REFRESH_TOKEN``, likewise.
        refresh_margin_s: refresh when less than this is left of the access token's life.
        timeout: timeout of the refresh call, seconds.
        database_url: database (default ``DATABASE_URL``).
    """

    def __init__(
        self,
        *,
        app_id: str,
        app_secret: Optional[str],
        oauth_base: str = "https://oauth.zaloapp.com",
        seed_access_token: Optional[str] = None,
        seed_refresh_token: Optional[str] = None,
        refresh_margin_s: float = 3600,
        timeout: float = 10.0,
        database_url: Optional[str] = None,
        provider: str = PROVIDER,
    ) -> None:
        self.app_id = app_id
        self.app_secret = app_secret
        self.oauth_base = oauth_base.rstrip("/")
        self.seed_access_token = seed_access_token
        self.seed_refresh_token = seed_refresh_token
        self.margin = dt.timedelta(seconds=refresh_margin_s)
        self.timeout = timeout
        self.database_url = database_url
        self.provider = provider
        self._cached: Optional[_TokenRow] = None
        self._lock: Optional[asyncio.Lock] = None
        self._next_attempt = 0.0  # monotonic time before which a failed refresh is not retried

    @classmethod
    def from_settings(cls, settings: Optional[Settings] = None, **overrides: Any) -> "ZaloTokenManager":
        """A manager configured from settings."""
        settings = settings or get_settings()
        kwargs: Dict[str, Any] = {
            "app_id": settings.zalo_app_id or "", "app_secret": settings.zalo_app_secret,
            "oauth_base": settings.zalo_oauth_base, "seed_access_token": settings.zalo_access_token,
            "seed_refresh_token": settings.zalo_refresh_token,
            "refresh_margin_s": settings.zalo_token_refresh_margin_s, "timeout": settings.channel_http_timeout_s,
        }
        kwargs.update(overrides)
        return cls(**kwargs)

    def _async_lock(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    def _fresh(self, row: Optional[_TokenRow], now: dt.datetime) -> bool:
        return row is not None and row.expires_at - self.margin > now

    async def get_access_token(self) -> str:
        """A valid access token, refreshed first when it is close to expiry."""
        if self._fresh(self._cached, utcnow()):
            return self._cached.access_token  # type: ignore[union-attr]
        async with self._async_lock():  # one refresh attempt per process at a time
            row = await asyncio.to_thread(self._load_or_seed)
            if self._fresh(row, utcnow()):
                self._cached = row
                return row.access_token
            if time.monotonic() < self._next_attempt and row.expires_at > utcnow():
                return row.access_token  # a refresh failed moments ago; do not hammer the OAuth server
            try:
                row = await asyncio.to_thread(self._refresh_locked, None)
            except ChannelError:
                if row.expires_at > utcnow():
                    self._next_attempt = time.monotonic() + REFRESH_RETRY_S
                    logger.warning("Zalo token refresh failed; the current token is valid until %s UTC",
                                   row.expires_at, exc_info=True)
                    return row.access_token
                raise
            self._cached = row
            return row.access_token

    async def refresh(self, stale_access_token: str) -> str:
        """Refresh after the API rejected ``stale_access_token`` (no-op if someone already did)."""
        async with self._async_lock():
            self._cached = None
            row = await asyncio.to_thread(self._refresh_locked, stale_access_token)
            self._cached = row
            return row.access_token

    def invalidate(self) -> None:
        """Forget the in-process copy (the next call re-reads the database)."""
        self._cached = None

    # -- database (worker threads) -----------------------------------------------------------
    def _load_or_seed(self) -> _TokenRow:
        with session_scope(self.database_url) as session:
            row = session.execute(select(OAuthToken).where(OAuthToken.provider == self.provider)).scalar_one_or_none()
            if row is not None:
                return _TokenRow(row.access_token, row.refresh_token, row.expires_at)
            if not (self.seed_access_token or self.seed_refresh_token):
                raise TokenError("no Zalo OA token stored and none configured (ZALO_ACCESS_TOKEN / "
                                 "ZALO_REFRESH_TOKEN)", channel=CHANNEL)
            now = utcnow()
            # With a refresh token the first use refreshes at once: the stored pair then has a known expiry.
            expires = now if self.seed_refresh_token else now + dt.timedelta(hours=25)
            session.execute(_insert(session, OAuthToken).values(
                provider=self.provider, access_token=self.seed_access_token or "", updated_at=now,
                refresh_token=self.seed_refresh_token, expires_at=expires,
            ).on_conflict_do_nothing(index_elements=["provider"]))
        with session_scope(self.database_url) as session:
            row = session.execute(select(OAuthToken).where(OAuthToken.provider == self.provider)).scalar_one()
            logger.info("seeded the Zalo OA token row from the environment")
            return _TokenRow(row.access_token, row.refresh_token, row.expires_at)

    def _refresh_locked(self, stale_access_token: Optional[str]) -> _TokenRow:
        """Lock the token row, re-check it, refresh over HTTP if still needed, store the new pair."""
        is_sqlite = get_engine(self.database_url).dialect.name == "sqlite"
        with session_scope(self.database_url) as session:
            if is_sqlite:
                session.connection().exec_driver_sql("BEGIN IMMEDIATE")  # database write lock until commit
            row = session.execute(
                select(OAuthToken).where(OAuthToken.provider == self.provider).with_for_update()
            ).scalar_one_or_none()
            if row is None:
                raise TokenError("no Zalo OA token row", channel=CHANNEL)
            now = utcnow()
            current = _TokenRow(row.access_token, row.refresh_token, row.expires_at)
            if stale_access_token is None and self._fresh(current, now):
                return current  # another process refreshed while we waited for the lock
            if stale_access_token is not None and row.access_token != stale_access_token:
                return current
            if not row.refresh_token or not self.app_secret:
                raise TokenError("the Zalo access token needs a refresh but no refresh token / app secret is set",
                                 channel=CHANNEL)
            data = self._post_refresh(row.refresh_token)
            row.access_token = data["access_token"]
            row.refresh_token = data["refresh_token"]
            row.expires_at = now + dt.timedelta(seconds=int(data.get("expires_in") or 90_000))
            row.updated_at = now
            fresh = _TokenRow(row.access_token, row.refresh_token, row.expires_at)
        logger.info("Zalo OA access token refreshed; valid until %s UTC", fresh.expires_at)
        return fresh

    def _post_refresh(self, refresh_token: str) -> Dict[str, Any]:
        url = f"{self.oauth_base}/v4/oa/access_token"
        form = {"refresh_token": refresh_token, "app_id": self.app_id, "grant_type": "refresh_token"}
        try:
            with httpx.Client(timeout=self.timeout) as client:
                reply = client.post(url, data=form, headers={"secret_key": str(self.app_secret)})
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise TransientChannelError(f"Zalo OAuth unreachable: {exc!r}", channel=CHANNEL) from exc
        except httpx.HTTPError as exc:
            logger.critical("Zalo token refresh failed after sending (%r): the refresh token may be spent; "
                            "re-authorise the OA if the next refresh fails", exc)
            raise TransientChannelError(f"Zalo OAuth failed: {exc!r}", channel=CHANNEL, maybe_delivered=True) from exc
        if reply.status_code >= 500 or reply.status_code == 429:
            raise TransientChannelError(f"Zalo OAuth HTTP {reply.status_code}", channel=CHANNEL,
                                        code=reply.status_code)
        try:
            data = reply.json()
        except ValueError as exc:
            raise TransientChannelError("Zalo OAuth answered non-JSON", channel=CHANNEL) from exc
        if not isinstance(data, dict) or not data.get("access_token") or not data.get("refresh_token"):
            error = data.get("error") if isinstance(data, dict) else None
            name = data.get("error_name") if isinstance(data, dict) else None
            raise TokenError(f"Zalo refused the refresh ({error}: {name})", channel=CHANNEL,
                             code=error if isinstance(error, int) else None)
        return data


# -- client ---------------------------------------------------------------------------------------


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
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait
        self.retry_backoff = retry_backoff
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
            message_id = await _part(index, len(chunks), self._send_cs(user_id, {"text": chunk}))
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
            await _part(index, len(chunks), self._send_cs(user_id, {"text": chunk}))
        message: Dict[str, Any] = {"attachment": {"type": "template", "payload": {"buttons": zalo_buttons}}}
        if chunks:
            message["text"] = chunks[-1]
        return await _part(max(len(chunks) - 1, 0), len(chunks), self._send_cs(user_id, message))

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


async def _part(index: int, total: int, send: Awaitable[Optional[str]]) -> Optional[str]:
    """Await part ``index`` of a multi-part message; a retryable failure after earlier parts is ambiguous."""
    try:
        return await send
    except ChannelError as exc:
        if index and exc.retryable and not getattr(exc, "maybe_delivered", False):
            # earlier parts went out: sending the text again would repeat them
            raise TransientChannelError(f"{exc} (after {index} of {total} parts were sent)", channel=exc.channel,
                                        code=exc.code, maybe_delivered=True) from exc
        raise


def _retry_after(reply: httpx.Response) -> Optional[float]:
    value = reply.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


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


class ZaloInput(InputChannel):
    """Zalo OA webhook channel (``/webhooks/zalo/webhook``)."""

    @classmethod
    def name(cls) -> str:
        """Channel name (also the URL prefix under ``/webhooks/``)."""
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> "ZaloInput":
        """Build from ``credentials.yml``: ``app_id``, ``oa_secret_key`` (required), ``app_secret``.

        Base URLs, limits and the token seeds come from :mod:`bot.settings`.
        """
        if not credentials:
            cls.raise_missing_credentials_exception()
        app_id = credentials.get("app_id")
        oa_secret_key = credentials.get("oa_secret_key")
        if not app_id or not oa_secret_key:
            raise RasaException("The Zalo channel needs 'app_id' and 'oa_secret_key' in its credentials "
                                "(ZALO_APP_ID, ZALO_OA_SECRET_KEY).")
        return cls(str(app_id), str(oa_secret_key), app_secret=credentials.get("app_secret"),
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
        self.app_id = app_id
        self.oa_secret_key = oa_secret_key
        self.app_secret = app_secret or settings.zalo_app_secret
        if not self.app_secret:
            logger.warning("ZALO_APP_SECRET is not set: the Zalo access token cannot be refreshed")
        self.max_body_bytes = settings.max_webhook_bytes
        self.max_age_s = settings.zalo_webhook_max_age_s
        self.rate_limit = settings.user_rate_limit_per_minute
        self.database_url = database_url
        self._settings = settings
        self._client = client
        self.tasks = BackgroundTasks()
        self.max_in_flight = MAX_IN_FLIGHT

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
    def verify(self, body: bytes, headers: Any) -> Dict[str, Any]:
        """Size, signature and freshness checks on the raw bytes, then the (depth-limited) JSON parse.

        Returns the event, or raises :class:`WebhookRejected`.
        """
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

    @staticmethod
    def classify(event: Dict[str, Any]) -> ZaloInbound:
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

    # -- webhook -----------------------------------------------------------------------------
    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Routes: ``GET /`` (health) and ``POST /webhook``."""
        async def close() -> None:
            if self._client is not None:
                await self._client.close()

        return webhook_blueprint(f"integrations_zalo_{id(self)}", type(self).__module__,
                                 lambda request: self.handle_webhook(request, on_new_message), self.tasks, close)

    async def handle_webhook(self, request: Request,
                             on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> HTTPResponse:
        """Verify and admit; answer 200 at once and process in the background."""
        try:
            event = self.verify(request.body, request.headers)
            inbound = self.classify(event)
        except WebhookRejected as exc:
            logger.warning("zalo webhook rejected with %d from %s: %s", exc.status, request.ip, exc.reason)
            return response.json({"error": exc.reason[:200]}, status=exc.status)
        if inbound.kind == "ignored":
            return response.json({"status": "ignored"})
        if len(self.tasks) >= self.max_in_flight:  # overloaded: not claimed, so Zalo's retry is processed
            logger.warning("zalo: %d events in flight; asking Zalo to retry later", len(self.tasks))
            return response.json({"error": "busy"}, status=503)
        with self.tasks.reserve(inbound.conversation_id) as slot:  # arrival order, before the first await
            try:
                admission = await admit_inbound(
                    platform=CHANNEL, message_id=inbound.dedup_id, channel=CHANNEL,
                    user_id=None if inbound.kind == "unfollow" else inbound.user_id,
                    limit=self.rate_limit, count_towards_limit=inbound.kind in ("text", "media"),
                    database_url=self.database_url,
                )
            except Exception:
                logger.exception("zalo admission failed; Zalo may retry event %s", inbound.dedup_id)
                return response.json({"error": "temporarily unavailable"}, status=503)
            if admission.duplicate:
                logger.info("zalo event %s already processed; skipped", inbound.dedup_id)
                return response.json({"status": "duplicate"})
            agent = getattr(request.app.ctx, "agent", None)
            slot.spawn(self.process(inbound, admission, on_new_message, agent), f"zalo-{inbound.dedup_id}")
        return response.json({"status": "limited" if admission.limited else "accepted"})

    async def process(self, inbound: ZaloInbound, admission: Admission,
                      on_new_message: Callable[[UserMessage], Awaitable[Any]], agent: Any) -> None:
        """Handle one admitted event (runs after the webhook answered, in conversation order)."""
        output = ZaloOutput(self.client)
        user_id = inbound.user_id  # raw Zalo id: chat_users / reachability
        sender_id = inbound.conversation_id
        try:
            if inbound.kind == "unfollow":
                await mark_unreachable(CHANNEL, user_id, "unfollowed", self.database_url)
                return
            if admission.limited:
                if admission.notify:
                    await self._notice(agent, RESPONSE_RATE_LIMITED, sender_id, output)
                logger.info("zalo user %s is over the rate limit; event %s absorbed", user_id, inbound.dedup_id)
                return
            if inbound.kind == "follow":
                await self._notice(agent, RESPONSE_WELCOME_FOLLOW, sender_id, output)
            elif inbound.kind == "media":
                await self._notice(agent, RESPONSE_TEXT_ONLY, sender_id, output)
            else:
                await on_new_message(UserMessage(inbound.text, output, sender_id, input_channel=self.name(),
                                                 message_id=inbound.dedup_id, metadata=inbound.metadata))
        except UserUnreachable as exc:
            logger.info("zalo user %s unreachable: %s", user_id, exc)
        except ChannelError as exc:
            logger.warning("zalo reply to %s failed: %r", user_id, exc)

    async def _notice(self, agent: Any, name: str, sender_id: str, output: ZaloOutput) -> None:
        message = await render_response(agent, name, sender_id, self.name())
        if message:
            await output.send_response(sender_id, message)


# -- credentials ----------------------------------------------------------------------------------


def credentials_entry(settings: Optional[Settings] = None, *, as_env_refs: bool = False) -> Optional[Dict[str, Any]]:
    """The ``integrations.zalo.ZaloInput`` credentials, or None when Zalo is not configured.

    Args:
        settings: settings to read (default :func:`get_settings`).
        as_env_refs: write ``${ZALO_...}`` references instead of the secret values.
    """
    settings = settings or get_settings()
    if not settings.zalo_enabled:
        return None
    if as_env_refs:
        entry = {"app_id": "${ZALO_APP_ID}", "oa_secret_key": "${ZALO_OA_SECRET_KEY}"}
        if settings.zalo_app_secret:
            entry["app_secret"] = "${ZALO_APP_SECRET}"  # noqa: S105 - an env reference, not a secret
        return entry
    entry = {"app_id": settings.zalo_app_id, "oa_secret_key": settings.zalo_oa_secret_key}
    if settings.zalo_app_secret:
        entry["app_secret"] = settings.zalo_app_secret
    return entry
