"""Rasa's Redis lock store made safe for several Rasa workers, and tickets taken on arrival.

Several Sanic workers of one Rasa server (``RASA_WORKERS`` > 1) need a lock store they share,
so that two messages of one conversation are never handled at once and are handled in the
order they came. Rasa 3.6's ``RedisLockStore`` reads a conversation's lock, changes it in
Python and writes it back (``GET`` … ``SET``): two workers issuing a ticket at the same moment
can both get the same number, or one can drop the other's ticket. :class:`AtomicRedisLockStore`
does every change of a lock as one Redis transaction (``WATCH``/``MULTI``, retried when another
worker changed the lock meanwhile), and polls a busy lock every 20 ms instead of every second.

Arrival order across workers: a webhook answers 200 before its message reaches Rasa (the
message is processed in the background), so without more, a message that reached worker B
second could take its ticket before the one worker A received first. :func:`take_turn` issues
the ticket while the webhook is still being answered (before its first ``await``), and
:meth:`AtomicRedisLockStore.lock` uses that ticket for the message instead of a new one
(:data:`TURN`, a context variable that the background task inherits).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
from dataclasses import dataclass
from typing import Any, AsyncGenerator, Callable, Optional

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockStore, RedisLockStore

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.02


@dataclass
class Turn:
    """A ticket issued on a message's arrival, used when the message reaches Rasa."""

    store: "AtomicRedisLockStore"
    conversation_id: str
    ticket: int
    used: bool = False

    def release(self) -> None:
        """Give the ticket back when the message never reached Rasa (duplicate, notice, error)."""
        if not self.used:
            self.used = True
            self.store.cleanup(self.conversation_id, self.ticket)


TURN: contextvars.ContextVar[Optional[Turn]] = contextvars.ContextVar("rasa_lock_turn", default=None)


class AtomicRedisLockStore(RedisLockStore):
    """``RedisLockStore`` whose lock changes are atomic Redis transactions (safe with several workers)."""

    def __init__(self, endpoint_config: Any = None, **kwargs: Any) -> None:
        """From Rasa's ``lock_store:`` endpoint (``url`` is the host) or ``RedisLockStore``'s arguments."""
        if endpoint_config is not None:
            kwargs = {"host": endpoint_config.url, **endpoint_config.kwargs, **kwargs}
        super().__init__(**kwargs)

    def _change(self, conversation_id: str, change: Callable[[Optional[TicketLock]], Optional[TicketLock]]) -> Any:
        """Apply ``change`` to the stored lock atomically; it returns the lock to store (None: delete)."""
        key = self.key_prefix + conversation_id
        outcome: dict = {}

        def transaction(pipe: Any) -> None:
            raw = pipe.get(key)
            lock = TicketLock.from_dict(json.loads(raw)) if raw else None
            new = change(lock)
            outcome["lock"] = new
            pipe.multi()
            if new is None:
                pipe.delete(key)
            else:
                pipe.set(key, new.dumps())

        self.red.transaction(transaction, key)
        return outcome.get("lock")

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        """A new ticket for the conversation (atomic)."""
        issued: dict = {}

        def change(lock: Optional[TicketLock]) -> TicketLock:
            lock = lock or self.create_lock(conversation_id)
            issued["ticket"] = lock.issue_ticket(lock_lifetime)
            return lock

        self._change(conversation_id, change)
        return int(issued["ticket"])

    def update_lock(self, conversation_id: str) -> None:
        """Drop expired tickets (atomic)."""
        def change(lock: Optional[TicketLock]) -> Optional[TicketLock]:
            if lock is not None:
                lock.remove_expired_tickets()
            return lock

        self._change(conversation_id, change)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        """Remove ``ticket_number`` (atomic)."""
        def change(lock: Optional[TicketLock]) -> Optional[TicketLock]:
            if lock is not None:
                lock.remove_ticket_for(ticket_number)
            return lock

        self._change(conversation_id, change)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Remove ``ticket_number``, and the lock when nobody waits (one transaction)."""
        def change(lock: Optional[TicketLock]) -> Optional[TicketLock]:
            if lock is None:
                return None
            lock.remove_ticket_for(ticket_number)
            return lock if lock.is_someone_waiting() else None

        self._change(conversation_id, change)

    @contextlib.asynccontextmanager
    async def lock(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME,
                   wait_time_in_seconds: float = POLL_SECONDS) -> AsyncGenerator[TicketLock, None]:
        """Rasa's ticket lock, with the ticket taken on arrival (:func:`take_turn`) when there is one."""
        turn = TURN.get()
        if turn is not None and turn.store is self and turn.conversation_id == conversation_id and not turn.used:
            turn.used = True
            ticket = turn.ticket
        else:
            ticket = self.issue_ticket(conversation_id, lock_lifetime)
        try:
            yield await self._acquire_lock(conversation_id, ticket, min(wait_time_in_seconds, POLL_SECONDS))
        finally:
            self.cleanup(conversation_id, ticket)


def take_turn(agent: Any, conversation_id: str) -> Optional[Turn]:
    """Issue ``conversation_id``'s ticket now (call before the webhook's first ``await``).

    None when the agent's lock store is not an :class:`AtomicRedisLockStore` (one worker: the
    channel's own in-process line keeps the order) or Redis cannot be reached (Rasa then
    issues the ticket itself, as usual).
    """
    store: Optional[LockStore] = getattr(agent, "lock_store", None)
    if not isinstance(store, AtomicRedisLockStore):
        return None
    try:
        return Turn(store, conversation_id, store.issue_ticket(conversation_id))
    except Exception:  # Redis down: Rasa's own lock() will fail or succeed the same way
        logger.warning("could not take a lock ticket on arrival", exc_info=True)
        return None


async def run_in_turn(turn: Optional[Turn], work: Any) -> None:
    """Await ``work`` with ``turn`` as the ticket its message uses; give the ticket back if unused."""
    token = TURN.set(turn)
    try:
        await work
    finally:
        TURN.reset(token)
        if turn is not None:
            turn.release()
