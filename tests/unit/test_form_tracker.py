"""A form's temporary tracker and a slot's copy made from state (issue 15, item 24) are what Rasa makes."""

from __future__ import annotations

import copy
import random
import time
from typing import Any, Iterator, List

import pytest
from rasa.core.actions.forms import FormAction
from rasa.shared.core import slots as rasa_slots
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    ConversationPaused,
    EntitiesAdded,
    Event,
    LoopInterrupted,
    Restarted,
    SlotSet,
)
from rasa.shared.core.slots import Slot
from rasa.shared.core.trackers import DialogueStateTracker

from integrations import tracker_copy
from tests.support.random_trackers import CODE, DOMAIN, MAKERS, conversation, state, user

FORM = FormAction("dossier_form", None)


@pytest.fixture
def fast() -> Iterator[None]:
    original = FormAction._temporary_tracker
    tracker_copy.install()
    yield
    tracker_copy.uninstall()
    assert FormAction._temporary_tracker is original and "__copy__" not in Slot.__dict__


def _generic_copy(slot: Slot) -> Slot:
    """What ``copy.copy`` makes without ``Slot.__copy__``."""
    return copy._reconstruct(slot, None, *slot.__reduce_ex__(4))  # type: ignore[attr-defined]


def _form_events(rng: random.Random) -> List[Event]:
    """Slots a form's validation would set, as the form passes them to its temporary tracker."""
    return [SlotSet(rng.choice(["dossier_code", "phone_last4", "procedure", "requested_slot"]),
                    rng.choice([None, CODE, "5678", "khai sinh"])) for _ in range(rng.randrange(4))]


def _in_form(seed: int, length: int) -> DialogueStateTracker:
    """A random conversation with the dossier form active, or not, at its end."""
    tracker = conversation(seed, length)
    if seed % 3:
        tracker.update(user(f"tra cuu {CODE}", "lookup_dossier"))
        tracker.update(ActiveLoop("dossier_form"))
        tracker.update(SlotSet("requested_slot", "phone_last4"))
    return tracker


@pytest.mark.parametrize("seed", range(60))
def test_the_temporary_tracker_is_what_the_replay_makes(fast: None, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    tracker = _in_form(seed, 5 + seed % 40)
    extra = _form_events(random.Random(seed))
    replays: List[Any] = []
    replay = tracker_copy._original["_temporary_tracker"]
    monkeypatch.setitem(tracker_copy._original, "_temporary_tracker", lambda *a: replays.append(a) or replay(*a))
    monkeypatch.setattr(time, "time", lambda: 1.0)  # the form's own events are made by both, at the same time
    made = FORM._temporary_tracker(tracker, extra, DOMAIN)
    restarted = any(isinstance(event, Restarted) for event in tracker.events)
    assert len(replays) == int(restarted)  # only a restart takes the replay here
    assert state(made) == state(replay(FORM, tracker, extra, DOMAIN))
    if not restarted:
        assert list(made.events)[:len(tracker.events)] == list(tracker.events)


def test_most_random_conversations_take_the_copy(fast: None) -> None:
    restarted = sum(any(isinstance(e, Restarted) for e in _in_form(seed, 5 + seed % 40).events) for seed in range(60))
    assert restarted < 30  # the test above compares the copy with the replay, not the replay with itself


@pytest.mark.parametrize("seed", range(20))
def test_changing_the_temporary_tracker_leaves_the_tracker_as_it_was(fast: None, seed: int) -> None:
    tracker = _in_form(seed * 3 + 1, 30)
    before = state(tracker)
    made = FORM._temporary_tracker(tracker, [SlotSet("dossier_code", CODE)], DOMAIN)
    rng = random.Random(seed)
    # not EntitiesAdded: it edits the latest user message, an event object the temporary tracker
    # shares with the tracker in Rasa's replay as well
    makers = [make for make in MAKERS if not isinstance(make(rng), EntitiesAdded)]
    for event in [LoopInterrupted(True), SlotSet("phone_last4", "5678"), ConversationPaused(),
                  ActionExecuted("utter_greet")] + [rng.choice(makers)(rng) for _ in range(8)]:
        made.update(event)
        assert state(tracker) == before


def test_slots_that_are_not_the_domains_take_the_replay(fast: None, monkeypatch: pytest.MonkeyPatch) -> None:
    replays: List[Any] = []
    replay = tracker_copy._original["_temporary_tracker"]
    monkeypatch.setitem(tracker_copy._original, "_temporary_tracker", lambda *a: replays.append(a) or replay(*a))
    tracker = next(t for t in (_in_form(seed, 20) for seed in range(1, 99))
                   if not any(isinstance(event, Restarted) for event in t.events))
    other = Domain.from_dict({**DOMAIN.as_dict(), "slots": {
        **DOMAIN.as_dict()["slots"], "procedure": {**DOMAIN.as_dict()["slots"]["procedure"], "initial_value": "x"}}})
    fewer = Domain.from_dict({**DOMAIN.as_dict(), "slots": {
        name: slot for name, slot in DOMAIN.as_dict()["slots"].items() if name != "procedure"}})
    capped = DialogueStateTracker.from_events("rest:capped", list(tracker.events), DOMAIN.slots, max_event_history=50)
    no_domain = DialogueStateTracker.from_events("rest:any", list(tracker.events), None)
    cases = [(tracker, other), (tracker, fewer), (capped, DOMAIN), (no_domain, DOMAIN)]
    monkeypatch.setattr(time, "time", lambda: 1.0)
    for current, domain in cases:
        assert state(FORM._temporary_tracker(current, [], domain)) == state(replay(FORM, current, [], domain))
    assert len(replays) == len(cases)


@pytest.mark.parametrize("name", sorted(DOMAIN.as_dict()["slots"]))
def test_a_slot_copy_is_what_copy_makes(fast: None, name: str) -> None:
    slot = next(s for s in DOMAIN.slots if s.name == name)
    slot = copy.copy(slot)
    slot.value = ["a"] if isinstance(slot, rasa_slots.ListSlot) else "5678"
    made, generic = copy.copy(slot), _generic_copy(slot)
    assert type(made) is type(generic) is type(slot) and made is not slot
    assert made.__dict__ == generic.__dict__ == slot.__dict__ and made.__dict__ is not slot.__dict__
    made.value = None
    assert slot.value is not None and slot.has_been_set


def test_every_slot_class_of_rasa_copies_the_same() -> None:
    tracker_copy.install()
    try:
        kinds = [rasa_slots.TextSlot("t", []), rasa_slots.BooleanSlot("b", [], True), rasa_slots.FloatSlot("f", [], 1.0),
                 rasa_slots.ListSlot("l", []), rasa_slots.AnySlot("a", []),
                 rasa_slots.CategoricalSlot("c", [], values=["x", "y"])]
        for slot in kinds:
            assert Slot.__copy__ is tracker_copy.copy_slot and copy.copy(slot).__dict__ == _generic_copy(slot).__dict__
    finally:
        tracker_copy.uninstall()
