"""The tracker copied from its state (issue 15) is the tracker Rasa's replay makes, and stays apart from it."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActionExecutionRejected,
    ActionReverted,
    ActiveLoop,
    AllSlotsReset,
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    EntitiesAdded,
    Event,
    FollowupAction,
    LoopInterrupted,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity

from integrations import tracker_copy
from tests.support.rasa_patches import keep_rasa_as_is

DOMAIN = Domain.load(str(Path(__file__).resolve().parents[2] / "domain"))
CODE = "000.00.15.H65-240312-0001"


@pytest.fixture
def fast() -> Iterator[None]:
    original = DialogueStateTracker.copy
    tracker_copy.install()
    yield
    tracker_copy.uninstall()
    assert DialogueStateTracker.copy is original


def _user(text: str, intent: str, entities: List[Dict[str, Any]] = ()) -> UserUttered:
    entities = list(entities)
    return UserUttered(text, {"name": intent, "confidence": 0.9}, entities,
                       {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": entities})


# Each maker returns one event; the random conversations draw from them.
MAKERS: List[Callable[[random.Random], Event]] = [
    lambda r: _user("xin chao", "greet"),
    lambda r: _user("le phi bn", "ask_fee", [{"entity": "procedure", "value": "khai sinh", "start": 0, "end": 3}]),
    lambda r: _user(f"tra cuu {CODE}", "lookup_dossier", [{"entity": "dossier_code", "value": CODE}]),
    lambda r: ActionExecuted("action_listen"),
    lambda r: ActionExecuted(r.choice(["utter_greet", "action_answer_procedure", "dossier_form"])),
    lambda r: BotUttered(r.choice(["Chào bạn", "Lệ phí: ..."]), {"buttons": []}),
    lambda r: SlotSet(r.choice(["procedure", "dossier_code", "phone_last4", "requested_slot", "pending_aspect"]),
                      r.choice([None, "khai sinh", CODE, "5678", ["a", "b"]])),
    lambda r: ActiveLoop(r.choice(["dossier_form", None])),
    lambda r: LoopInterrupted(r.choice([True, False])),
    lambda r: ActionExecutionRejected("dossier_form"),
    lambda r: EntitiesAdded([{"entity": "place", "value": "Yên Bái"}]),
    lambda r: FollowupAction("utter_greet"),
    lambda r: ConversationPaused(),
    lambda r: ConversationResumed(),
    lambda r: r.choice([ActionReverted(), UserUtteranceReverted(), AllSlotsReset(), Restarted(),
                        SessionStarted()]),
]


def _conversation(seed: int, length: int) -> DialogueStateTracker:
    rng = random.Random(seed)
    tracker = DialogueStateTracker.from_events(f"rest:copy-{seed}", [ActionExecuted("action_session_start"),
                                                                     SessionStarted(),
                                                                     ActionExecuted("action_listen")], DOMAIN.slots)
    tracker.model_id, tracker.assistant_id = "model-1", "assistant-1"
    for _ in range(length):
        tracker.update(rng.choice(MAKERS)(rng))
    return tracker


def _untimed(event: Event) -> Dict[str, Any]:
    """The event as a dict, without its timestamp (an empty one is made when it is asked for)."""
    return {key: value for key, value in event.as_dict().items() if key != "timestamp"}


def _state(tracker: DialogueStateTracker) -> Dict[str, Any]:
    """Everything a copy carries, as plain values."""
    loop = tracker.active_loop
    return {"current": tracker.current_state(EventVerbosity.ALL),
            "slots": {n: (s.value, s.has_been_set, type(s)) for n, s in tracker.slots.items()},
            "loop": None if loop is None else (loop.name, loop.is_interrupted, loop.rejected, loop.trigger_message),
            "paused": tracker.is_paused(), "followup": tracker.followup_action,
            "latest_action": tracker.latest_action, "latest_message": _untimed(tracker.latest_message),
            "latest_bot": _untimed(tracker.latest_bot_utterance), "ids": (tracker.model_id, tracker.assistant_id),
            "source": tracker.sender_source, "rule": tracker.is_rule_tracker, "states": tracker.past_states(DOMAIN),
            "events": list(tracker.events)}


@pytest.mark.parametrize("seed", range(60))
def test_the_copy_is_what_the_replay_makes(fast: None, seed: int) -> None:
    tracker = _conversation(seed, 5 + seed % 40)
    copied, replayed = tracker.copy(), tracker_copy._original["copy"](tracker)
    assert _state(copied) == _state(replayed)
    assert [a is b for a, b in zip(copied.events, tracker.events)] == [True] * len(tracker.events)


@pytest.mark.parametrize("seed", range(20))
def test_changing_the_copy_leaves_the_tracker_as_it_was(fast: None, seed: int) -> None:
    tracker = _conversation(seed, 30)
    tracker.update(_user(f"tra cuu {CODE}", "lookup_dossier"))
    tracker.update(ActiveLoop("dossier_form"))  # events edit an active loop in place
    before = _state(tracker)
    copied = tracker.copy()
    rng = random.Random(1000 + seed)
    for event in [LoopInterrupted(True), ActionExecutionRejected("dossier_form"), SlotSet("dossier_code", CODE),
                  ActionExecuted("utter_greet"), ConversationPaused(),
                  EntitiesAdded([{"entity": "place", "value": "Lào Cai"}])] + [rng.choice(MAKERS)(rng) for _ in range(8)]:
        copied.update(event)
        assert _state(tracker) == before


def test_an_empty_latest_message_is_the_copys_own(fast: None) -> None:
    tracker = DialogueStateTracker.from_events("rest:empty", [ActionExecuted("action_listen")], DOMAIN.slots)
    copied = tracker.copy()
    assert copied.latest_message is not tracker.latest_message
    assert copied.latest_bot_utterance is not tracker.latest_bot_utterance
    assert _untimed(copied.latest_message) == _untimed(tracker.latest_message)


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
        assert _state(tracker.copy()) == _state(replay(tracker))
    assert calls == [capped, no_domain, sub]


def test_the_rasa_process_installs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from integrations import rasa_process

    keep_rasa_as_is(monkeypatch)
    rasa_process.install()
    assert DialogueStateTracker.copy is tracker_copy.copy
