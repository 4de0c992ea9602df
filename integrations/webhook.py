"""The one base of the webhook input channels (Telegram, Zalo): every inbound goes through the same steps.

:meth:`WebhookInput.handle_webhook` (``POST /webhooks/<channel>/webhook``):

1. :meth:`~WebhookInput.verify` - the channel's authentication and the bounded parse
   (:mod:`integrations.http`): 401 / 413 / 400, never a 500;
2. :meth:`~WebhookInput.classify` - what the payload is (text, media, a button click,
   a follow ...), or nothing we answer (``ignored``);
3. the in-flight cap: above :attr:`~WebhookInput.max_in_flight` background tasks the
   webhook answers 503 without claiming the message, so the platform's retry is processed;
4. a place in the conversation's line is reserved *before* the first ``await``
   (:class:`BackgroundTasks`): messages of one conversation run strictly in arrival order;
5. admission (:func:`bot.conversations.admission.admit_inbound`): de-duplication and the
   per-user rate limit in the database (503 when the database fails, so the platform retries);
6. the webhook answers 200 at once and :meth:`~WebhookInput.process` runs in the background:
   a flood gets ``utter_rate_limited`` once, media ``utter_text_only`` (channel notices
   are rendered with :func:`bot.responses.project_responses`), text goes to Rasa.

Subclasses override small hooks (``verify``, ``classify``, ``admission_args``,
``output_for``, ``prepare``, ``text_for``, ``message_id``, ``response_body``, ``close``),
like Rasa's own ``rasa/core/channels/rest.py``.

Ordered processing (:class:`BackgroundTasks`): only the tail of each busy conversation
is remembered and dropped as soon as the conversation is idle; no user state lives in
the process, so a crash loses at most what was in flight.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from types import TracebackType
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set, Type

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.conversations.admission import Admission, admit_inbound
from bot.responses import project_responses
from bot.settings import Settings
from integrations.errors import ChannelError, UserUnreachable
from integrations.http import WebhookRejected, health_blueprint
from integrations.lock_store import run_in_turn, take_turn

logger = logging.getLogger(__name__)

RESPONSE_TEXT_ONLY = "utter_text_only"
RESPONSE_RATE_LIMITED = "utter_rate_limited"
RESPONSE_WELCOME_FOLLOW = "utter_welcome_follow"
MAX_IN_FLIGHT = 1000  # background tasks per process before webhooks are refused with 503 (platform retries)
OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


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


# -- the base input channel -----------------------------------------------------------------------


class WebhookInput(InputChannel):
    """A platform webhook channel: ``GET /`` (health) and ``POST /webhook``, the steps above.

    An inbound (what :meth:`classify` returns) has at least ``kind``, ``conversation_id``
    (the Rasa sender id), ``text`` and ``metadata``.
    """

    channel = ""  # the channel's name (also the URL prefix under ``/webhooks/``)
    notices: Dict[str, str] = {"media": RESPONSE_TEXT_ONLY}  # inbound kind -> channel notice instead of Rasa

    @classmethod
    def name(cls) -> str:
        """Channel name (also the URL prefix under ``/webhooks/``)."""
        return cls.channel

    @classmethod
    def required_credentials(cls, credentials: Optional[Dict[str, Any]], platform: str,
                             keys: Dict[str, str]) -> List[str]:
        """The values (as text) of ``keys`` (credentials key -> environment variable) in ``credentials``.

        Raises:
            RasaException: no credentials, or one of ``keys`` missing or empty.
        """
        if not credentials:
            cls.raise_missing_credentials_exception()
        values = [credentials.get(key) for key in keys]  # type: ignore[union-attr]
        if not all(values):
            raise RasaException(f"The {platform} channel needs {' and '.join(repr(k) for k in keys)} in its "
                                f"credentials ({', '.join(keys.values())}).")
        return [str(value) for value in values]

    def __init__(self, settings: Settings, database_url: Optional[str] = None, client: Any = None) -> None:
        self.max_body_bytes = settings.max_webhook_bytes
        self.rate_limit = settings.user_rate_limit_per_minute
        self.database_url = database_url
        self._settings = settings
        self._client = client  # the platform API client (created on first use by the subclass)
        self.tasks = BackgroundTasks()
        self.max_in_flight = MAX_IN_FLIGHT
        self.logger = logging.getLogger(type(self).__module__)

    # -- hooks -------------------------------------------------------------------------------
    def verify(self, request: Request) -> Any:
        """Authenticate and parse the request; raise :class:`WebhookRejected` (4xx) otherwise."""
        raise NotImplementedError

    async def classify(self, payload: Any) -> Any:
        """The inbound of a verified payload (None, or ``kind == "ignored"``, when we do not answer it)."""
        raise NotImplementedError

    def admission_args(self, inbound: Any) -> Dict[str, Any]:
        """``message_id`` (platform-unique), ``user_id`` and optionally ``count_towards_limit``."""
        raise NotImplementedError

    def label(self, inbound: Any) -> str:
        """The platform id of an inbound, for logs and task names."""
        raise NotImplementedError

    def output_for(self, inbound: Any) -> OutputChannel:
        """The output channel that answers ``inbound``."""
        return self.get_output_channel()

    async def prepare(self, inbound: Any) -> bool:
        """Work done first for every admitted inbound; False when nothing else is to be done."""
        return True

    async def text_for(self, inbound: Any, agent: Any) -> Optional[str]:
        """The text handed to Rasa (None: nothing is)."""
        return inbound.text

    def message_id(self, inbound: Any) -> str:
        """The ``message_id`` of the Rasa ``UserMessage``."""
        return self.label(inbound)

    def response_body(self, body: Dict[str, Any], status: int) -> Dict[str, Any]:
        """The JSON body of a webhook answer."""
        return body

    async def close(self) -> None:
        """Close the channel's API client, if one was created (after the server stopped)."""
        if self._client is not None:
            await self._client.close()

    # -- routes ------------------------------------------------------------------------------
    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        """Routes: ``GET /`` (health) and ``POST /webhook``; drains the tasks and closes on stop."""
        bp = health_blueprint(f"integrations_{self.name()}_{id(self)}", type(self).__module__)

        @bp.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            return await self.handle_webhook(request, on_new_message)

        @bp.listener("before_server_stop")
        async def drain(_app: Any, _loop: Any) -> None:
            await self.tasks.drain()

        @bp.listener("after_server_stop")
        async def stop(_app: Any, _loop: Any) -> None:
            await self.close()

        return bp

    def reply(self, body: Dict[str, Any], status: int = 200) -> HTTPResponse:
        """A JSON answer to the platform."""
        return response.json(self.response_body(body, status), status=status)

    async def handle_webhook(self, request: Request, on_new_message: OnNewMessage) -> HTTPResponse:
        """Verify, classify, admit; then process in the background and answer 200."""
        name = self.name()
        try:
            inbound = await self.classify(self.verify(request))
        except WebhookRejected as exc:
            self.logger.warning("%s webhook rejected with %d from %s: %s", name, exc.status, request.ip, exc.reason)
            return self.reply({"error": exc.reason[:200]}, exc.status)
        if inbound is None or inbound.kind == "ignored":
            return self.reply({"status": "ignored"})
        if len(self.tasks) >= self.max_in_flight:  # overloaded: not claimed, so the platform's retry is processed
            self.logger.warning("%s: %d messages in flight; asking the platform to retry later", name, len(self.tasks))
            return self.reply({"error": "busy"}, 503)
        agent = getattr(request.app.ctx, "agent", None)
        with self.tasks.reserve(inbound.conversation_id) as slot:  # arrival order, before the first await
            turn = take_turn(agent, inbound.conversation_id)  # and across Rasa workers (shared lock store)
            admission: Optional[Admission] = None
            try:
                admission = await admit_inbound(platform=name, channel=name, limit=self.rate_limit,
                                                database_url=self.database_url, **self.admission_args(inbound))
            except Exception:
                self.logger.exception("%s admission failed; the platform will retry %s", name, self.label(inbound))
            finally:
                if turn is not None and (admission is None or admission.duplicate):
                    turn.release()  # this message will not reach Rasa (also when cancelled)
            if admission is None:
                return self.reply({"error": "temporarily unavailable"}, 503)
            if admission.duplicate:
                self.logger.info("%s message %s already processed; skipped", name, self.label(inbound))
                return self.reply({"status": "duplicate"})
            slot.spawn(run_in_turn(turn, self.process(inbound, admission, on_new_message, agent)),
                       f"{name}-{self.label(inbound)}")
        return self.reply({"status": "limited" if admission.limited else "accepted"})

    async def process(self, inbound: Any, admission: Admission, on_new_message: OnNewMessage, agent: Any) -> None:
        """Handle one admitted inbound (runs after the webhook answered, in conversation order)."""
        sender_id = inbound.conversation_id
        output = self.output_for(inbound)
        try:
            if not await self.prepare(inbound):
                return
            if admission.limited:
                if admission.notify:
                    await self.notify(RESPONSE_RATE_LIMITED, sender_id, output)
                self.logger.info("%s user %s is over the rate limit; %s absorbed", self.name(), sender_id,
                                 self.label(inbound))
                return
            notice = self.notices.get(inbound.kind)
            if notice:
                await self.notify(notice, sender_id, output)
                return
            text = await self.text_for(inbound, agent)
            if text:
                await on_new_message(UserMessage(text, output, sender_id, input_channel=self.name(),
                                                 message_id=self.message_id(inbound), metadata=inbound.metadata))
        except UserUnreachable as exc:
            self.logger.info("%s user %s unreachable: %s", self.name(), sender_id, exc)
        except ChannelError as exc:
            self.logger.warning("%s reply to %s failed: %r", self.name(), sender_id, exc)

    async def notify(self, name: str, sender_id: str, output: OutputChannel) -> None:
        """Send the channel notice ``name`` (a domain response, see ``domain/channels.yml``)."""
        message = project_responses().message(name, self.name())
        if message:
            await output.send_response(sender_id, message)
