"""``POST /console/nlg``: Rasa's NLG-server endpoint, answering with the texts staff edited.

Request (Rasa's protocol): ``{"response", "arguments", "tracker": {"slots", ...}, "channel": {"name"}}``;
answer ``{"text", "buttons", ...}``. Authenticated by ``Authorization: Bearer CONSOLE_NLG_TOKEN``
before the body is read; a body over :data:`MAX_BODY_BYTES` is refused unread (413), a malformed
one is a 400/422, a response the domain does not have a 404 (the caller then answers from its
own domain). Off (404) when no token is configured.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any, Dict, Optional

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from bot.settings import get_settings
from bot.texts.nlg import nlg_answer

logger = logging.getLogger(__name__)

router = APIRouter(tags=["nlg"])
MAX_BODY_BYTES = 2_000_000
MAX_NAME_CHARS = 120


class BadRequest(Exception):
    """A request the endpoint refuses: ``status`` and a message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _authorized(request: Request, token: str) -> bool:
    header = request.headers.get("authorization", "")
    scheme, _, sent = header.partition(" ")
    return scheme.lower() == "bearer" and bool(sent) and hmac.compare_digest(sent.strip().encode(), token.encode())


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


async def _read_json(request: Request) -> Dict[str, Any]:
    declared = request.headers.get("content-length")
    if declared and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        raise BadRequest(413, "body too large")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_BODY_BYTES:
            raise BadRequest(413, "body too large")
    try:
        data = json.loads(bytes(body).decode("utf-8"), parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise BadRequest(400, "body is not JSON") from None
    if not isinstance(data, dict):
        raise BadRequest(400, "body is not a JSON object")
    return data


def _parse(data: Dict[str, Any]) -> tuple:
    name = data.get("response")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_CHARS:
        raise BadRequest(422, "response must be a response name")
    arguments = data.get("arguments") or {}
    tracker = data.get("tracker") or {}
    channel = data.get("channel") or {}
    if not isinstance(arguments, dict) or not isinstance(tracker, dict) or not isinstance(channel, dict):
        raise BadRequest(422, "arguments, tracker and channel must be objects")
    slots = tracker.get("slots") or {}
    channel_name: Optional[Any] = channel.get("name")
    if not isinstance(slots, dict) or not (channel_name is None or isinstance(channel_name, str)):
        raise BadRequest(422, "tracker.slots must be an object, channel.name a string")
    return name, channel_name, slots, arguments


@router.post("/console/nlg", include_in_schema=False)
async def nlg(request: Request) -> Response:
    """Rasa's NLG request → the current wording of the response, filled from arguments and slots."""
    token = get_settings().console_nlg_token
    if not token:
        return JSONResponse({"detail": "NLG endpoint is not enabled (CONSOLE_NLG_TOKEN)"}, status_code=404)
    if not _authorized(request, token):
        return JSONResponse({"detail": "missing or wrong bearer token"}, status_code=401,
                            headers={"WWW-Authenticate": "Bearer"})
    try:
        name, channel, slots, arguments = _parse(await _read_json(request))
    except BadRequest as exc:
        return JSONResponse({"detail": exc.message}, status_code=exc.status)
    answer = await run_in_threadpool(nlg_answer, name, channel, slots, arguments)
    if answer is None:
        return JSONResponse({"detail": "unknown response"}, status_code=404)
    return JSONResponse(answer)
