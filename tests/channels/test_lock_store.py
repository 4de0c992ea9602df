"""The lock store shared by several Rasa workers (issue 15), on the real Redis at 127.0.0.1:6379.

* tickets stay unique and the lock exclusive when two processes use one conversation at once;
* a ticket taken when the webhook arrives keeps arrival order across workers, even when the
  worker that got the first message is slower to hand it to Rasa;
* a ticket of a message that never reaches Rasa is given back at once.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
import uuid
from typing import Any, List

import httpx
import pytest
import redis
from rasa.core.channels.channel import UserMessage

from integrations.lock_store import AtomicRedisLockStore, run_in_turn, take_turn
from tests.channels.support import EchoAgent, serve_channels
from tests.channels.test_telegram import Client as TelegramClient
from tests.channels.test_telegram import make_channel as make_telegram
from tests.fakes.telegram_api import text_update

DB = 14


def _store(prefix: str) -> AtomicRedisLockStore:
    return AtomicRedisLockStore(host="127.0.0.1", port=6379, db=DB, key_prefix=prefix)


@pytest.fixture
def prefix() -> str:
    """A key prefix of this test only (alphanumeric, as Rasa wants)."""
    try:
        redis.Redis(host="127.0.0.1", port=6379, db=DB, socket_timeout=2).ping()
    except redis.RedisError as exc:  # every machine here runs Redis; say so clearly when it is down
        pytest.fail(f"Redis at 127.0.0.1:6379 is needed for the lock store tests: {exc}")
    return f"t{uuid.uuid4().hex[:12]}"


def _issue_many(prefix: str, n: int, out: Any) -> None:
    store = _store(prefix)
    out.extend([store.issue_ticket("telegram:1") for _ in range(n)])


def _count_under_lock(prefix: str, n: int) -> None:
    store = _store(prefix)
    counter = f"{prefix}:counter"

    async def run() -> None:
        for _ in range(n):
            async with store.lock("telegram:2"):
                value = int(store.red.get(counter) or 0)  # read, yield, write: lost updates without the lock
                await asyncio.sleep(0.001)
                store.red.set(counter, value + 1)

    asyncio.run(run())


def test_two_processes_get_distinct_tickets(prefix: str) -> None:
    with multiprocessing.Manager() as manager:
        tickets = manager.list()
        procs = [multiprocessing.Process(target=_issue_many, args=(prefix, 150, tickets)) for _ in range(2)]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join(60)
        got = list(tickets)
    assert len(got) == 300 and len(set(got)) == 300


def test_the_lock_is_exclusive_across_processes(prefix: str) -> None:
    procs = [multiprocessing.Process(target=_count_under_lock, args=(prefix, 40)) for _ in range(2)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    assert int(_store(prefix).red.get(f"{prefix}:counter")) == 80
    assert _store(prefix).get_lock("telegram:2") is None  # nobody waiting: the lock is gone


class LockingAgent(EchoAgent):
    """Like Rasa's agent: handles a message under the conversation's lock; logs into a shared list."""

    def __init__(self, store: AtomicRedisLockStore, log: List[str]) -> None:
        super().__init__()
        self.lock_store, self.log = store, log

    async def handle_message(self, message: UserMessage) -> None:
        async with self.lock_store.lock(message.sender_id):
            self.log.append(message.text)
            await super().handle_message(message)


async def test_arrival_order_holds_across_two_workers(prefix: str, sqlite_url: str, tg_env: Any) -> None:
    """Worker A gets the first message but is slow to pass it on; worker B's second message waits for it."""
    log: List[str] = []
    agent_a, agent_b = LockingAgent(_store(prefix), log), LockingAgent(_store(prefix), log)
    channel_a, channel_b = make_telegram(), make_telegram()
    original = channel_a.process

    async def busy_worker(*args: Any) -> None:  # A's event loop is busy with other citizens
        await asyncio.sleep(0.5)
        await original(*args)

    channel_a.process = busy_worker
    async with serve_channels([channel_a], agent_a) as base_a, serve_channels([channel_b], agent_b) as base_b, \
            httpx.AsyncClient(timeout=10) as http:
        assert (await TelegramClient(http, base_a).post(text_update("một", user_id=701))).json()["status"] == "accepted"
        assert (await TelegramClient(http, base_b).post(text_update("hai", user_id=701))).json()["status"] == "accepted"
        await channel_a.tasks.drain()
        await channel_b.tasks.drain()
    assert log == ["một", "hai"]
    assert [m["text"] for m in tg_env.sent_messages(701)] == ["Bạn vừa hỏi: một", "Bạn vừa hỏi: hai"]
    assert _store(prefix).get_lock("telegram:701") is None


async def test_a_turn_that_never_reaches_rasa_is_given_back(prefix: str) -> None:
    store = _store(prefix)

    class Agent:
        lock_store = store

    turn = take_turn(Agent(), "zalo:5")
    assert turn is not None and store.get_lock("zalo:5") is not None

    async def not_for_rasa() -> None:  # a media notice, a rate-limited message ...
        return None

    await run_in_turn(turn, not_for_rasa())
    assert store.get_lock("zalo:5") is None
    started = time.monotonic()
    async with store.lock("zalo:5"):
        pass
    assert time.monotonic() - started < 0.5


def test_without_a_shared_lock_store_no_ticket_is_taken() -> None:
    """One worker (Rasa's in-memory lock store): the channel's own line keeps the order."""
    from rasa.core.lock_store import InMemoryLockStore

    class Agent:
        lock_store = InMemoryLockStore()

    assert take_turn(Agent(), "telegram:1") is None
    assert take_turn(None, "telegram:1") is None
