"""Client of the province's one-stop REST API (no Rasa): OAuth2 client credentials, timeouts,
retries with backoff. Raises :class:`bot.dossiers.sources.SourceUnavailable` when the API
cannot answer, so the assistant can apologise and give the hotline instead of failing.
"""

from __future__ import annotations

import asyncio
import time
from typing import Awaitable, Callable, Optional

import httpx

from bot.dossiers.service import DossierRecord
from bot.dossiers.sources import SourceUnavailable


class HttpDossierSource:
    """Client of the one-stop REST API: ``GET {base}/dossiers/{code}`` with a bearer token."""

    def __init__(self, base_url: str, token_url: str, client_id: str, client_secret: str,
                 timeout: float = 5.0, retries: int = 2, backoff: float = 0.3,
                 transport: Optional[httpx.AsyncBaseTransport] = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token_url = token_url
        self.client_id, self.client_secret = client_id, client_secret
        self.timeout, self.retries, self.backoff = timeout, retries, backoff
        self._transport = transport
        self._token: Optional[str] = None
        self._token_expiry = 0.0
        self._token_lock = asyncio.Lock()

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=self.timeout, transport=self._transport)

    async def _access_token(self, client: httpx.AsyncClient, force: bool = False) -> str:
        async with self._token_lock:
            if self._token and not force and time.monotonic() < self._token_expiry - 30:
                return self._token
            resp = await client.post(self.token_url, data={"grant_type": "client_credentials"},
                                     auth=(self.client_id, self.client_secret))
            if resp.status_code != 200:
                raise SourceUnavailable(f"token endpoint answered {resp.status_code}")
            body = resp.json()
            self._token = str(body["access_token"])
            self._token_expiry = time.monotonic() + float(body.get("expires_in", 300))
            return self._token

    async def _with_retries(self, call: Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]) -> httpx.Response:
        last: Optional[BaseException] = None
        async with self._client() as client:
            for attempt in range(self.retries + 1):
                try:
                    resp = await call(client)
                    if resp.status_code == 401:
                        await self._access_token(client, force=True)
                        resp = await call(client)
                    if resp.status_code < 500 and resp.status_code != 429:
                        return resp
                    last = SourceUnavailable(f"one-stop API answered {resp.status_code}")
                except (httpx.TransportError, SourceUnavailable, ValueError, KeyError) as exc:
                    last = exc
                if attempt < self.retries:
                    await asyncio.sleep(self.backoff * (2 ** attempt))
        raise SourceUnavailable(str(last)) from last

    async def get(self, code: str) -> Optional[DossierRecord]:
        """Fetch a dossier; None on 404."""
        async def call(client: httpx.AsyncClient) -> httpx.Response:
            token = await self._access_token(client)
            return await client.get(f"{self.base_url}/dossiers/{code}", headers={"Authorization": f"Bearer {token}"})

        resp = await self._with_retries(call)
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            raise SourceUnavailable(f"one-stop API answered {resp.status_code}")
        try:
            return DossierRecord.from_dict(resp.json())
        except (ValueError, TypeError) as exc:
            raise SourceUnavailable(f"malformed dossier from one-stop API: {exc}") from exc
