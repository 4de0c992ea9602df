"""Rasa-side: turns handled first come, first served when many conversations arrive at once.

One Rasa process serves its conversations on one event loop. Without a limit, every message
that arrives goes straight into Rasa's message processor, so at twenty citizens twenty turns
share the loop slice by slice (each ``await`` on the database or the action server sends a turn
to the back of the loop's queue). A turn's reply then takes about twenty times its own work, so
the heavier turns (a dossier check, a catalogue search) finish last and make the tail
(docs/profile.md, item 30).

:class:`TurnGate` lets at most ``limit`` turns into the processor at once; the others wait in
the order they reached the gate. The work done is the same, but a turn, once in, finishes in a
few times its own work, and every reply waits about as long as the others: the tail shortens,
the median stays. ``limit`` is kept above one so that the loop has another turn to run while
one waits on PostgreSQL or the action server.

A turn that has held its place for ``hold_seconds`` (a slow database, an action server that
does not answer) gives it to the next in line while it goes on, so a stalled dependency slows
the stalled turns only, as without the gate. The gate sits inside the conversation's lock
(:meth:`rasa.core.agent.Agent.handle_message`), so a message never holds a place while it
waits for an earlier message of its own conversation, and per-conversation order is the lock
store's, unchanged. ``TURN_CONCURRENCY=0`` turns the gate off.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections import deque
from typing import Any, AsyncIterator, Deque, Optional

_original: Any = None


class TurnGate:
    """At most ``limit`` turns inside at once, the others admitted in arrival order."""

    def __init__(self, limit: int, hold_seconds: float) -> None:
        """``limit`` places (0: no limit); a place is given up after ``hold_seconds``."""
        self.limit = limit
        self.hold_seconds = hold_seconds
        self.inside = 0
        self._waiting: Deque["asyncio.Future[None]"] = deque()

    @property
    def waiting(self) -> int:
        """How many turns wait for a place."""
        return len(self._waiting)

    def _give_up(self) -> None:
        """A place is free: hand it to the first turn still waiting, or leave it empty."""
        while self._waiting:
            future = self._waiting.popleft()
            if not future.done():
                future.set_result(None)  # the place passes on: ``inside`` is unchanged
                return
        self.inside -= 1

    async def _enter(self) -> None:
        """Take a place, waiting in line behind those who came first."""
        if self.inside < self.limit and not self._waiting:
            self.inside += 1
            return
        future: "asyncio.Future[None]" = asyncio.get_running_loop().create_future()
        self._waiting.append(future)
        try:
            await future
        except asyncio.CancelledError:
            if future.cancelled():
                with contextlib.suppress(ValueError):  # unless a freed place already passed it by
                    self._waiting.remove(future)
            else:
                self._give_up()  # a place was handed over as the turn was cancelled: pass it on
            raise

    @contextlib.asynccontextmanager
    async def place(self) -> AsyncIterator[None]:
        """Hold a place for the block (none when the gate has no limit)."""
        if self.limit <= 0:
            yield
            return
        await self._enter()
        held = [True]

        def leave() -> None:
            if held[0]:
                held[0] = False
                self._give_up()

        timer = asyncio.get_running_loop().call_later(self.hold_seconds, leave)
        try:
            yield
        finally:
            timer.cancel()
            leave()


_gates: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, TurnGate]" = weakref.WeakKeyDictionary()
_limits = {"limit": 0, "hold_seconds": 0.25}


def gate() -> TurnGate:
    """The running event loop's gate (one per loop: a Sanic worker has one loop)."""
    loop = asyncio.get_running_loop()
    found = _gates.get(loop)
    if found is None:
        found = _gates[loop] = TurnGate(_limits["limit"], _limits["hold_seconds"])
    return found


async def handle_message(self: Any, message: Any) -> Optional[Any]:
    """``Agent.handle_message`` with the gate inside the conversation's lock."""
    if not self.is_ready():
        return await _original(self, message)  # Rasa logs and answers None
    async with self.lock_store.lock(message.sender_id):
        async with gate().place():
            return await self.processor.handle_message(message)



def install(limit: Optional[int] = None, hold_seconds: Optional[float] = None) -> None:
    """Gate Rasa's turns (idempotent); the limits default to the settings."""
    global _original
    from rasa.core.agent import Agent

    if limit is None or hold_seconds is None:
        from bot.settings import get_settings

        settings = get_settings()
        limit = settings.turn_concurrency if limit is None else limit
        hold_seconds = settings.turn_hold_ms / 1000 if hold_seconds is None else hold_seconds
    _limits.update(limit=limit, hold_seconds=hold_seconds)
    _gates.clear()
    if Agent.handle_message is not handle_message:
        _original = Agent.handle_message
        Agent.handle_message = handle_message  # type: ignore[method-assign]


def uninstall() -> None:
    """Give Rasa its own ``Agent.handle_message`` back (tests)."""
    from rasa.core.agent import Agent

    if _original is not None:
        Agent.handle_message = _original  # type: ignore[method-assign]
