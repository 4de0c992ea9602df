"""The one-stop push endpoint (``POST /webhooks/onestop/dossiers``, Bearer ``ONESTOP_PUSH_TOKEN``).

A Rasa input channel only so that ``rasa run`` serves it. The bearer token is checked
first, then the size and the (depth-limited) JSON with the channels' shared parser
(:mod:`integrations.http`), then every field's JSON type and size
(:mod:`bot.dossiers.records`: 422 naming the field) before anything reaches the database.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from typing import Any, Awaitable, Callable, Dict, Optional

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sqlalchemy.exc import SQLAlchemyError

from bot.db.session import session_scope
from bot.dossiers.records import PushFieldError, validate_push
from bot.dossiers.service import upsert_dossier
from integrations.http import WebhookRejected, health_blueprint, read_json

logger = logging.getLogger(__name__)


def apply_push(payload: Any, database_url: Optional[str] = None) -> int:
    """Validate a pushed dossier (or list of them) and upsert all in one transaction."""
    records = validate_push(payload)
    with session_scope(database_url) as session:
        for record in records:
            upsert_dossier(session, record)
    return len(records)


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

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Routes: ``GET /`` (health) and ``POST /dossiers``."""
        bp = health_blueprint("onestop_push", __name__)

        @bp.route("/dossiers", methods=["POST"])
        async def push(request: Request) -> HTTPResponse:
            return await self.handle_push(request)

        return bp

    async def handle_push(self, request: Request) -> HTTPResponse:
        """Authenticate, parse, validate and store a pushed dossier (or list of them)."""
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {self.push_token}".encode()):
            logger.warning("one-stop push rejected: bad token from %s", request.ip)
            return response.json({"error": "unauthorized"}, status=401)
        try:
            payload = read_json(request, self.max_bytes, want_object=False)
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
