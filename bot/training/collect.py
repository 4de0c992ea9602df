"""Collecting the NLU inbox from Rasa's tracker store, incrementally (the analytics rollup's pattern).

A citizen message lands in the inbox when

* it fell back: intent ``nlu_fallback``, or the next action was ``action_default_fallback``;
* its best intent scored below the ``NLU_INBOX_CONFIDENCE`` setting;
* it led to a handoff: the message before a ``request_human`` message / ``action_request_human``,
  or before a :class:`HandoffRequest`;
* it was answered before a rating of 1 or 2 (:class:`Feedback`).

Each run, in the caller's transaction: the ``nlu_inbox_state`` rows are locked (an ``UPDATE``),
events ``W < id <= max(id)`` are read, plus events stamped within ``SETTLE_SECONDS`` of the last
run (a turn may commit after a higher id was read); handoff and feedback rows are read past their
own watermarks once they are ``SIDE_SETTLE_SECONDS`` old (their events are written after them).
An event is counted once (``nlu_inbox_occurrences``), so re-reading changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

import sqlalchemy as sa
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.analytics.schema import events, has_events
from bot.db.models import Feedback, HandoffRequest
from bot.db.models_training_data import NluInboxItem, NluInboxOccurrence, NluInboxState
from bot.settings import get_settings
from bot.training.masking import mask_for_training

logger = logging.getLogger(__name__)

SOURCES = ("events", "handoffs", "feedback")
SETTLE_SECONDS = 900
SIDE_SETTLE_SECONDS = 60
BATCH = 2000
FALLBACK_INTENT = "nlu_fallback"
FALLBACK_ACTION = "action_default_fallback"
HUMAN_INTENT = "request_human"
HUMAN_ACTION = "action_request_human"
LOW_RATING = 2
# Messages that are not the question a rating or handoff judges.
CHATTER = {"feedback", "thank", "goodbye", "greet", "affirm", "deny", HUMAN_INTENT}
_BARE_RATING = re.compile(r"^\W*[1-5]\W*$")
TOP_GUESSES = 3


@dataclass(frozen=True)
class CollectStats:
    """What one run did."""

    events_read: int
    added: int
    items: int
    watermark: Optional[int]
    seconds: float


@dataclass(frozen=True)
class UserEvent:
    """A user event of the tracker store, decoded."""

    id: int
    sender: str
    intent: Optional[str]
    text: str
    timestamp: float
    parse: Dict[str, Any]


def _decode(row: Any) -> Optional[UserEvent]:
    try:
        data = json.loads(row.data or "{}")
    except ValueError:
        return None
    text = data.get("text") if isinstance(data, dict) else None
    if not isinstance(text, str) or not text.strip() or text.startswith("/"):
        return None  # button payloads are not typed text
    parse = data.get("parse_data") if isinstance(data.get("parse_data"), dict) else {}
    return UserEvent(int(row.id), row.sender_id, row.intent_name, text, float(row.timestamp or 0), parse)


def guesses(parse: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The model's best intents (not the fallback) with confidences, best first."""
    ranking = parse.get("intent_ranking") or ([parse["intent"]] if isinstance(parse.get("intent"), dict) else [])
    out = []
    for entry in ranking:
        if isinstance(entry, dict) and entry.get("name") and entry.get("name") != FALLBACK_INTENT:
            out.append({"intent": str(entry["name"]), "confidence": round(float(entry.get("confidence") or 0), 3)})
        if len(out) == TOP_GUESSES:
            break
    return out


def _confidence(parse: Dict[str, Any]) -> Optional[float]:
    intent = parse.get("intent")
    if isinstance(intent, dict) and intent.get("name") not in (None, FALLBACK_INTENT):
        try:
            return float(intent.get("confidence"))
        except (TypeError, ValueError):
            return None
    return None


def _utc(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).replace(tzinfo=None)


class _Run:
    """One collection run over a session."""

    def __init__(self, session: Session, threshold: float) -> None:
        self.session = session
        self.threshold = threshold
        self.added = 0

    def user_events_before(self, sender: str, before_id: Optional[int] = None, before_ts: Optional[float] = None,
                           limit: int = 4) -> List[UserEvent]:
        query = select(events).where(events.c.sender_id == sender, events.c.type_name == "user")
        if before_id is not None:
            query = query.where(events.c.id < before_id)
        if before_ts is not None:
            query = query.where(events.c.timestamp <= before_ts)
        rows = self.session.execute(query.order_by(events.c.id.desc()).limit(limit)).all()
        return [e for e in (_decode(r) for r in rows) if e is not None]

    def question_before(self, sender: str, before_id: Optional[int] = None,
                        before_ts: Optional[float] = None) -> Optional[UserEvent]:
        for event in self.user_events_before(sender, before_id, before_ts):
            if event.intent not in CHATTER and not _BARE_RATING.match(event.text):
                return event
        return None

    def add(self, event: Optional[UserEvent], reason: str) -> None:
        if event is None:
            return
        seen = self.session.get(NluInboxOccurrence, event.id)
        if seen is not None:
            if reason not in seen.reasons:
                seen.reasons = [*seen.reasons, reason]
                item = self.session.get(NluInboxItem, seen.item_id)
                if item is not None and reason not in item.reasons:
                    item.reasons = [*item.reasons, reason]
            return
        masked = mask_for_training(event.text)
        at = _utc(event.timestamp)
        item = self.session.execute(select(NluInboxItem).where(NluInboxItem.key == masked.key)).scalar_one_or_none()
        if item is None:
            item = NluInboxItem(key=masked.key, text=masked.text, count=0, first_seen=at, last_seen=at, reasons=[],
                                guesses=guesses(event.parse), status="open",
                                entities=[{"start": s.start, "end": s.end, "entity": s.entity} for s in masked.spans])
            self.session.add(item)
            self.session.flush()
        item.count += 1
        item.first_seen = min(item.first_seen, at)
        if at >= item.last_seen:
            item.last_seen = at
            item.guesses = guesses(event.parse) or item.guesses
        if reason not in item.reasons:
            item.reasons = [*item.reasons, reason]
        self.session.add(NluInboxOccurrence(event_id=event.id, item_id=item.id, reasons=[reason], seen_at=at))
        self.session.flush()
        self.added += 1

    def on_user(self, row: Any) -> None:
        event = _decode(row)
        if event is None:
            return
        if event.intent == FALLBACK_INTENT:
            self.add(event, "fallback")
        else:
            confidence = _confidence(event.parse)
            if confidence is not None and confidence < self.threshold:
                self.add(event, "low_confidence")
        if event.intent == HUMAN_INTENT:
            self.add(self.question_before(event.sender, before_id=event.id), "handoff")

    def on_action(self, row: Any) -> None:
        if row.action_name == FALLBACK_ACTION:
            last = self.user_events_before(row.sender_id, before_id=row.id, limit=1)
            self.add(last[0] if last else None, "fallback")
        elif row.action_name == HUMAN_ACTION:
            self.add(self.question_before(row.sender_id, before_id=row.id), "handoff")


def _lock_state(session: Session, now: dt.datetime) -> Dict[str, NluInboxState]:
    for source in SOURCES:
        if session.get(NluInboxState, source) is None:
            try:
                with session.begin_nested():
                    session.add(NluInboxState(source=source))
            except sa.exc.IntegrityError:  # another run inserted it first
                pass
    session.execute(update(NluInboxState).values(updated_at=now))  # row locks: runs queue up
    rows = session.execute(select(NluInboxState).execution_options(populate_existing=True)).scalars()
    return {row.source: row for row in rows}


def _scan_events(run: _Run, state: NluInboxState, now: dt.datetime) -> int:
    max_id = int(run.session.execute(sa.text("SELECT COALESCE(MAX(id), 0) FROM events")).scalar_one())
    watermark = int(state.last_id or 0)
    dirty = events.c.id > watermark
    if state.last_run_at is not None:
        since = state.last_run_at.replace(tzinfo=dt.timezone.utc).timestamp() - SETTLE_SECONDS
        dirty = sa.or_(dirty, events.c.timestamp >= since)
    after, read = -1, 0
    while True:
        rows = run.session.execute(
            select(events).where(events.c.id > after, events.c.id <= max_id,
                                 events.c.type_name.in_(("user", "action")),
                                 dirty)
            .order_by(events.c.id).limit(BATCH)).all()
        if not rows:
            break
        for row in rows:
            (run.on_user if row.type_name == "user" else run.on_action)(row)
        read += len(rows)
        after = int(rows[-1].id)
    state.last_id, state.last_run_at = max_id, now
    return read


def _side_rows(session: Session, model: Any, state: NluInboxState, cutoff: dt.datetime) -> List[Any]:
    rows = session.execute(select(model).where(model.id > int(state.last_id or 0))
                           .order_by(model.id).limit(BATCH)).scalars().all()
    ready = []
    for row in rows:
        if row.created_at > cutoff:
            break
        ready.append(row)
    if ready:
        state.last_id = ready[-1].id
    return ready


def collect_inbox(session: Session, now: Optional[float] = None, threshold: Optional[float] = None) -> CollectStats:
    """Bring the NLU inbox up to date with the tracker store (see the module docstring).

    Args:
        session: the project database (where Rasa's tracker store keeps ``events``); the caller commits.
        now: epoch seconds of this run (tests); default the clock.
        threshold: the confidence below which a message is collected (default the setting).
    """
    started = time.perf_counter()
    when = _utc(time.time() if now is None else now)
    run = _Run(session, get_settings().nlu_inbox_confidence if threshold is None else threshold)
    if not has_events(session.connection()):
        return CollectStats(0, 0, 0, None, time.perf_counter() - started)
    state = _lock_state(session, when)
    read = _scan_events(run, state["events"], when)
    cutoff = when - dt.timedelta(seconds=SIDE_SETTLE_SECONDS)
    for ticket in _side_rows(session, HandoffRequest, state["handoffs"], cutoff):
        ts = ticket.created_at.replace(tzinfo=dt.timezone.utc).timestamp() + 5
        run.add(run.question_before(ticket.sender_key, before_ts=ts), "handoff")
    # every feedback row moves the watermark; only ratings of 1-2 are looked at
    for rating in _side_rows(session, Feedback, state["feedback"], cutoff):
        if rating.rating is not None and rating.rating <= LOW_RATING:
            ts = rating.created_at.replace(tzinfo=dt.timezone.utc).timestamp() + 5
            run.add(run.question_before(rating.sender_key, before_ts=ts), "low_rating")
    items = int(session.execute(select(sa.func.count(NluInboxItem.id))).scalar_one())
    stats = CollectStats(read, run.added, items, state["events"].last_id, time.perf_counter() - started)
    logger.info("nlu inbox: read %d events, added %d messages, %d groups in %.1fs",
                stats.events_read, stats.added, stats.items, stats.seconds)
    return stats

