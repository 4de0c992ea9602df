"""The turn gate: first come, first served, a bounded number inside, places never lost."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Dict, List

import pytest
from rasa.core.channels.channel import UserMessage
from rasa.core.lock_store import InMemoryLockStore

from integrations import turn_gate
from integrations.turn_gate import TurnGate


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def _turn(gate: TurnGate, name: str, log: List[str], release: asyncio.Event) -> None:
    async with gate.place():
        log.append(name)
        await release.wait()


async def test_turns_enter_in_arrival_order_and_no_more_than_the_limit() -> None:
    gate = TurnGate(limit=2, hold_seconds=60)
    log: List[str] = []
    releases = {name: asyncio.Event() for name in "abcde"}
    tasks = []
    for name in "abcde":
        tasks.append(asyncio.create_task(_turn(gate, name, log, releases[name])))
        await _settle()
    assert log == ["a", "b"] and gate.inside == 2 and gate.waiting == 3
    releases["b"].set()
    await _settle()
    assert log == ["a", "b", "c"] and gate.inside == 2
    for name in "acde":
        releases[name].set()
    await asyncio.gather(*tasks)
    assert log == list("abcde") and gate.inside == 0 and gate.waiting == 0


async def test_a_late_arrival_does_not_jump_the_line_when_a_place_frees() -> None:
    gate = TurnGate(limit=1, hold_seconds=60)
    log: List[str] = []
    first, second, late = asyncio.Event(), asyncio.Event(), asyncio.Event()
    a = asyncio.create_task(_turn(gate, "a", log, first))
    await _settle()
    b = asyncio.create_task(_turn(gate, "b", log, second))
    await _settle()
    first.set()  # "a" leaves; its place is handed to "b" before "c" arrives in the same loop pass
    c = asyncio.create_task(_turn(gate, "c", log, late))
    await _settle()
    assert log == ["a", "b"]
    second.set()
    late.set()
    await asyncio.gather(a, b, c)
    assert log == ["a", "b", "c"] and gate.inside == 0


async def test_a_stalled_turn_gives_its_place_up_after_the_hold_time() -> None:
    gate = TurnGate(limit=1, hold_seconds=0.3)
    log: List[str] = []
    stalled, quick = asyncio.Event(), asyncio.Event()
    a = asyncio.create_task(_turn(gate, "a", log, stalled))
    await _settle()
    b = asyncio.create_task(_turn(gate, "b", log, quick))
    await _settle()
    assert log == ["a"]
    for _ in range(200):  # "b" is let in while "a" still runs
        if log == ["a", "b"]:
            break
        await asyncio.sleep(0.05)
    assert log == ["a", "b"] and not a.done()
    quick.set()
    await b
    stalled.set()
    await a  # leaving after the hold time frees nothing twice
    assert gate.inside == 0


async def test_failed_and_cancelled_turns_never_keep_or_lose_a_place() -> None:
    gate = TurnGate(limit=1, hold_seconds=60)

    async def failing() -> None:
        async with gate.place():
            raise RuntimeError("action server down")

    with pytest.raises(RuntimeError):
        await failing()
    assert gate.inside == 0
    log: List[str] = []
    hold, other = asyncio.Event(), asyncio.Event()
    a = asyncio.create_task(_turn(gate, "a", log, hold))
    await _settle()
    waiting = asyncio.create_task(_turn(gate, "w", log, other))
    await _settle()
    waiting.cancel()  # cancelled while in line
    await asyncio.gather(waiting, return_exceptions=True)
    assert gate.waiting == 0
    handed = asyncio.create_task(_turn(gate, "h", log, other))
    await _settle()
    hold.set()
    await asyncio.sleep(0)  # "a" leaves and hands its place to "h" ...
    handed.cancel()  # ... which is cancelled before it runs: the place must pass on, not leak
    await asyncio.gather(a, handed, return_exceptions=True)
    assert gate.inside == 0 and gate.waiting == 0
    other.set()
    await asyncio.wait_for(_turn(gate, "z", log, other), 5)
    assert log[-1] == "z" and gate.inside == 0


async def _calling(gate: TurnGate, name: str, log: List[str], reply: asyncio.Event, done: asyncio.Event) -> None:
    """A turn that waits on another service (stepping out), then works on."""
    async with gate.place():
        log.append(f"{name} in")
        async with turn_gate.step_out():
            await reply.wait()
        log.append(f"{name} back")
        await done.wait()


async def test_a_short_wait_on_another_service_keeps_the_place() -> None:
    """Calls answered within the wait time keep the turn in: it finishes before newer turns start."""
    gate = TurnGate(limit=1, hold_seconds=60, wait_seconds=60)
    log: List[str] = []
    reply, done, later = asyncio.Event(), asyncio.Event(), asyncio.Event()
    a = asyncio.create_task(_calling(gate, "a", log, reply, done))
    await _settle()
    b = asyncio.create_task(_turn(gate, "b", log, later))
    await _settle()
    assert log == ["a in"] and gate.waiting == 1
    reply.set()
    await _settle()
    assert log == ["a in", "a back"]
    done.set()
    later.set()
    await asyncio.gather(a, b)
    assert log == ["a in", "a back", "b"] and gate.inside == 0


async def test_a_long_wait_frees_the_place_and_the_turn_comes_back_before_newer_ones() -> None:
    gate = TurnGate(limit=1, hold_seconds=60, wait_seconds=0.05)
    log: List[str] = []
    reply, done, later = asyncio.Event(), asyncio.Event(), asyncio.Event()
    a = asyncio.create_task(_calling(gate, "a", log, reply, done))
    await _settle()
    b = asyncio.create_task(_turn(gate, "b", log, later))  # gets in once "a" has waited 0.05 s
    await asyncio.wait_for(_until(lambda: log == ["a in", "b"]), 5)
    assert gate.inside == 1
    c = asyncio.create_task(_turn(gate, "c", log, later))  # newer than "a": waits
    reply.set()  # "a"'s answer is in; "a" waits for "b"'s place, ahead of "c"
    await _settle()
    assert log == ["a in", "b"] and gate.waiting == 2
    later.set()
    await _settle()
    assert log == ["a in", "b", "a back"]
    done.set()
    await asyncio.gather(a, b, c)
    assert log[-1] == "c" and gate.inside == 0 and gate.waiting == 0


async def test_a_stalled_service_holds_no_place(monkeypatch: pytest.MonkeyPatch) -> None:
    """``EndpointConfig.request`` (the action server) steps out: a hung call blocks its own turn only."""
    from rasa.utils.endpoints import EndpointConfig

    hung = asyncio.Event()

    async def action_server(self: Any, *args: Any, **kwargs: Any) -> Any:
        await hung.wait()
        return {"events": []}

    monkeypatch.setitem(turn_gate._original, "request", action_server)
    gate = TurnGate(limit=1, hold_seconds=60, wait_seconds=0.05)
    log: List[str] = []
    release = asyncio.Event()

    async def calling() -> Any:
        async with gate.place():
            return await turn_gate.request(EndpointConfig("http://127.0.0.1:9/webhook"), method="post")

    stalled = asyncio.create_task(calling())
    await _settle()
    others = [asyncio.create_task(_turn(gate, name, log, release)) for name in "xyz"]
    await asyncio.wait_for(_until(lambda: log == ["x"]), 5)  # in, though the first holder still waits
    release.set()
    await asyncio.gather(*others)
    assert log == ["x", "y", "z"] and not stalled.done()
    hung.set()
    assert await stalled == {"events": []} and gate.inside == 0


async def test_a_failed_call_keeps_the_place_and_a_cancelled_one_does_not_wait_for_it() -> None:
    gate = TurnGate(limit=1, hold_seconds=60, wait_seconds=0.05)
    log: List[str] = []
    holder_done = asyncio.Event()
    inside: List[int] = []

    async def failing_call(after: float) -> None:
        async with gate.place():
            with contextlib.suppress(ConnectionError):
                async with turn_gate.step_out():
                    await asyncio.sleep(after)
                    raise ConnectionError("action server refused")
            inside.append(gate.inside)  # Rasa goes on with the turn, in its place

    await failing_call(0)
    await failing_call(0.1)  # failed after the place was freed: taken back
    assert inside == [1, 1] and gate.inside == 0
    stopped = asyncio.Event()

    async def stopped_while_out() -> None:
        async with gate.place():
            async with turn_gate.step_out():
                await stopped.wait()

    out = asyncio.create_task(stopped_while_out())
    await _settle()
    holder = asyncio.create_task(_turn(gate, "holder", log, holder_done))  # takes the freed place
    await asyncio.wait_for(_until(lambda: log == ["holder"]), 5)
    out.cancel()  # stopped (shutdown) while its call runs: it must not queue for a place first
    await asyncio.wait_for(asyncio.gather(out, return_exceptions=True), 2)
    assert out.cancelled() and gate.inside == 1 and gate.waiting == 0
    holder_done.set()
    await holder
    assert gate.inside == 0


async def test_a_turn_that_overstayed_goes_on_without_taking_a_place_again() -> None:
    gate = TurnGate(limit=1, hold_seconds=1.0, wait_seconds=60)
    loop = asyncio.get_running_loop()
    times: Dict[str, float] = {}
    done, other = asyncio.Event(), asyncio.Event()

    async def slow_then_calling() -> None:
        async with gate.place():
            async with turn_gate.step_out():
                await asyncio.sleep(1.3)  # the place is given up at 1.0 s, by the hold time
            times["a back"] = loop.time()
            async with turn_gate.step_out():  # no place to leave or take back
                await asyncio.sleep(0)
            await done.wait()

    async def second() -> None:
        async with gate.place():
            times["b in"] = loop.time()
            await other.wait()

    a = asyncio.create_task(slow_then_calling())
    await _settle()
    b = asyncio.create_task(second())
    await asyncio.wait_for(_until(lambda: "a back" in times), 10)
    # "a" came back at once, not when "b" (in since 1.0 s) gave its place up a second later
    assert times["a back"] - times["b in"] < 0.9 and not b.done()
    done.set()
    other.set()
    await asyncio.gather(a, b)
    assert gate.inside == 0


async def _until(condition: Any) -> None:
    while not condition():
        await asyncio.sleep(0.01)


async def test_no_limit_lets_every_turn_in() -> None:
    gate = TurnGate(limit=0, hold_seconds=0.01)
    log: List[str] = []
    release = asyncio.Event()
    tasks = [asyncio.create_task(_turn(gate, str(i), log, release)) for i in range(50)]
    await _settle()
    assert len(log) == 50
    release.set()
    await asyncio.gather(*tasks)


class _Processor:
    def __init__(self, log: List[Any], release: asyncio.Event) -> None:
        self.log, self.release = log, release

    async def handle_message(self, message: UserMessage) -> List[Any]:
        self.log.append(message.text)
        await self.release.wait()
        return [{"text": message.text}]


class _Agent:
    def __init__(self, processor: _Processor) -> None:
        self.lock_store = InMemoryLockStore()
        self.processor = processor

    def is_ready(self) -> bool:
        return True


async def test_the_gate_is_inside_the_conversation_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    """A message waiting for its own conversation's earlier turn holds no place in the gate."""
    monkeypatch.setattr(turn_gate, "_limits", {"limit": 1, "hold_seconds": 60, "wait_seconds": 60})
    monkeypatch.setattr(turn_gate, "_gates", type(turn_gate._gates)())
    log: List[Any] = []
    release = asyncio.Event()
    agent = _Agent(_Processor(log, release))
    first = asyncio.create_task(turn_gate.handle_message(agent, UserMessage("a1", sender_id="a")))
    await _settle()
    second = asyncio.create_task(turn_gate.handle_message(agent, UserMessage("a2", sender_id="a")))
    third = asyncio.create_task(turn_gate.handle_message(agent, UserMessage("b1", sender_id="b")))
    await _settle()
    gate = turn_gate.gate()
    assert log == ["a1"] and gate.waiting == 1  # "b1" waits for the place; "a2" for its lock only
    release.set()
    assert await asyncio.gather(first, second, third) == [[{"text": "a1"}], [{"text": "a2"}], [{"text": "b1"}]]
    assert log[0] == "a1" and sorted(log[1:]) == ["a2", "b1"] and gate.inside == 0


def test_the_rasa_process_installs_it_with_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from rasa.core.agent import Agent

    from bot import settings as settings_module
    from integrations import rasa_process
    from tests.support.rasa_patches import keep_rasa_as_is

    keep_rasa_as_is(monkeypatch)
    monkeypatch.setattr(turn_gate, "_limits", dict(turn_gate._limits))
    monkeypatch.setenv("TURN_CONCURRENCY", "5")
    monkeypatch.setenv("TURN_HOLD_MS", "400")
    monkeypatch.setenv("TURN_WAIT_MS", "70")
    settings_module.get_settings.cache_clear()
    try:
        rasa_process.install()
    finally:
        settings_module.get_settings.cache_clear()
    assert Agent.handle_message is turn_gate.handle_message
    assert turn_gate._limits == {"limit": 5, "hold_seconds": 0.4, "wait_seconds": 0.07}
    turn_gate.uninstall()
    assert Agent.handle_message is not turn_gate.handle_message


def test_the_settings_refuse_a_negative_or_absurd_gate() -> None:
    from bot.settings import Settings

    assert (Settings().turn_concurrency, Settings().turn_hold_ms, Settings().turn_wait_ms) == (3, 250, 100)
    for field, value in (("turn_concurrency", -1), ("turn_hold_ms", 10**6), ("turn_wait_ms", -5)):
        with pytest.raises(ValueError, match="TURN_CONCURRENCY"):
            Settings(**{field: value})
