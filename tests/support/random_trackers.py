"""Random conversations as Rasa trackers, and everything a tracker carries as plain values (tests of
the Rasa-process adjustments that copy trackers from their state)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any, Callable, Dict, List

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

DOMAIN = Domain.load(str(Path(__file__).resolve().parents[2] / "domain"))
CODE = "000.00.15.H65-240312-0001"


def user(text: str, intent: str, entities: List[Dict[str, Any]] = ()) -> UserUttered:
    """A user message as the NLU would have parsed it."""
    entities = list(entities)
    return UserUttered(text, {"name": intent, "confidence": 0.9}, entities,
                       {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": entities})


# Each maker returns one event; the random conversations draw from them.
MAKERS: List[Callable[[random.Random], Event]] = [
    lambda r: user("xin chao", "greet"),
    lambda r: user("le phi bn", "ask_fee", [{"entity": "procedure", "value": "khai sinh", "start": 0, "end": 3}]),
    lambda r: user(f"tra cuu {CODE}", "lookup_dossier", [{"entity": "dossier_code", "value": CODE}]),
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


def conversation(seed: int, length: int) -> DialogueStateTracker:
    """A tracker of the domain's slots holding ``length`` random events after a session start."""
    rng = random.Random(seed)
    tracker = DialogueStateTracker.from_events(f"rest:copy-{seed}", [ActionExecuted("action_session_start"),
                                                                     SessionStarted(),
                                                                     ActionExecuted("action_listen")], DOMAIN.slots)
    tracker.model_id, tracker.assistant_id = "model-1", "assistant-1"
    for _ in range(length):
        tracker.update(rng.choice(MAKERS)(rng))
    return tracker


def untimed(event: Event) -> Dict[str, Any]:
    """The event as a dict, without its timestamp (an empty one is made when it is asked for)."""
    return {key: value for key, value in event.as_dict().items() if key != "timestamp"}


def state(tracker: DialogueStateTracker) -> Dict[str, Any]:
    """Everything a copy carries, as plain values."""
    loop = tracker.active_loop
    return {"current": tracker.current_state(EventVerbosity.ALL),
            "slots": {n: (s.value, s.has_been_set, type(s)) for n, s in tracker.slots.items()},
            "loop": None if loop is None else (loop.name, loop.is_interrupted, loop.rejected, loop.trigger_message),
            "paused": tracker.is_paused(), "followup": tracker.followup_action,
            "latest_action": tracker.latest_action, "latest_message": untimed(tracker.latest_message),
            "latest_bot": untimed(tracker.latest_bot_utterance), "ids": (tracker.model_id, tracker.assistant_id),
            "source": tracker.sender_source, "rule": tracker.is_rule_tracker, "states": tracker.past_states(DOMAIN),
            "events": list(tracker.events)}
