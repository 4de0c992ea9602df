"""A lone turn's parse in its own thread beside the tracker load (issue 15, item 29), on the trained model."""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import Any, Dict, Iterator, List

import pytest
from rasa.core.agent import Agent
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.processor import MessageProcessor
from rasa.engine.constants import PLACEHOLDER_TRACKER
from rasa.shared.core.events import UserUttered

from bot.cli.train import latest_model
from integrations import parse_ahead

# answered from the domain's templates or rules alone (the test has no action server)
MESSAGES = ["xin chào", "xin chao", "cảm ơn nhé", "ok", "", "🙂", "asdkjh qwe zzz", "tạm biệt",
            "ban la nguoi hay may", "dang ky ket hon mat bao lau " * 30, '/greet{"x": 1}']


@pytest.fixture(scope="module")
def agent() -> Iterator[Any]:
    """The trained model with the parse ahead installed; Rasa's own methods restored after."""
    parse_ahead.install()
    try:
        yield Agent.load(str(latest_model()))
    finally:
        parse_ahead.uninstall()


async def _turn(agent: Any, sender: str, text: str) -> List[Dict[str, Any]]:
    out = CollectingOutputChannel()
    await agent.handle_message(UserMessage(text, out, sender))
    return [{k: v for k, v in m.items() if k != "recipient_id"} for m in out.messages]


async def _conversation(agent: Any, sender: str) -> tuple:
    replies = [await _turn(agent, sender, text) for text in MESSAGES]
    tracker = await agent.tracker_store.retrieve(sender)
    return replies, [{k: v for k, v in e.parse_data.items() if k != "message_id"}   # a new id per message
                     for e in tracker.events if isinstance(e, UserUttered)]


def test_the_nlu_part_of_the_graph_takes_no_tracker(agent: Any) -> None:
    metadata = agent.processor.model_metadata
    nodes = metadata.predict_schema.minimal_graph_schema([metadata.nlu_target]).nodes
    assert nodes and all(PLACEHOLDER_TRACKER not in node.needs.values() for node in nodes.values())


def test_lone_turns_parse_in_the_thread_and_answer_as_rasa_does(agent: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    threads: List[str] = []   # where Rasa's parse ran, once per message
    original = parse_ahead._original["parse_message"]
    monkeypatch.setitem(parse_ahead._original, "parse_message",
                        lambda *a: threads.append(threading.current_thread().name) or original(*a))
    ours = asyncio.run(_conversation(agent, f"a-{uuid.uuid4().hex}"))
    assert len(threads) == len(MESSAGES) and all(name.startswith("nlu-parse") for name in threads)
    monkeypatch.setitem(parse_ahead._original, "parse_message", original)
    parse_ahead.uninstall()
    try:
        theirs = asyncio.run(_conversation(agent, f"b-{uuid.uuid4().hex}"))
    finally:
        parse_ahead.install()
    assert ours == theirs   # the same replies, and the same parse of every message, to the last bit
    assert ours[1][0]["intent"]["name"] == "greet" and ours[1][-1]["intent"]["name"] == "greet"


def test_concurrent_turns_parse_inline_one_at_a_time(agent: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    running, most, lock = [0], [0], threading.Lock()
    original = parse_ahead._original["parse_message"]

    async def counting(*args: Any) -> Any:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        try:
            return await original(*args)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setitem(parse_ahead._original, "parse_message", counting)
    threads: List[int] = []
    ahead = parse_ahead._parse_in_thread
    monkeypatch.setattr(parse_ahead, "_parse_in_thread", lambda p, m: threads.append(1) or ahead(p, m))

    async def many() -> List[Any]:
        return await asyncio.gather(*[_turn(agent, f"c-{i}-{uuid.uuid4().hex}", text)
                                      for i in range(4) for text in ("xin chào", "cảm ơn nhé")])

    replies = asyncio.run(many())
    assert all(replies) and most[0] == 1
    assert len(threads) == 1 and parse_ahead._turns == 0   # only the turn that started alone
    assert MessageProcessor.__dict__["parse_message"] is parse_ahead.parse_message


def test_a_failing_parse_fails_the_turn_as_inline(agent: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(*_: Any) -> Any:
        raise ValueError("no parse")

    monkeypatch.setitem(parse_ahead._original, "parse_message", broken)
    with pytest.raises(ValueError, match="no parse"):
        asyncio.run(_turn(agent, f"d-{uuid.uuid4().hex}", "xin chào"))
    assert parse_ahead._turns == 0


def test_a_parse_that_suspends_is_refused_in_the_thread() -> None:
    async def suspends() -> None:
        await asyncio.sleep(0)

    with pytest.raises(RuntimeError, match="suspended"):
        parse_ahead._finished(suspends())
    assert parse_ahead._finished(_value()) == 7


async def _value() -> int:
    return 7
