"""Rasa-side: a tracker's dialogue states worked out once per prediction, not once per policy.

To predict the next action, Rasa 3.6's policies each call ``DialogueStateTracker.past_states``
(the rule policy twice, the memoization policy once), and each call replays the whole
conversation event by event (``Domain.states_for_tracker_history``): about a quarter of the
policies' time (docs/profile.md). The states depend only on the tracker's events and the
arguments, so :func:`install` makes ``past_states`` keep the last result per set of arguments on
the tracker, for as long as the tracker holds the same events (same number, same last event
object; events are only ever appended). Callers get their own copy of each state, down to the
sub-state dicts they may edit (Rasa's featurizers remove the last user text in place); the
values inside are strings, tuples and numbers.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Tuple

CACHE_ATTRIBUTE = "_past_states_cache"
_original: Dict[str, Callable[..., Any]] = {}


def _copy(states: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    return [{key: dict(sub) if isinstance(sub, dict) else sub for key, sub in state.items()} for state in states]


def _version(tracker: Any) -> Tuple[int, int]:
    events = tracker.events
    return len(events), id(events[-1]) if events else 0


def past_states(self: Any, domain: Any, omit_unset_slots: bool = False, ignore_rule_only_turns: bool = False,
                rule_only_data: Optional[Dict[str, Any]] = None) -> List[Dict[str, Any]]:
    """``DialogueStateTracker.past_states``, computed once per version of the tracker and arguments."""
    version = _version(self)
    cache = self.__dict__.get(CACHE_ATTRIBUTE)
    if cache is None or cache[0] != version:
        cache = (version, {})
        self.__dict__[CACHE_ATTRIBUTE] = cache
    key = (id(domain), omit_unset_slots, ignore_rule_only_turns, id(rule_only_data))
    entry = cache[1].get(key)
    if entry is None:  # the domain and rule data are held with the states, so their ids stay theirs
        entry = (domain, rule_only_data, _original["past_states"](
            self, domain, omit_unset_slots=omit_unset_slots, ignore_rule_only_turns=ignore_rule_only_turns,
            rule_only_data=rule_only_data))
        cache[1][key] = entry
    return _copy(entry[2])


def install() -> None:
    """Make ``DialogueStateTracker.past_states`` cached (idempotent)."""
    from rasa.shared.core.trackers import DialogueStateTracker

    if DialogueStateTracker.past_states is past_states:
        return
    _original["past_states"] = DialogueStateTracker.past_states
    DialogueStateTracker.past_states = past_states  # type: ignore[assignment]


def uninstall() -> None:
    """Give Rasa its own ``past_states`` back (tests)."""
    from rasa.shared.core.trackers import DialogueStateTracker

    if "past_states" in _original:
        DialogueStateTracker.past_states = _original.pop("past_states")  # type: ignore[assignment]
