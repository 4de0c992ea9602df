"""Bounded parsing of inbound HTTP requests, shared by every channel and the one-stop push endpoint.

A body is refused (413) above its size limit before it is read, then parsed with a
nesting limit checked *before* ``json.loads`` (100,000 ``[`` get a 400, never a
``RecursionError``); ``NaN``/``Infinity``, malformed UTF-8 and lone surrogates are 400
too. :func:`health_blueprint` is the Sanic blueprint every channel starts from
(``GET /`` answers ``{"status": "ok"}``).
"""

from __future__ import annotations

import json
import re
from typing import Any, Dict, NoReturn, Optional

MAX_JSON_DEPTH = 64  # real Telegram / Zalo / one-stop payloads are < 10 levels deep


class WebhookRejected(Exception):
    """An inbound webhook we refuse with a 4xx (never a 500)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def check_size(body: bytes, content_length: Optional[str], max_bytes: int) -> None:
    """Refuse bodies larger than ``max_bytes`` (413)."""
    declared = int(content_length) if content_length and content_length.isdigit() else 0
    if len(body) > max_bytes or declared > max_bytes:
        raise WebhookRejected(413, f"body of {max(len(body), declared)} bytes exceeds {max_bytes}")


_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")


def json_depth(body: bytes, limit: Optional[int] = None) -> int:
    """Deepest bracket nesting of ``body`` outside JSON strings (stops counting past ``limit``)."""
    depth = deepest = 0
    for char in _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKET):
        if char in b"[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if limit is not None and deepest > limit:
                    break
        else:
            depth -= 1
    return deepest


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def parse_json(body: bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse JSON of at most ``max_depth`` nesting levels, or raise :class:`WebhookRejected` (400).

    Also refused: ``NaN`` / ``Infinity``, invalid UTF-8 and lone UTF-16 surrogates
    (``"\\ud800"``), which no text column or outgoing request could encode.
    """
    if json_depth(body, max_depth) > max_depth:
        raise WebhookRejected(400, f"JSON nested deeper than {max_depth} levels")
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_no_constant)
    except RecursionError as exc:  # pragma: no cover - the depth check comes first
        raise WebhookRejected(400, "JSON nested too deeply") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise WebhookRejected(400, f"malformed JSON: {exc}") from exc
    if _SURROGATE_ESCAPE.search(body):  # paired surrogates were joined by json.loads; lone ones were not
        try:
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise WebhookRejected(400, "malformed JSON: lone surrogate in a string") from exc
    return data


def parse_json_object(body: bytes, max_depth: int = MAX_JSON_DEPTH) -> Dict[str, Any]:
    """Parse a JSON object or raise :class:`WebhookRejected` (400)."""
    data = parse_json(body, max_depth)
    if not isinstance(data, dict):
        raise WebhookRejected(400, "JSON body is not an object")
    return data


def read_json(request: Any, max_bytes: int, *, want_object: bool = True) -> Any:
    """Size-check and parse a Sanic request's body (an object unless ``want_object`` is False)."""
    body = request.body or b""
    check_size(body, request.headers.get("content-length"), max_bytes)
    return parse_json_object(body) if want_object else parse_json(body)


def health_blueprint(name: str, module: str) -> Any:
    """A Sanic blueprint with the health route ``GET /`` (``{"status": "ok"}``)."""
    from sanic import Blueprint, response

    bp = Blueprint(name, module)

    @bp.route("/", methods=["GET"])
    async def health(_: Any) -> Any:
        return response.json({"status": "ok"})

    return bp
