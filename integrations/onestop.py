"""The province's one-stop dossier system, behind one interface.

* :class:`LocalDossierSource` reads the project database, which the one-stop
  system fills through the authenticated push endpoint (:class:`OneStopPushInput`,
  ``POST /webhooks/onestop/dossiers``) or the ``import-dossiers`` command.
* :class:`HttpDossierSource` asks the one-stop REST API (OAuth2 client
  credentials, timeouts, retries with backoff).

Both raise :class:`SourceUnavailable` when the source cannot answer, so the
assistant can apologise and give the hotline instead of failing.

The push endpoint checks the bearer token first, then the size and the (depth-limited)
JSON with the channels' shared parser (:mod:`integrations.webhooks`), then every field's
JSON type and size (422 naming the field) before anything reaches the database.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import json
import logging
import time
from typing import Any, Awaitable, Callable, Dict, List, Optional, Protocol

import httpx
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from bot.db.models import Dossier
from bot.db.session import session_scope
from bot.dossiers.service import DossierRecord, upsert_dossier
from bot.settings import Settings, get_settings
from integrations.webhooks import WebhookRejected, check_size, parse_json

logger = logging.getLogger(__name__)


class SourceUnavailable(RuntimeError):
    """The dossier source is down or answered with an error."""


class DossierSource(Protocol):
    """Where dossiers come from."""

    async def get(self, code: str) -> Optional[DossierRecord]:
        """The dossier with this canonical code, None if there is none."""


class LocalDossierSource:
    """Dossiers from the project database."""

    def __init__(self, database_url: Optional[str] = None) -> None:
        self.database_url = database_url

    async def get(self, code: str) -> Optional[DossierRecord]:
        """Look the code up (indexed unique column)."""
        try:
            with session_scope(self.database_url) as session:
                row = session.execute(select(Dossier).where(Dossier.code == code)).scalar_one_or_none()
                return DossierRecord.from_row(row) if row else None
        except SQLAlchemyError as exc:
            logger.error("dossier database unavailable: %s", exc)
            raise SourceUnavailable("database unavailable") from exc


class HttpDossierSource:
    """Client of the one-stop REST API: ``GET {base}/dossiers/{code}`` with a bearer token."""

    def __init__(self, base_url: str, token_url: str, client_id: str, client_secret: str,
                 timeout: float = 5.0, retries: int = 2, backoff: float = 0.3,
                 transport: Optional[httpx.AsyncBaseTransport] = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
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


def make_source(settings: Optional[Settings] = None) -> DossierSource:
    """The configured dossier source (``ONESTOP_SOURCE``)."""
    settings = settings or get_settings()
    if settings.onestop_source == "http":
        missing = [n for n in ("onestop_base_url", "onestop_token_url", "onestop_client_id", "onestop_client_secret")
                   if not getattr(settings, n)]
        if missing:
            raise ValueError(f"ONESTOP_SOURCE=http needs {', '.join(m.upper() for m in missing)}")
        return HttpDossierSource(settings.onestop_base_url, settings.onestop_token_url,  # type: ignore[arg-type]
                                 settings.onestop_client_id, settings.onestop_client_secret,  # type: ignore[arg-type]
                                 timeout=settings.onestop_timeout, retries=settings.onestop_retries)
    return LocalDossierSource()


class PushFieldError(ValueError):
    """A dossier field of the wrong JSON type or size (the push endpoint answers 422 naming it)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


_REQUIRED_TEXT = ("code", "procedure_name", "status")
_OPTIONAL_TEXT = ("procedure_code", "applicant_name", "applicant_phone", "agency_name", "pickup_place", "note")
_DATES = {"appointment_date": dt.date.fromisoformat, "new_appointment_date": dt.date.fromisoformat,
          "received_at": dt.datetime.fromisoformat, "completed_at": dt.datetime.fromisoformat}
MAX_FEE_VND = 2**31 - 1  # the column is a 32-bit INTEGER


def check_dossier_fields(item: Dict[str, Any], where: str = "") -> None:
    """Check the JSON type of every known dossier field (unknown fields are ignored).

    Raises:
        PushFieldError: naming the first wrongly typed field.
    """
    for name in _REQUIRED_TEXT:
        if name in item and not isinstance(item[name], str):
            raise PushFieldError(f"{where}{name} must be a string", name)
    for name in _OPTIONAL_TEXT:
        if item.get(name) is not None and not isinstance(item[name], str):
            raise PushFieldError(f"{where}{name} must be a string or null", name)
    for name, parse in _DATES.items():
        value = item.get(name)
        if value is None or value == "":
            continue
        try:
            if not isinstance(value, str):
                raise TypeError(name)
            parse(value)
        except (TypeError, ValueError) as exc:
            kind = "datetime" if name.endswith("_at") else "date"
            raise PushFieldError(f"{where}{name} must be an ISO {kind} string or null", name) from exc
    docs = item.get("missing_documents")
    if docs is not None and not (isinstance(docs, list) and all(isinstance(d, str) for d in docs)):
        raise PushFieldError(f"{where}missing_documents must be a list of strings", "missing_documents")
    fee = item.get("fee_due_vnd")
    if fee is not None:
        whole = isinstance(fee, int) and not isinstance(fee, bool)
        digits = isinstance(fee, str) and fee.isascii() and fee.strip().isdigit()
        if not (whole or digits) or not 0 <= int(fee) <= MAX_FEE_VND:
            raise PushFieldError(f"{where}fee_due_vnd must be a whole number of dong from 0 to {MAX_FEE_VND}",
                                 "fee_due_vnd")


def check_dossier_sizes(record: DossierRecord, where: str = "") -> None:
    """Refuse values longer than their database column (instead of a database error)."""
    for column in Dossier.__table__.columns:
        length = getattr(column.type, "length", None)
        value = getattr(record, column.name, None)
        if length and isinstance(value, str) and len(value) > length:
            raise PushFieldError(f"{where}{column.name} is longer than {length} characters", column.name)


def validate_push(payload: Any) -> List[DossierRecord]:
    """A pushed dossier (or list of them) as records; ValueError / :class:`PushFieldError` if invalid."""
    items = payload if isinstance(payload, list) else [payload]
    if not items or not all(isinstance(i, dict) for i in items):
        raise ValueError("expected a dossier object or a list of them")
    records = []
    for index, item in enumerate(items, 1):
        where = f"dossier #{index}: " if isinstance(payload, list) else ""
        check_dossier_fields(item, where)
        record = DossierRecord.from_dict(item)
        check_dossier_sizes(record, where)
        records.append(record)
    return records


def apply_push(payload: Any, database_url: Optional[str] = None) -> int:
    """Validate a pushed dossier (or list of them) and upsert all in one transaction."""
    records = validate_push(payload)
    with session_scope(database_url) as session:
        for record in records:
            upsert_dossier(session, record)
    return len(records)


# --- push endpoint as a Rasa input channel (so it is served by `rasa run`) ---------

def _push_blueprint(token: str, max_bytes: int):  # type: ignore[no-untyped-def]
    from sanic import Blueprint, response
    from sanic.request import Request

    bp = Blueprint("onestop_push", __name__)

    @bp.route("/", methods=["GET"])
    async def health(_: Request) -> Any:
        return response.json({"status": "ok"})

    @bp.route("/dossiers", methods=["POST"])
    async def push(request: Request) -> Any:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            logger.warning("one-stop push rejected: bad token from %s", request.ip)
            return response.json({"error": "unauthorized"}, status=401)
        try:
            check_size(request.body or b"", request.headers.get("content-length"), max_bytes)
            payload = parse_json(request.body or b"")
        except WebhookRejected as exc:
            logger.warning("one-stop push rejected with %d: %s", exc.status, exc.reason)
            if exc.status == 413:
                return response.json({"error": "payload too large"}, status=413)
            malformed = exc.reason.startswith("malformed JSON")
            return response.json({"error": "malformed JSON" if malformed else exc.reason[:200]}, status=exc.status)
        try:
            count = await asyncio.get_running_loop().run_in_executor(None, apply_push, payload)
        except PushFieldError as exc:
            return response.json({"error": str(exc)[:300], "field": exc.field}, status=422)
        except ValueError as exc:
            return response.json({"error": str(exc)[:300]}, status=422)
        except SQLAlchemyError:
            logger.exception("one-stop push: database error")
            return response.json({"error": "database unavailable, retry later"}, status=503)
        return response.json({"accepted": count})

    return bp


try:  # the channel class needs Rasa; the rest of this module does not
    from rasa.core.channels.channel import InputChannel, UserMessage

    class OneStopPushInput(InputChannel):
        """``POST /webhooks/onestop/dossiers`` (Bearer ``ONESTOP_PUSH_TOKEN``): dossier status changes."""

        @classmethod
        def name(cls) -> str:
            """Channel name (URL prefix)."""
            return "onestop"

        @classmethod
        def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> "OneStopPushInput":
            """Needs ``push_token``."""
            if not credentials or not credentials.get("push_token"):
                raise ValueError("onestop channel needs 'push_token' (ONESTOP_PUSH_TOKEN)")
            return cls(str(credentials["push_token"]), int(credentials.get("max_bytes", 1_000_000)))

        def __init__(self, push_token: str, max_bytes: int = 1_000_000) -> None:
            self.push_token = push_token
            self.max_bytes = max_bytes

        def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Any:
            """Routes of the push endpoint."""
            return _push_blueprint(self.push_token, self.max_bytes)

except ImportError:  # pragma: no cover - only without Rasa installed
    pass


def records_from_file(text: str) -> List[DossierRecord]:
    """Parse an import file (JSON list or object with 'dossiers'), reporting the bad item."""
    data = json.loads(text)
    items = data.get("dossiers") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ValueError("expected a list of dossiers or {'dossiers': [...]}")
    out = []
    for i, item in enumerate(items, 1):
        try:
            if isinstance(item, dict):
                check_dossier_fields(item)
            out.append(DossierRecord.from_dict(item))
        except (ValueError, TypeError, AttributeError) as exc:
            raise ValueError(f"dossier #{i}: {exc}") from exc
    return out
