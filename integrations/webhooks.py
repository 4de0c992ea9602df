"""Inbound webhook plumbing shared by every channel: bounded parsing and ordered background work.

* **Parsing** (:func:`check_size`, :func:`parse_json`, :func:`parse_json_object`): a body
  is refused (413) above its size limit before it is read, then parsed with a nesting
  limit checked *before* ``json.loads`` (100,000 ``[`` get a 400, never a
  ``RecursionError``); ``NaN``/``Infinity`` and malformed UTF-8 are 400 too.
* **Ordered processing** (:class:`BackgroundTasks`): webhooks answer at once and their
  work runs in background tasks. Messages of one conversation run strictly one after
  the other, in the order their webhooks arrived (a *slot* is reserved before the
  first ``await`` of the webhook handler), while different conversations run
  concurrently. Only the tail of each busy conversation is remembered; the entry is
  dropped as soon as the conversation is idle.
* :func:`webhook_blueprint`: the Sanic routes of a webhook channel.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
from types import TracebackType
from typing import Any, Awaitable, Callable, Dict, NoReturn, Optional, Set, Type

logger = logging.getLogger(__name__)

MAX_JSON_DEPTH = 64  # real Telegram / Zalo / one-stop payloads are < 10 levels deep


class WebhookRejected(Exception):
    """An inbound webhook we refuse with a 4xx (never a 500)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


# -- bounded parsing --------------------------------------------------------------------------------


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


# -- ordered background processing ----------------------------------------------------------------


class ConversationSlot:
    """One message's place in its conversation's line (see :meth:`BackgroundTasks.reserve`).

    Use it as a context manager: leaving the block without :meth:`spawn` (duplicate,
    error, cancelled request) gives the turn to the next message at once.
    """

    def __init__(self, tasks: "BackgroundTasks", key: str, previous: Optional[asyncio.Future],
                 turn: asyncio.Future) -> None:
        self.tasks = tasks
        self.key = key
        self.previous = previous
        self.turn = turn
        self.spawned = False

    def spawn(self, coro: Awaitable[Any], name: str) -> asyncio.Task:
        """Run ``coro`` in the background once the conversation's earlier messages are done."""
        task = self.tasks.spawn(coro, name, slot=self)
        self.spawned = True  # from now on the task releases the turn when it ends
        return task

    def release(self) -> None:
        """Give the turn to the next message of the conversation."""
        if not self.turn.done():
            self.turn.set_result(None)

    def __enter__(self) -> "ConversationSlot":
        return self

    def __exit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        if not self.spawned:
            self.release()


class BackgroundTasks:
    """In-flight webhook processing tasks: ordered per conversation, logged on failure, drained on shutdown.

    Holds only running tasks and the tail of each busy conversation (no user state), so a
    crash loses at most what was in flight.
    """

    def __init__(self) -> None:
        self._tasks: Set[asyncio.Task] = set()
        self._tails: Dict[str, asyncio.Future] = {}

    def reserve(self, key: str) -> ConversationSlot:
        """Take the next place in conversation ``key``'s line (call before the handler's first ``await``)."""
        turn = asyncio.get_running_loop().create_future()
        previous = self._tails.get(key)
        self._tails[key] = turn
        turn.add_done_callback(functools.partial(self._forget, key))
        return ConversationSlot(self, key, previous, turn)

    def _forget(self, key: str, turn: asyncio.Future) -> None:
        if self._tails.get(key) is turn:  # nobody queued behind: the conversation is idle
            del self._tails[key]

    def spawn(self, coro: Awaitable[Any], name: str, slot: Optional[ConversationSlot] = None) -> asyncio.Task:
        """Run ``coro`` in the background (after ``slot``'s predecessors, when given)."""
        task = asyncio.get_running_loop().create_task(self._guard(coro, name, slot), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def spawn_in_order(self, key: str, coro: Awaitable[Any], name: str) -> asyncio.Task:
        """Reserve a place in conversation ``key`` and run ``coro`` there."""
        return self.reserve(key).spawn(coro, name)

    @staticmethod
    async def _guard(coro: Awaitable[Any], name: str, slot: Optional[ConversationSlot]) -> None:
        try:
            if slot is not None and slot.previous is not None and not slot.previous.done():
                await asyncio.wait([slot.previous])
            await coro
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("background task %s failed", name)
        finally:
            if slot is not None:
                slot.release()
            close = getattr(coro, "close", None)
            if close is not None:  # cancelled before it started: no "never awaited" warning
                close()

    def __len__(self) -> int:
        return len(self._tasks)

    @property
    def busy_conversations(self) -> int:
        """Conversations with a message queued or running."""
        return len(self._tails)

    async def drain(self, timeout: float = 15.0) -> None:
        """Wait for in-flight tasks (at most ``timeout`` seconds), then cancel the rest."""
        if not self._tasks:
            return
        done, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            logger.warning("cancelled %d webhook tasks at shutdown", len(pending))
            await asyncio.wait(pending, timeout=1.0)  # let them run their clean-up


# -- routes ---------------------------------------------------------------------------------------


def webhook_blueprint(name: str, module: str, handle: Callable[[Any], Awaitable[Any]], tasks: Any,
                      close: Callable[[], Awaitable[None]]) -> Any:
    """A channel's Sanic blueprint: ``GET /`` (health), ``POST /webhook``; drains tasks and closes on stop."""
    from sanic import Blueprint, response

    bp = Blueprint(name, module)

    @bp.route("/", methods=["GET"])
    async def health(_: Any) -> Any:
        return response.json({"status": "ok"})

    @bp.route("/webhook", methods=["POST"])
    async def webhook(request: Any) -> Any:
        return await handle(request)

    @bp.listener("before_server_stop")
    async def drain(_app: Any, _loop: Any) -> None:
        await tasks.drain()

    @bp.listener("after_server_stop")
    async def stop(_app: Any, _loop: Any) -> None:
        await close()

    return bp
