"""Rasa-side: a tracker copied from its state, not by replaying the conversation.

Before every action Rasa 3.6's processor takes a copy of the tracker (``_run_action``:
``tracker.copy()``), so that the policy's events can be dropped if the action is rejected.
``DialogueStateTracker.copy`` makes a new tracker and replays every event of the conversation
into it: about 3 % of the Rasa server's CPU at one citizen (docs/profile.md, item 23), more as
conversations grow.

A tracker's state is by Rasa's own rule re-creatable from its events ("current state of the
tracker - MUST be re-creatable by processing all the events"), so the replay ends in the state
the tracker already holds. :func:`copy` builds the copy from that state, attribute by attribute,
as the replay would leave it:

* the same event objects in a new ``deque``; each slot a shallow copy (the replay copies the slot
  and sets the value the event holds, the same object);
* the latest action and the active loop as new objects (events edit them in place), the latest user
  and bot messages the event objects the replay would point to (a fresh empty one when no event
  of the conversation is);
* like the replay's ``init_copy``: no model or assistant id and no sender source.

Anything this does not know the shape of takes Rasa's replay: a subclass, a tracker without a
domain's slots (``AnySlotDict``), one with a cap on its history (the replay of a capped history
can differ from the state).

Two more replays and copies of the same kind (item 24):

* a form builds a *temporary tracker* to validate slots and to ask for the next one
  (``FormAction._temporary_tracker``: the conversation since its last restart replayed into a
  new tracker of the domain's slots, then three kinds of events of the form's own).
  :func:`temporary_tracker` copies the tracker's state instead, when the conversation has no
  restart and the tracker's slots are the domain's (same names in the same order, classes and
  settings: what the replay would start from), then applies the form's events as the replay does;
* every new tracker (loaded, copied, replayed) copies each of the domain's slots with
  ``copy.copy``, whose generic path (``__reduce_ex__``, ``copyreg``) costs several times what the
  copy is: :func:`copy_slot`, installed as ``Slot.__copy__``, makes the same object (a new
  instance of the slot's class holding the same attributes), directly.
"""

from __future__ import annotations

import copy as _copy
import dataclasses
from collections import deque
from typing import Any, Callable, Dict, List

from rasa.shared.constants import DEFAULT_SENDER_ID
from rasa.shared.core.constants import REQUESTED_SLOT
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, Restarted, SlotSet, UserUttered
from rasa.shared.core.slots import Slot
from rasa.shared.core.trackers import AnySlotDict, DialogueStateTracker

_original: Dict[str, Callable[..., Any]] = {}
_VALUE = ("_value", "_has_been_set")  # a slot's attributes that events set; the others are its settings
_ABSENT = object()
_RESTART_KINDS: Dict[type, bool] = {}  # event class → whether it is a Restarted


def _event_or_empty(value: Any, events: Any, empty: Callable[[], Any]) -> Any:
    """``value`` when it is one of ``events`` (what the replay points to), else a new empty one."""
    return value if any(event is value for event in reversed(events)) else empty()


def copy(self: Any) -> Any:
    """``DialogueStateTracker.copy`` without the replay (see the module docstring)."""
    if (type(self) is not DialogueStateTracker or isinstance(self.slots, AnySlotDict)
            or self._max_event_history is not None):
        return _original["copy"](self)
    clone = object.__new__(DialogueStateTracker)
    clone._max_event_history = None
    clone.events = deque(self.events)
    clone.sender_id = self.sender_id or DEFAULT_SENDER_ID
    clone.slots = {slot.name: _copy.copy(slot) for slot in self.slots.values()}
    clone.sender_source = None
    clone.is_rule_tracker = self.is_rule_tracker
    clone._paused = self._paused
    clone.followup_action = self.followup_action
    clone.latest_action = None if self.latest_action is None else dict(self.latest_action)
    clone.latest_message = _event_or_empty(self.latest_message, self.events, UserUttered.empty)
    clone.latest_bot_utterance = _event_or_empty(self.latest_bot_utterance, self.events, BotUttered.empty)
    clone.active_loop = None if self.active_loop is None else dataclasses.replace(self.active_loop)
    clone.model_id = None
    clone.assistant_id = None
    return clone


def copy_slot(self: Any) -> Any:
    """``copy.copy`` of a slot: what copy's generic path makes (a new instance, the same attributes)."""
    clone = type(self).__new__(type(self))
    clone.__dict__.update(self.__dict__)
    return clone


def _domain_slots(slots: Dict[str, Any], domain_slots: List[Any]) -> bool:
    """Whether ``slots`` are copies of ``domain_slots``: names in order, classes and settings (a
    copy holds the same setting objects, so identity answers before equality is asked)."""
    if len(slots) != len(domain_slots):
        return False
    for (name, slot), own in zip(slots.items(), domain_slots):
        mine, theirs = slot.__dict__, own.__dict__
        if name != own.name or type(slot) is not type(own) or len(mine) != len(theirs):
            return False
        for key, value in theirs.items():
            held = mine.get(key, _ABSENT)
            if held is not value and key not in _VALUE and (held is _ABSENT or held != value):
                return False
    return True


def _restarted(events: Any) -> bool:
    """Whether a ``Restarted`` event is among ``events`` (Rasa's ``isinstance``, by type, remembered)."""
    for kind in set(map(type, events)):
        known = _RESTART_KINDS.get(kind)
        if known is None:
            known = _RESTART_KINDS[kind] = issubclass(kind, Restarted)
        if known:
            return True
    return False


def temporary_tracker(self: Any, current_tracker: Any, additional_events: List[Event], domain: Any) -> Any:
    """``FormAction._temporary_tracker`` from the tracker's state (see the module docstring)."""
    tracker = current_tracker
    if (type(tracker) is not DialogueStateTracker or isinstance(tracker.slots, AnySlotDict)
            or tracker._max_event_history is not None or _restarted(tracker.events)
            or not _domain_slots(tracker.slots, domain.slots)):
        return _original["_temporary_tracker"](self, current_tracker, additional_events, domain)
    clone = copy(tracker)
    clone.sender_id, clone.is_rule_tracker = tracker.sender_id, False  # as from_events makes it
    for event in [SlotSet(REQUESTED_SLOT, self.get_slot_to_fill(tracker)), ActionExecuted(self.name()),
                  *additional_events]:
        clone.update(event)
    return clone


def install() -> None:
    """Make trackers, forms' temporary trackers and slots copy state, not replay (idempotent)."""
    from rasa.core.actions.forms import FormAction

    if DialogueStateTracker.copy is copy:
        return
    _original["copy"] = DialogueStateTracker.copy
    _original["_temporary_tracker"] = FormAction._temporary_tracker
    DialogueStateTracker.copy = copy  # type: ignore[assignment]
    FormAction._temporary_tracker = temporary_tracker  # type: ignore[assignment]
    Slot.__copy__ = copy_slot  # type: ignore[attr-defined]


def uninstall() -> None:
    """Give Rasa its own ``copy``, ``_temporary_tracker`` and slot copy back (tests)."""
    from rasa.core.actions.forms import FormAction

    if "copy" in _original:
        DialogueStateTracker.copy = _original.pop("copy")  # type: ignore[assignment]
        FormAction._temporary_tracker = _original.pop("_temporary_tracker")  # type: ignore[assignment]
    if "__copy__" in Slot.__dict__:
        del Slot.__copy__  # type: ignore[attr-defined]
