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
"""

from __future__ import annotations

import copy as _copy
import dataclasses
from collections import deque
from typing import Any, Callable, Dict

from rasa.shared.constants import DEFAULT_SENDER_ID
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import AnySlotDict, DialogueStateTracker

_original: Dict[str, Callable[..., Any]] = {}


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


def install() -> None:
    """Make ``DialogueStateTracker.copy`` copy the state (idempotent)."""
    if DialogueStateTracker.copy is copy:
        return
    _original["copy"] = DialogueStateTracker.copy
    DialogueStateTracker.copy = copy  # type: ignore[assignment]


def uninstall() -> None:
    """Give Rasa its own ``copy`` back (tests)."""
    if "copy" in _original:
        DialogueStateTracker.copy = _original.pop("copy")  # type: ignore[assignment]
