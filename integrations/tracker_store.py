"""Rasa's SQL tracker store, storing conversations with personal data masked.

Configured by ``bot/cli/runtime.py`` as ``type: integrations.tracker_store.MaskingSQLTrackerStore``
with the usual SQL tracker store arguments. Masking (see :mod:`bot.conversations.masking`)
is applied to the serialised copy written to the database; the live turn is unchanged.
Bound parameters are kept out of SQL error messages and logs.

These costs of Rasa's store are cut (issue 15), with the same rows read and written:

* loading reads only the events' ``data`` column with a Core statement (Rasa's query, without
  building ORM objects or an ORM query each time), and decodes it with ``ujson`` (the same values as
  the standard decoder, in half the time);
* saving does not count the stored events again: the store remembers, for each tracker object
  it loaded or saved, how many of its events are stored (a copy of a tracker is a different
  object and falls back to Rasa's count query), masks only the new events, and inserts them in
  one statement. A tracker the store did not load, saved after a load that found no events of
  its conversation (Rasa's new conversation: ``create_tracker`` right after ``retrieve``, under
  the conversation's lock), has none stored, as Rasa's count would say, and is not counted either;
* each statement is its own transaction: a load is one ``SELECT`` and a save one ``INSERT`` of
  all its rows, without the ``BEGIN`` and ``COMMIT``/``ROLLBACK`` round trips around each, which
  block Rasa's event loop (a save stays all or nothing: one statement). Rasa's engine is replaced
  by one whose connections are in autocommit from their creation (an engine switched by
  ``execution_options`` sets and resets the mode at every checkout), with the same URL and pool
  arguments, and PostgreSQL connections checked for life at checkout (:mod:`bot.db.liveness`);
* the load and insert statements are built once (the sender a bound parameter), not at every
  turn, so SQLAlchemy neither builds nor keys them again;
* on PostgreSQL the store's own connections commit with ``synchronous_commit`` as configured
  (``TRACKER_SYNCHRONOUS_COMMIT``, ``off`` by default): the conversation log does not wait for its
  WAL flush. If the database server itself crashes, the last fraction of a second of turns may
  be missing from the log (never half a save); nothing else runs on these connections, and
  dossiers, verification, reminders and the agents' desk stay on synchronous commits.
"""

from __future__ import annotations

import json
import logging
import weakref
from typing import Any, Dict, List, Optional, Sequence, Set

import ujson
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.events import ActiveLoop, Event, SessionStarted, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy import bindparam, create_engine, func, insert, or_, select
from sqlalchemy.sql import Insert, Select

from bot.conversations.masking import mask_events
from bot.db import liveness
from bot.settings import COMMIT_MODES

logger = logging.getLogger(__name__)

REQUESTED_SLOT = "requested_slot"


def requested_slot_after(events: Sequence[Event]) -> Optional[str]:
    """The slot a form was asking for after ``events`` (what :func:`mask_events` tracks)."""
    requested: Optional[str] = None
    for event in events:
        if isinstance(event, SlotSet) and event.key == REQUESTED_SLOT:
            requested = event.value
        elif isinstance(event, ActiveLoop) and not event.name:
            requested = None
    return requested


class MaskingSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore whose stored events never hold phone endings or full phone numbers."""

    def __init__(self, *args: Any, synchronous_commit: str = "on", **kwargs: Any) -> None:
        """Same arguments as :class:`SQLTrackerStore`, and PostgreSQL's ``synchronous_commit`` for
        the store's connections (one of :data:`COMMIT_MODES`)."""
        if synchronous_commit not in COMMIT_MODES:
            raise ValueError(f"synchronous_commit must be one of {', '.join(COMMIT_MODES)}")
        super().__init__(*args, **kwargs)
        url = self.engine.url
        self.engine.dispose()
        engine_kwargs = create_engine_kwargs(url)
        if url.get_backend_name() == "postgresql":
            connect_args = engine_kwargs.setdefault("connect_args", {})
            connect_args["options"] = f"{connect_args.get('options', '')} -csynchronous_commit={synchronous_commit}"
        self.engine = liveness.install(create_engine(url, hide_parameters=True, isolation_level="AUTOCOMMIT",
                                                     **engine_kwargs))
        self.sessionmaker.configure(bind=self.engine)
        self._stored: Dict[int, int] = {}
        self._found_none: Set[str] = set()  # conversations whose last load here found no events
        self._queries: Dict[bool, Select] = {flag: self._data_query(flag) for flag in (False, True)}
        self._insert: Insert = insert(self.SQLEvent.__table__)

    def _remember(self, tracker: DialogueStateTracker, stored: int) -> None:
        """Note that the first ``stored`` events of this tracker object are in the database."""
        key = id(tracker)
        if key not in self._stored:
            weakref.finalize(tracker, self._stored.pop, key, None)
        self._stored[key] = stored

    def _data_query(self, all_sessions: bool) -> Select:
        """Rasa's ``_event_query`` as one Core statement: the data of the events of the sender
        ``:sender`` since its last session start (or of all its sessions)."""
        table, sender = self.SQLEvent.__table__.c, bindparam("sender")
        query = select(table.data).where(table.sender_id == sender)
        if not all_sessions:
            start = (select(func.max(table.timestamp)).where(table.sender_id == sender,
                                                             table.type_name == SessionStarted.type_name)
                     .scalar_subquery())
            query = query.where(or_(table.timestamp >= start, start.is_(None)))
        return query.order_by(table.id)

    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool) -> Optional[DialogueStateTracker]:
        """Rasa's query, reading only the events' serialised data."""
        with self.session_scope() as session:
            rows = session.execute(self._queries[fetch_events_from_all_sessions], {"sender": sender_id}).scalars()
            events = [ujson.loads(data) for data in rows]
        if events:
            self._found_none.discard(sender_id)
        else:
            self._found_none.add(sender_id)
        if not (self.domain and events):
            return None
        tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        if len(tracker.events) == len(events):
            self._remember(tracker, len(events))
        return tracker

    def _stored_count(self, session: Any, tracker: DialogueStateTracker, held: int) -> int:
        """How many of the tracker's events are stored: remembered, or counted as Rasa does."""
        stored = self._stored.get(id(tracker))
        if stored is None and tracker.sender_id in self._found_none:
            stored = 0
        if stored is None or stored > held:
            stored = self._event_query(session, tracker.sender_id, fetch_events_from_all_sessions=False).count()
        return stored

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Append the tracker's new events, masked."""
        await self.stream_events(tracker)
        events: List[Event] = list(tracker.events)
        with self.session_scope() as session:
            stored = self._stored_count(session, tracker, len(events))
            new = events[stored:]
            if new:
                masked = mask_events((event.as_dict() for event in new), requested_slot_after(events[:stored]))
                session.execute(self._insert, [
                    {"sender_id": tracker.sender_id, "type_name": event.type_name,
                     "timestamp": data.get("timestamp"),
                     "intent_name": (data.get("parse_data") or {}).get("intent", {}).get(INTENT_NAME_KEY),
                     "action_name": data.get("name"), "data": json.dumps(data)}
                    for event, data in zip(new, masked)])
                session.commit()
        self._found_none.discard(tracker.sender_id)
        self._remember(tracker, len(events))
