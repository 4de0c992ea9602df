"""Zalo OA OAuth v4 tokens (no Rasa): the pair lives in the database, refreshed under a lock.

The access token lasts ~25 h and each refresh token works ONCE. The pair lives in table
``oauth_tokens`` (provider ``zalo_oa``) and is refreshed ahead of expiry inside a database
lock - ``SELECT ... FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite - held across
the HTTP refresh call, so only one process refreshes; a waiter re-reads the row and finds
the fresh token. The env tokens only seed an empty table, so a restart never reuses a
spent refresh token.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from dataclasses import dataclass
from typing import Any, Dict, Optional

import httpx
from sqlalchemy import select

from bot.conversations.admission import insert_or_ignore
from bot.db.models import OAuthToken, utcnow
from bot.db.session import get_engine, session_scope
from bot.settings import Settings, get_settings
from integrations.errors import ChannelError, TokenError, TransientChannelError

logger = logging.getLogger(__name__)

CHANNEL = "zalo"
PROVIDER = "zalo_oa"
REFRESH_RETRY_S = 60.0  # after a failed ahead-of-expiry refresh, keep the still-valid token this long


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
            insert_or_ignore(session, OAuthToken, {
                "provider": self.provider, "access_token": self.seed_access_token or "", "updated_at": now,
                "refresh_token": self.seed_refresh_token, "expires_at": expires,
            }, conflict=["provider"])
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
