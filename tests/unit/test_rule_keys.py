"""The rule policy's possible keys (issue 15): the same set as Rasa's own on every call of a conversation."""

from __future__ import annotations

from typing import Any, Dict, Iterator, List

import pytest
from rasa.core.policies.rule_policy import RulePolicy
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from integrations import rule_keys
from tests.support.rasa_patches import keep_rasa_as_is
from tests.unit.test_state_cache import _converse, agent  # noqa: F401  (the trained model)

seen: List[Any] = []  # (policy, lookup, states) of each call


@pytest.fixture
def compared() -> Iterator[List[int]]:
    """Install ours; every call also runs Rasa's and must give the same keys. Yields the sizes seen."""
    original = RulePolicy._get_possible_keys
    rule_keys.install()
    sizes: List[int] = []
    seen.clear()

    def both(self: Any, lookup: Dict[str, str], states: List[Dict[str, Any]]) -> Any:
        ours = rule_keys.possible_keys(self, lookup, states)
        assert ours == rule_keys._original["_get_possible_keys"](self, lookup, states)
        sizes.append(len(ours))
        seen.append((self, lookup, states))
        return ours

    RulePolicy._get_possible_keys = both  # type: ignore[method-assign]
    yield sizes
    rule_keys.uninstall()
    assert RulePolicy._get_possible_keys is original


def test_same_keys_on_every_call_of_a_conversation(agent: Any, compared: List[int]) -> None:  # noqa: F811
    _, tracker = _converse(agent)
    assert len(tracker.events) > 30 and len(compared) > 20 and any(compared)  # rules matched, compared often
    calls = len(compared)
    short = DialogueStateTracker.from_events("rest:short", [ActionExecuted("action_listen"),
                                                            UserUttered("hi", {"name": "greet", "confidence": 1.0})],
                                             agent.domain.slots)  # fewer states than most rules
    agent.processor._predict_next_with_tracker(short)
    assert len(compared) > calls


def test_same_keys_for_every_prefix_of_every_state_list(agent: Any, compared: List[int]) -> None:  # noqa: F811
    _converse(agent)
    policy, lookup, states = max(seen, key=lambda call: len(call[2]))
    rasa = rule_keys._original["_get_possible_keys"]
    for end in range(len(states) + 1):
        for start in range(0, end, 3):
            part = states[start:end]
            assert rule_keys.possible_keys(policy, lookup, part) == rasa(policy, lookup, part)


def test_no_rules_and_no_states() -> None:
    assert rule_keys.possible_keys(object(), {}, [{"user": {"intent": "greet"}}]) == set()
    lookup = {'[{"prev_action": {"action_name": "action_listen"}}]': "utter_greet"}
    assert rule_keys.possible_keys(object(), lookup, []) == set(lookup)


def test_the_rasa_process_installs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from integrations import rasa_process

    keep_rasa_as_is(monkeypatch)
    rasa_process.install()
    assert RulePolicy._get_possible_keys is rule_keys.possible_keys
