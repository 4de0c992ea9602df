"""The tracker copied from its state (issue 15) is the tracker Rasa's replay makes, and stays apart from it."""

from __future__ import annotations

import random
from typing import Any, Iterator, List

import pytest
from rasa.shared.core.events import (
    ActionExecuted,
    ActionExecutionRejected,
    ActiveLoop,
    ConversationPaused,
    EntitiesAdded,
    LoopInterrupted,
    SlotSet,
)
from rasa.shared.core.trackers import DialogueStateTracker

from integrations import tracker_copy
from tests.support.random_trackers import CODE, DOMAIN, MAKERS, conversation, state, untimed, user
from tests.support.rasa_patches import keep_rasa_as_is


@pytest.fixture
def fast() -> Iterator[None]:
    original = DialogueStateTracker.copy
    tracker_copy.install()
    yield
    tracker_copy.uninstall()
    assert DialogueStateTracker.copy is original


@pytest.mark.parametrize("seed", range(60))
def test_the_copy_is_what_the_replay_makes(fast: None, seed: int) -> None:
    tracker = conversation(seed, 5 + seed % 40)
    copied, replayed = tracker.copy(), tracker_copy._original["copy"](tracker)
    assert state(copied) == state(replayed)
    assert [a is b for a, b in zip(copied.events, tracker.events)] == [True] * len(tracker.events)


@pytest.mark.parametrize("seed", range(20))
def test_changing_the_copy_leaves_the_tracker_as_it_was(fast: None, seed: int) -> None:
    tracker = conversation(seed, 30)
    tracker.update(user(f"tra cuu {CODE}", "lookup_dossier"))
    tracker.update(ActiveLoop("dossier_form"))  # events edit an active loop in place
    before = state(tracker)
    copied = tracker.copy()
    rng = random.Random(1000 + seed)
    for event in [LoopInterrupted(True), ActionExecutionRejected("dossier_form"), SlotSet("dossier_code", CODE),
                  ActionExecuted("utter_greet"), ConversationPaused(),
                  EntitiesAdded([{"entity": "place", "value": "Lào Cai"}])] + [rng.choice(MAKERS)(rng) for _ in range(8)]:
        copied.update(event)
        assert state(tracker) == before


def test_an_empty_latest_message_is_the_copys_own(fast: None) -> None:
    tracker = DialogueStateTracker.from_events("rest:empty", [ActionExecuted("action_listen")], DOMAIN.slots)
    copied = tracker.copy()
    assert copied.latest_message is not tracker.latest_message
    assert copied.latest_bot_utterance is not tracker.latest_bot_utterance
    assert untimed(copied.latest_message) == untimed(tracker.latest_message)


def test_shapes_it_does_not_know_take_the_replay(fast: None, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: List[Any] = []
    replay = tracker_copy._original["copy"]
    monkeypatch.setitem(tracker_copy._original, "copy", lambda t: calls.append(t) or replay(t))
    capped = DialogueStateTracker.from_events("rest:capped", [ActionExecuted("action_listen")], DOMAIN.slots,
                                              max_event_history=5)
    no_domain = DialogueStateTracker.from_events("rest:any", [SlotSet("x", 1)], None)

    class Sub(DialogueStateTracker):
        pass

    sub = Sub.from_events("rest:sub", [ActionExecuted("action_listen")], DOMAIN.slots)
    for tracker in (capped, no_domain, sub):
        assert state(tracker.copy()) == state(replay(tracker))
    assert calls == [capped, no_domain, sub]


def test_the_rasa_process_installs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from integrations import rasa_process

    keep_rasa_as_is(monkeypatch)
    rasa_process.install()
    assert DialogueStateTracker.copy is tracker_copy.copy
