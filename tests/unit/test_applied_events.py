"""The applied events kept per tracker (issue 15, item 25) are Rasa's walk of the whole conversation."""

from __future__ import annotations

import copy
import random
from collections import deque
from typing import Callable, Iterator, List

import pytest
from rasa.shared.core.events import ActionExecuted, ActiveLoop, Event, LoopInterrupted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from integrations import state_cache
from tests.support.random_trackers import DOMAIN, MAKERS, conversation, user

# a second loop whose name comes late in a conversation, after executions of its action
LOOP_MAKERS: List[Callable[[random.Random], Event]] = MAKERS + [
    lambda r: ActiveLoop(r.choice(["rating_form", None])),
    lambda r: ActionExecuted(r.choice(["rating_form", "dossier_form", "action_listen"])),
    lambda r: user("5678", "inform"),
]


@pytest.fixture
def kept() -> Iterator[None]:
    original = DialogueStateTracker.applied_events
    state_cache.install()
    yield
    state_cache.uninstall()
    assert DialogueStateTracker.applied_events is original


def _rasa(tracker: DialogueStateTracker) -> List[Event]:
    return state_cache._original["applied_events"](tracker)


@pytest.mark.parametrize("seed", range(60))
def test_after_every_event_the_applied_events_are_rasas(kept: None, seed: int) -> None:
    rng = random.Random(seed)
    tracker = conversation(seed, rng.randrange(30))
    for _ in range(60):
        tracker.update(rng.choice(LOOP_MAKERS)(rng))
        if rng.random() < 0.7:
            ours = tracker.applied_events()
            assert [id(e) for e in ours] == [id(e) for e in _rasa(tracker)]
            ours.append(UserUttered("edited by a caller"))  # a caller's list is its own
            assert tracker.applied_events() == _rasa(tracker)


def test_a_late_loop_name_walks_the_conversation_again(kept: None) -> None:
    tracker = conversation(7, 10)
    for event in [ActionExecuted("rating_form"), user("5", "inform"), ActionExecuted("rating_form"),
                  LoopInterrupted(False)]:
        tracker.update(event)
        assert tracker.applied_events() == _rasa(tracker)
    tracker.update(ActiveLoop("rating_form"))  # the earlier executions of rating_form now count as a loop's
    assert tracker.applied_events() == _rasa(tracker)


@pytest.mark.parametrize("seed", range(10))
def test_copies_and_capped_trackers_keep_their_own(kept: None, seed: int) -> None:
    rng = random.Random(seed)
    tracker = conversation(seed, 20)
    tracker.applied_events()
    twin = copy.copy(tracker)  # shares the kept walk and, at first, the events
    twin.events = copy.copy(tracker.events)
    for _ in range(10):
        tracker.update(rng.choice(LOOP_MAKERS)(rng))
        twin.update(rng.choice(LOOP_MAKERS)(rng))
        assert tracker.applied_events() == _rasa(tracker) and twin.applied_events() == _rasa(twin)
    capped = DialogueStateTracker.from_events("rest:capped", list(tracker.events), DOMAIN.slots, max_event_history=8)
    assert capped.applied_events() == _rasa(capped)
    assert state_cache.APPLIED_ATTRIBUTE not in capped.__dict__


def test_events_replaced_behind_its_back_are_walked_again(kept: None) -> None:
    tracker = conversation(3, 30)
    tracker.applied_events()
    rng = random.Random(3)
    head = list(tracker.events)[:5]
    tracker.events = deque(head + [rng.choice(LOOP_MAKERS)(rng) for _ in range(40)])  # same first, new rest
    assert tracker.applied_events() == _rasa(tracker)
    plain = DialogueStateTracker.from_events("rest:plain", [ActionExecuted("action_listen"), user("a", "greet"),
                                                            ActionExecuted("utter_greet")], DOMAIN.slots)
    assert len(plain.applied_events()) == 3
    plain.events = deque([user("b", "greet")] + list(plain.events)[1:])  # a new first, the same count and last
    assert plain.applied_events() == _rasa(plain)
