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

Within a turn the tracker only grows (the processor appends the events of each action), so the
states are also worked out *incrementally* (:class:`Resumable`): the replay of the conversation
and Rasa's loop over its turns (``Domain.states_for_tracker_history``) are kept per set of
arguments, and a later prediction feeds them only the events appended since. Rasa's loop is
reproduced step by step with Rasa's own helpers; whenever the events Rasa applies
(``applied_events``: reverted turns and restarts removed) are not the ones already fed plus new
ones, the states are worked out again from the start.

The events Rasa applies are themselves worked out by a walk of the whole conversation
(``DialogueStateTracker.applied_events``: an ``isinstance`` test of each event against Rasa's
abstract event classes), which every prediction, the session check and each look for the last
user message ask for again. :func:`applied_events` keeps the walk's result on the tracker with the
number of events it covered, and walks only the events appended since; when those bring the name
of a loop not seen before (Rasa's walk treats earlier executions of a loop's action by whether its
name is among all the conversation's loops), or the events are not the ones walked plus new ones,
it walks the whole conversation again. The kept result is never edited: each call builds its
own list. A tracker with a capped history takes Rasa's walk.
"""

from __future__ import annotations

import itertools
from typing import Any, Callable, Dict, FrozenSet, List, Optional, Tuple

from rasa.shared.core.constants import PREVIOUS_ACTION
from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    ActiveLoop,
    Restarted,
    SessionStarted,
    UserUtteranceReverted,
    UserUttered,
)

CACHE_ATTRIBUTE = "_past_states_cache"
REPLAY_ATTRIBUTE = "_past_states_replays"
APPLIED_ATTRIBUTE = "_applied_events_walk"
_original: Dict[str, Callable[..., Any]] = {}


def _copy(states: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    return [{key: dict(sub) if isinstance(sub, dict) else sub for key, sub in state.items()} for state in states]


def _content(rule_only_data: Optional[Dict[str, Any]]) -> Optional[str]:
    """The rule-only slots and loops as a key (Rasa hands a new but equal dict to each prediction)."""
    return None if rule_only_data is None else repr(sorted(rule_only_data.items()))


def _version(tracker: Any) -> Tuple[int, int]:
    events = tracker.events
    return len(events), id(events[-1]) if events else 0


class Resumable:
    """``Domain.states_for_tracker_history`` for one tracker and one set of arguments, resumable when
    events are appended (the loop body is Rasa 3.6's, step by step)."""

    def __init__(self, tracker: Any, domain: Any, omit_unset_slots: bool, ignore_rule_only_turns: bool,
                 rule_only_data: Optional[Dict[str, Any]]) -> None:
        self.domain, self.omit, self.ignore, self.rule_only_data = (domain, omit_unset_slots, ignore_rule_only_turns,
                                                                     rule_only_data)
        self.replay = tracker.init_copy()
        self.fed: List[Any] = []  # the applied events fed to the replay so far
        self.states: List[Dict[str, Any]] = []  # the states of the turns before the last event fed
        self.last_ml_action_sub_state: Any = None
        self.turn_was_hidden = False

    def _turn(self, hide_rule_turn: bool, keep: bool) -> Optional[Dict[str, Any]]:
        """One turn of Rasa's loop on the replay as it is now; ``keep=False`` (the last, open turn)
        leaves the loop's variables as they were and returns the state instead of keeping it."""
        tr, domain = self.replay, self.domain
        last_ml, hidden = self.last_ml_action_sub_state, self.turn_was_hidden
        if self.ignore:
            if not hidden:
                last_ml = domain._get_prev_action_sub_state(tr)
            if not tr.followup_action and not tr.latest_action_name == tr.active_loop_name:
                hidden = hide_rule_turn
        if keep:
            self.last_ml_action_sub_state, self.turn_was_hidden = last_ml, hidden
        if self.ignore and hidden:
            return None
        state = domain.get_active_state(tr, omit_unset_slots=self.omit)
        if self.ignore:
            domain._remove_rule_only_features(state, self.rule_only_data)
            if self.states:
                domain._substitute_rule_only_user_input(state, self.states[-1])
            if last_ml:
                state[PREVIOUS_ACTION] = last_ml
        state = domain._clean_state(state)
        if keep:
            self.states.append(state)
            return None
        return state

    def resume(self, applied: List[Any]) -> bool:
        """Feed the events of ``applied`` after those already fed; False when it does not extend them."""
        done = len(self.fed)
        if len(applied) < done or any(a is not b for a, b in zip(applied, self.fed)):
            return False
        for event in applied[done:]:
            if isinstance(event, ActionExecuted):
                self._turn(event.hide_rule_turn, keep=True)
            self.replay.update(event)
            self.fed.append(event)
        return True

    def result(self) -> List[Dict[str, Any]]:
        """The states, the open turn included (what Rasa returns)."""
        last = self._turn(False, keep=False)
        return self.states + ([last] if last is not None else [])


def _states(tracker: Any, key: Tuple[Any, ...], domain: Any, omit_unset_slots: bool, ignore_rule_only_turns: bool,
            rule_only_data: Optional[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The states of ``tracker``, resuming the replay kept for ``key`` when the events only grew."""
    replays = tracker.__dict__.setdefault(REPLAY_ATTRIBUTE, {})
    applied = tracker.applied_events()
    kept = replays.get(key)
    if kept is None or kept.domain is not domain or not kept.resume(applied):
        kept = Resumable(tracker, domain, omit_unset_slots, ignore_rule_only_turns, rule_only_data)
        kept.resume(applied)
        replays[key] = kept
    return kept.result()


def past_states(self: Any, domain: Any, omit_unset_slots: bool = False, ignore_rule_only_turns: bool = False,
                rule_only_data: Optional[Dict[str, Any]] = None) -> List[Dict[str, Any]]:
    """``DialogueStateTracker.past_states``, computed once per version of the tracker and arguments."""
    version = _version(self)
    cache = self.__dict__.get(CACHE_ATTRIBUTE)
    if cache is None or cache[0] != version:
        cache = (version, {})
        self.__dict__[CACHE_ATTRIBUTE] = cache
    key = (id(domain), omit_unset_slots, ignore_rule_only_turns, _content(rule_only_data))
    entry = cache[1].get(key)
    if entry is None:  # the domain is held with the states, so its id stays its own
        entry = (domain, rule_only_data, _states(self, key, domain, omit_unset_slots, ignore_rule_only_turns,
                                                 rule_only_data))
        cache[1][key] = entry
    return _copy(entry[2])


def _walk(tracker: Any, events: List[Any], loops: FrozenSet[str], applied: List[Any]) -> None:
    """The body of Rasa 3.6's ``applied_events`` loop over ``events``, appending to ``applied``."""
    for event in events:
        if isinstance(event, (Restarted, SessionStarted)):
            applied.clear()
        elif isinstance(event, ActionReverted):
            tracker._undo_till_previous(ActionExecuted, applied)
        elif isinstance(event, UserUtteranceReverted):
            tracker._undo_till_previous(UserUttered, applied)
            tracker._undo_till_previous(ActionExecuted, applied)
        elif (isinstance(event, ActionExecuted) and event.action_name in loops
              and not tracker._first_loop_execution_or_unhappy_path(event.action_name, applied)):
            tracker._undo_till_previous_loop_execution(event.action_name, applied)
        else:
            applied.append(event)


def applied_events(self: Any) -> List[Any]:
    """``DialogueStateTracker.applied_events``, walking only the events appended since the last call."""
    events = self.events
    if getattr(events, "maxlen", 0) is not None:  # a capped history, or not Rasa's deque
        return _original["applied_events"](self)
    count = len(events)
    kept = self.__dict__.get(APPLIED_ATTRIBUTE)  # (events walked, their first and last, loop names, result)
    if kept is not None and (kept[0] > count or (kept[0] and (events[kept[0] - 1] is not kept[1][1]
                                                              or events[0] is not kept[1][0]))):
        kept = None
    if kept is not None and kept[0] == count:
        return list(kept[3])
    new = list(itertools.islice(events, kept[0] if kept else 0, None))
    names = frozenset(event.name for event in new if isinstance(event, ActiveLoop) and event.name)
    if kept is None or not names <= kept[2]:
        if kept is not None:  # a new loop: Rasa's walk would treat earlier events differently
            new = list(events)
            names = frozenset(event.name for event in new if isinstance(event, ActiveLoop) and event.name)
        kept = (0, (None, None), names, ())
    applied = list(kept[3])
    _walk(self, new, kept[2], applied)
    ends = (events[0], events[-1]) if count else (None, None)
    self.__dict__[APPLIED_ATTRIBUTE] = (count, ends, kept[2], tuple(applied))
    return applied


def install() -> None:
    """Make ``DialogueStateTracker.past_states`` and ``applied_events`` kept per tracker (idempotent)."""
    from rasa.shared.core.trackers import DialogueStateTracker

    if DialogueStateTracker.past_states is past_states:
        return
    _original["past_states"] = DialogueStateTracker.past_states
    _original["applied_events"] = DialogueStateTracker.applied_events
    DialogueStateTracker.past_states = past_states  # type: ignore[assignment]
    DialogueStateTracker.applied_events = applied_events  # type: ignore[assignment]


def uninstall() -> None:
    """Give Rasa its own ``past_states`` and ``applied_events`` back (tests)."""
    from rasa.shared.core.trackers import DialogueStateTracker

    if "past_states" in _original:
        DialogueStateTracker.past_states = _original.pop("past_states")  # type: ignore[assignment]
        DialogueStateTracker.applied_events = _original.pop("applied_events")  # type: ignore[assignment]
