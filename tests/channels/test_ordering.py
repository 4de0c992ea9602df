"""Messages of one conversation are processed strictly in arrival order; other users are not held back.

Before the fix every webhook spawned an independent task, so a slow first message let a
quick second one overtake it (the replies arrived in the wrong order).
"""

from __future__ import annotations

import asyncio
import time
from typing import List

import httpx
import pytest

from integrations.webhook import BackgroundTasks
from tests.channels.conftest import seed_zalo_tokens
from tests.channels.support import EchoAgent, serve_channels
from tests.channels.test_telegram import Client as TelegramClient
from tests.channels.test_telegram import make_channel as make_telegram
from tests.channels.test_zalo import Client as ZaloClient
from tests.channels.test_zalo import cs_texts
from tests.channels.test_zalo import make_channel as make_zalo
from tests.fakes.telegram_api import text_update
from tests.fakes.zalo_api import text_event

# -- BackgroundTasks ------------------------------------------------------------------------------


async def test_one_conversation_runs_in_order_others_run_concurrently():
    tasks = BackgroundTasks()
    log: List[str] = []

    async def work(name: str, seconds: float) -> None:
        await asyncio.sleep(seconds)
        log.append(name)

    tasks.spawn_in_order("zalo:1", work("a1-slow", 0.3), "a1")
    tasks.spawn_in_order("zalo:1", work("a2-fast", 0.0), "a2")
    tasks.spawn_in_order("zalo:1", work("a3-fast", 0.0), "a3")
    tasks.spawn_in_order("zalo:2", work("b1-fast", 0.05), "b1")
    assert tasks.busy_conversations == 2
    await tasks.drain(timeout=5)
    assert log == ["b1-fast", "a1-slow", "a2-fast", "a3-fast"]
    assert tasks.busy_conversations == 0 and len(tasks) == 0  # idle conversations are forgotten


async def test_a_failed_or_released_turn_does_not_block_the_conversation(caplog):
    tasks = BackgroundTasks()
    log: List[str] = []

    async def boom() -> None:
        await asyncio.sleep(0.05)
        raise RuntimeError("kaput")

    async def ok(name: str) -> None:
        log.append(name)

    tasks.spawn_in_order("telegram:1", boom(), "boom")
    with tasks.reserve("telegram:1"):  # a duplicate webhook: reserved, never spawned
        pass
    with pytest.raises(KeyError), tasks.reserve("telegram:1"):  # the handler failed after reserving
        raise KeyError("x")
    tasks.spawn_in_order("telegram:1", ok("after"), "after")
    await tasks.drain(timeout=5)
    assert log == ["after"] and "background task boom failed" in caplog.text
    assert tasks.busy_conversations == 0


async def test_slot_reserved_first_runs_first_even_if_spawned_last():
    """A slot is taken when the webhook arrives, before the admission ``await``."""
    tasks = BackgroundTasks()
    log: List[str] = []

    async def note(name: str) -> None:
        log.append(name)

    first, second = tasks.reserve("zalo:9"), tasks.reserve("zalo:9")
    with second:
        second.spawn(note("second"), "second")
    await asyncio.sleep(0.05)
    assert log == []  # waits for the first message
    with first:
        first.spawn(note("first"), "first")
    await tasks.drain(timeout=5)
    assert log == ["first", "second"]


async def test_cancelled_waiters_leave_no_state():
    tasks = BackgroundTasks()
    gate = asyncio.Event()
    tasks.spawn_in_order("rest:x", gate.wait(), "blocker")
    tasks.spawn_in_order("rest:x", asyncio.sleep(0), "waiter")
    await tasks.drain(timeout=0.1)  # shutdown: both cancelled
    assert len(tasks) == 0 and tasks.busy_conversations == 0


# -- through the channels -------------------------------------------------------------------------


def slow_first(agent: EchoAgent, text: str, seconds: float) -> None:
    """Make the agent take ``seconds`` on the message ``text`` (like a slow action server)."""
    original = agent.handle_message

    async def handle(message):
        if message.text == text:
            await asyncio.sleep(seconds)
        await original(message)

    agent.handle_message = handle


async def test_zalo_replies_keep_the_order_of_the_questions(sqlite_url, zalo_env):
    seed_zalo_tokens(sqlite_url)
    agent, channel = EchoAgent(), make_zalo()
    slow_first(agent, "câu hỏi chậm", 0.6)
    async with serve_channels([channel], agent) as base, httpx.AsyncClient(timeout=10) as http:
        client = ZaloClient(http, base)
        assert (await client.post(text_event("501", "câu hỏi chậm"))).json()["status"] == "accepted"
        assert (await client.post(text_event("501", "câu hỏi nhanh"))).json()["status"] == "accepted"
        started = time.monotonic()
        assert (await client.post(text_event("502", "người khác"))).json()["status"] == "accepted"
        await zalo_env.await_for(lambda r: '"502"' in r.body.decode(), timeout=5)
        assert time.monotonic() - started < 0.5  # another user is not held back by 501's slow turn
        await channel.tasks.drain()
    assert agent.texts()[-2:] == ["câu hỏi chậm", "câu hỏi nhanh"]
    assert cs_texts(zalo_env, "501") == ["Bạn vừa hỏi: câu hỏi chậm", "Bạn vừa hỏi: câu hỏi nhanh"]
    assert channel.tasks.busy_conversations == 0


async def test_telegram_replies_keep_the_order_of_the_questions(sqlite_url, tg_env):
    agent, channel = EchoAgent(), make_telegram()
    slow_first(agent, "một", 0.6)
    async with serve_channels([channel], agent) as base, httpx.AsyncClient(timeout=10) as http:
        client = TelegramClient(http, base)
        for text in ("một", "hai", "ba"):
            assert (await client.post(text_update(text, user_id=601))).json()["status"] == "accepted"
        await channel.tasks.drain()
    assert agent.texts() == ["một", "hai", "ba"]
    assert [m["text"] for m in tg_env.sent_messages(601)] == [f"Bạn vừa hỏi: {t}" for t in ("một", "hai", "ba")]
    assert channel.tasks.busy_conversations == 0
