"""Rasa's SQL tracker store, storing conversations with personal data masked.

Configured by ``bot/cli/runtime.py`` as ``type: integrations.tracker_store.MaskingSQLTrackerStore``
with the usual SQL tracker store arguments. Masking (see :mod:`bot.conversations.masking`)
is applied to the serialised copy written to the database; the live turn is unchanged.
Bound parameters are kept out of SQL error messages and logs.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from bot.conversations.masking import mask_events

logger = logging.getLogger(__name__)


class MaskingSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore whose stored events never hold phone endings or full phone numbers."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Same arguments as :class:`SQLTrackerStore`."""
        super().__init__(*args, **kwargs)
        self.engine.hide_parameters = True

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Append the tracker's new events, masked."""
        await self.stream_events(tracker)
        with self.session_scope() as session:
            stored = self._event_query(session, tracker.sender_id, fetch_events_from_all_sessions=False).count()
            masked = list(mask_events(event.as_dict() for event in tracker.events))
            for event, data in zip(list(tracker.events)[stored:], masked[stored:]):
                session.add(self.SQLEvent(
                    sender_id=tracker.sender_id, type_name=event.type_name, timestamp=data.get("timestamp"),
                    intent_name=(data.get("parse_data") or {}).get("intent", {}).get(INTENT_NAME_KEY),
                    action_name=data.get("name"), data=json.dumps(data),
                ))
            session.commit()
