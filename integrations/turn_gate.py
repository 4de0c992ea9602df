"""Rasa-side: turns handled oldest first when many conversations arrive at once.

One Rasa process serves its conversations on one event loop. Without a limit, every message
that arrives goes straight into Rasa's message processor, so at twenty citizens twenty turns
share the loop slice by slice (each ``await`` sends a turn to the back of the loop's queue). A
turn's reply then takes about twenty times its own work, so the heavier turns (a dossier check,
a catalogue search) finish last and make the tail (docs/profile.md, item 30).

:class:`TurnGate` lets at most ``limit`` turns into the processor at once; the others wait,
oldest first (by when they reached the gate). The work done is the same, but a turn, once in,
finishes in a few times its own work, and every reply waits about as long as the others: the
tail shortens, the median stays. ``limit`` is above one so that the loop has another turn to
run while one waits on the action server.

A turn keeps its place through the short waits on another service (:func:`step_out`: the action
server, the console's answer texts), so that it finishes before newer turns start; a wait that
lasts ``wait_seconds`` frees the place, and the turn takes one back, before any newer turn, when
the answer comes. A slow or stalled service thus holds no place. A turn that has held its place
for ``hold_seconds`` at a stretch goes on without one. The gate sits inside the conversation's
lock (:meth:`rasa.core.agent.Agent.handle_message`), so a message never holds a place while it
waits for an earlier message of its own conversation, and per-conversation order is the lock
store's, unchanged. ``TURN_CONCURRENCY=0`` turns the gate off.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import heapq
import itertools
import weakref
from typing import Any, AsyncIterator, List, Optional, Tuple

_original: dict = {}


class _Turn:
    """One turn's standing at the gate: its age (ticket) and whether it holds a place."""

    def __init__(self, gate: "TurnGate", ticket: int) -> None:
        self.gate, self.ticket = gate, ticket
        self.holding = False
        self.overstayed = False  # held a place past the hold time: goes on without one, to the end
        self._timer: Optional[asyncio.TimerHandle] = None

    async def take(self) -> None:
        """Take a place, before every newer turn."""
        await self.gate._enter(self.ticket)
        self.holding = True
        self._timer = asyncio.get_running_loop().call_later(self.gate.hold_seconds, self._overstayed)

    def leave(self) -> None:
        """Give the place back (idempotent)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.holding:
            self.holding = False
            self.gate._give_up()

    def _overstayed(self) -> None:
        self.overstayed = True
        self.leave()

    async def back(self) -> None:
        """After a wait on another service: the place again, if the wait gave it up."""
        if not self.holding and not self.overstayed:
            await self.take()


CURRENT: contextvars.ContextVar[Optional[_Turn]] = contextvars.ContextVar("turn_gate_turn", default=None)


class TurnGate:
    """At most ``limit`` turns inside at once, the others let in oldest first."""

    def __init__(self, limit: int, hold_seconds: float, wait_seconds: float = 0.1) -> None:
        """``limit`` places (0: no limit); a place is given up after ``hold_seconds`` at a stretch,
        or ``wait_seconds`` into a wait on another service."""
        self.limit = limit
        self.hold_seconds = hold_seconds
        self.wait_seconds = wait_seconds
        self.inside = 0
        self._tickets = itertools.count()
        self._waiting: List[Tuple[int, "asyncio.Future[None]"]] = []

    @property
    def waiting(self) -> int:
        """How many turns wait for a place."""
        return len(self._waiting)

    def _give_up(self) -> None:
        """A place is free: hand it to the oldest turn still waiting, or leave it empty."""
        while self._waiting:
            _, future = heapq.heappop(self._waiting)
            if not future.done():
                future.set_result(None)  # the place passes on: ``inside`` is unchanged
                return
        self.inside -= 1

    async def _enter(self, ticket: int) -> None:
        """Take a place, waiting behind the older turns that wait."""
        if self.inside < self.limit and not self._waiting:
            self.inside += 1
            return
        future: "asyncio.Future[None]" = asyncio.get_running_loop().create_future()
        entry = (ticket, future)
        heapq.heappush(self._waiting, entry)
        try:
            await future
        except asyncio.CancelledError:
            if future.cancelled():
                with contextlib.suppress(ValueError):  # unless a freed place already passed it by
                    self._waiting.remove(entry)
                    heapq.heapify(self._waiting)
            else:
                self._give_up()  # a place was handed over as the turn was cancelled: pass it on
            raise

    @contextlib.asynccontextmanager
    async def place(self) -> AsyncIterator[None]:
        """Hold a place for the block (none when the gate has no limit)."""
        if self.limit <= 0:
            yield
            return
        turn = _Turn(self, next(self._tickets))
        await turn.take()
        token = CURRENT.set(turn)
        try:
            yield
        finally:
            CURRENT.reset(token)
            turn.leave()


@contextlib.asynccontextmanager
async def step_out() -> AsyncIterator[None]:
    """Around a wait on another service: past ``wait_seconds`` the place is freed, and taken back after."""
    turn = CURRENT.get()
    if turn is None or not turn.holding:
        yield
        return
    timer = asyncio.get_running_loop().call_later(turn.gate.wait_seconds, turn.leave)
    cancelled = False
    try:
        yield
    except asyncio.CancelledError:
        cancelled = True  # the turn is being stopped: no place to take back
        raise
    finally:
        timer.cancel()
        if not cancelled:
            await turn.back()  # also after a failed call: Rasa goes on with the turn


_gates: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, TurnGate]" = weakref.WeakKeyDictionary()
_limits = {"limit": 0, "hold_seconds": 0.25, "wait_seconds": 0.1}


def gate() -> TurnGate:
    """The running event loop's gate (one per loop: a Sanic worker has one loop)."""
    loop = asyncio.get_running_loop()
    found = _gates.get(loop)
    if found is None:
        found = _gates[loop] = TurnGate(**_limits)
    return found


async def handle_message(self: Any, message: Any) -> Optional[Any]:
    """``Agent.handle_message`` with the gate inside the conversation's lock."""
    if not self.is_ready():
        return await _original["handle_message"](self, message)  # Rasa logs and answers None
    async with self.lock_store.lock(message.sender_id):
        async with gate().place():
            return await self.processor.handle_message(message)


async def request(self: Any, *args: Any, **kwargs: Any) -> Any:
    """``EndpointConfig.request`` (the action server, Rasa's other endpoints) stepping out of the gate."""
    async with step_out():
        return await _original["request"](self, *args, **kwargs)


def install() -> None:
    """Gate Rasa's turns with the settings' limits (idempotent)."""
    from rasa.core.agent import Agent
    from rasa.utils.endpoints import EndpointConfig

    from bot.settings import get_settings

    settings = get_settings()
    _limits.update(limit=settings.turn_concurrency, hold_seconds=settings.turn_hold_ms / 1000,
                   wait_seconds=settings.turn_wait_ms / 1000)
    _gates.clear()
    if Agent.handle_message is not handle_message:
        _original["handle_message"] = Agent.handle_message
        Agent.handle_message = handle_message  # type: ignore[method-assign]
    if EndpointConfig.request is not request:
        _original["request"] = EndpointConfig.request
        EndpointConfig.request = request  # type: ignore[method-assign]


def uninstall() -> None:
    """Give Rasa its own ``Agent.handle_message`` and ``EndpointConfig.request`` back (tests)."""
    from rasa.core.agent import Agent
    from rasa.utils.endpoints import EndpointConfig

    if "handle_message" in _original:
        Agent.handle_message = _original.pop("handle_message")  # type: ignore[method-assign]
    if "request" in _original:
        EndpointConfig.request = _original.pop("request")  # type: ignore[method-assign]
