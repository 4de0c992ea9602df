"""Cached dialogue states (issue 15): the trained model predicts exactly what it predicts without the cache."""

from __future__ import annotations

import asyncio
from typing import Any, Iterator, List, Tuple

import pytest
from rasa.core.agent import Agent
from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    ActiveLoop,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot.cli.train import latest_model
from integrations import state_cache
from tests.support.rasa_patches import keep_rasa_as_is

MESSAGES = ["xin chao", "lam giay khai sinh can j", "le phi bn", "tra cứu hồ sơ 000.00.15.H65-240312-0001",
            "5678", "cho gặp cán bộ", "ko hieu", "hộ chiếu làm ở đâu", "cảm ơn nhé", "asdkjh qwe"]
Step = Tuple[int, Any, List[float]]


@pytest.fixture(scope="module")
def agent() -> Any:
    return Agent.load(str(latest_model()))


@pytest.fixture
def cached() -> Iterator[None]:
    original = DialogueStateTracker.past_states
    state_cache.install()
    yield
    state_cache.uninstall()
    assert DialogueStateTracker.past_states is original


def _converse(agent: Any) -> Tuple[List[Step], DialogueStateTracker]:
    """Predict through a conversation, appending what is predicted (forms asked for their slot)."""
    tracker = DialogueStateTracker.from_events("rest:cache", [ActionExecuted("action_session_start"),
                                                              ActionExecuted("action_listen")], agent.domain.slots)
    steps: List[Step] = []
    for text in MESSAGES:
        parse = asyncio.run(agent.parse_message(text))
        tracker.update(UserUttered(parse["text"], parse["intent"], parse["entities"], parse))
        for _ in range(4):
            prediction = agent.processor._predict_next_with_tracker(tracker)
            steps.append((prediction.max_confidence_index, prediction.policy_name, prediction.probabilities))
            name = agent.domain.action_names_or_texts[prediction.max_confidence_index]
            tracker.update(ActionExecuted(name, policy=prediction.policy_name, hide_rule_turn=prediction.hide_rule_turn))
            if name in agent.domain.form_names and tracker.active_loop_name != name:
                tracker.update(ActiveLoop(name))
                tracker.update(SlotSet("requested_slot", next(iter(agent.domain.forms[name].get(
                    "required_slots", [])), None)))
            if name == "action_listen":
                break
    return steps, tracker


def test_predictions_are_identical(agent: Any, cached: None) -> None:
    with_cache, tracker = _converse(agent)
    state_cache.uninstall()
    without, _ = _converse(agent)
    assert with_cache == without
    assert len(with_cache) > len(MESSAGES) and len(tracker.events) > 30


def test_states_are_the_same_and_each_caller_gets_its_own(agent: Any, cached: None) -> None:
    _, tracker = _converse(agent)
    rule_data = {"slots": ["requested_slot"], "active_loops": []}
    for args in [(False, False, None), (True, False, None), (False, True, rule_data), (True, True, rule_data)]:
        first = tracker.past_states(agent.domain, *args)
        assert first == state_cache._original["past_states"](tracker, agent.domain, *args)
        for state in first:  # what Rasa's featurizers do to the last user state
            state.get("user", {}).pop("text", None)
            state.clear()
        assert tracker.past_states(agent.domain, *args) == state_cache._original["past_states"](
            tracker, agent.domain, *args)


def test_a_new_event_means_new_states(agent: Any, cached: None) -> None:
    _, tracker = _converse(agent)
    before = tracker.past_states(agent.domain)
    tracker.update(UserUttered("xin chao", {"name": "greet", "confidence": 1.0}))
    after = tracker.past_states(agent.domain)
    assert len(after) == len(before) + 1 or after[-1] != before[-1]
    assert after == state_cache._original["past_states"](tracker, agent.domain)


def test_the_rasa_process_installs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from integrations import rasa_process

    keep_rasa_as_is(monkeypatch)
    rasa_process.install()
    assert DialogueStateTracker.past_states is state_cache.past_states


ARGS = [(False, False, None), (True, False, None), (False, True, {"slots": ["requested_slot"], "active_loops": []}),
        (True, True, {"slots": ["requested_slot"], "active_loops": ["dossier_form"]})]


def _same_as_rasa(tracker: DialogueStateTracker, domain: Any) -> None:
    for omit, ignore, rule_data in ARGS:
        # a new but equal rule-data dict each time, as Rasa hands them
        ours = tracker.past_states(domain, omit, ignore, dict(rule_data) if rule_data else None)
        assert ours == state_cache._original["past_states"](tracker, domain, omit, ignore, rule_data)


def test_resumed_states_equal_rasas_after_every_event(agent: Any, cached: None) -> None:
    """The replay resumes as events are appended, through forms, reverts, restarts and new sessions."""
    _, full = _converse(agent)
    extra = [UserUtteranceReverted(), ActionExecuted("action_listen"),
             UserUttered("le phi bn", {"name": "ask_fee", "confidence": 1.0}), ActionExecuted("action_answer_procedure"),
             ActionReverted(), ActionExecuted("action_listen"), Restarted(), ActionExecuted("action_listen"),
             UserUttered("xin chao", {"name": "greet", "confidence": 1.0}), ActionExecuted("utter_greet"),
             SessionStarted(), ActionExecuted("action_listen"),
             UserUttered("tra cứu hồ sơ", {"name": "check_status", "confidence": 1.0}),
             ActionExecuted("dossier_form"), ActiveLoop("dossier_form"), SlotSet("requested_slot", "dossier_code"),
             ActionExecuted("action_listen")]
    tracker = DialogueStateTracker.from_events("rest:resume", [], agent.domain.slots)
    resumed = 0
    for event in [*full.events, *extra]:
        tracker.update(event)
        resumed += bool(tracker.__dict__.get(state_cache.REPLAY_ATTRIBUTE))
        _same_as_rasa(tracker, agent.domain)
    assert resumed > len(full.events)  # the replays were kept and resumed, not rebuilt for nothing
    kept = tracker.__dict__[state_cache.REPLAY_ATTRIBUTE]
    assert {len(r.fed) for r in kept.values()} == {len(tracker.applied_events())}


def test_a_copy_of_a_tracker_starts_its_own_replay(agent: Any, cached: None) -> None:
    _, tracker = _converse(agent)
    tracker.past_states(agent.domain)
    copy = tracker.copy()
    copy.update(UserUttered("xin chao", {"name": "greet", "confidence": 1.0}))
    _same_as_rasa(copy, agent.domain)
    _same_as_rasa(tracker, agent.domain)
