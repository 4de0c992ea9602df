"""Figures of whole local days and of whole conversations, computed from Rasa's ``events``.

The rollup job stores these (:mod:`bot.analytics.rollup`); report pages compute the same
figures for the not-yet-rolled-up tail only (``min_id`` = the watermark).

How the events say what happened (``integrations/tracker_store.py`` writes the rows):

* a conversation (a Rasa session, 60 min of silence ends one: ``domain/core.yml``) starts
  with a ``session_started`` row;
* a message is a ``user`` row (its ``intent_name``) or a ``bot`` row;
* a message *fell back* when its intent is ``nlu_fallback`` (``FallbackClassifier`` and
  ``UnknownWordsFallback`` in config.yml; answered by ``utter_default``), or when the next
  action row of the conversation is ``action_default_fallback`` (RulePolicy's core fallback).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Tuple

import sqlalchemy as sa

from bot.analytics.periods import day_bounds
from bot.analytics.questions import message_text, question_key
from bot.analytics.schema import CHANNEL_SQL

FALLBACK_INTENT = "nlu_fallback"
FALLBACK_ACTION = "action_default_fallback"
#: A message's next action is looked for this long after its day ends (a turn takes seconds).
NEXT_ACTION_MARGIN_S = 600
#: ``id`` upper bound meaning "every event".
NO_LIMIT = 2**62

_TURN_ROWS = "(e.type_name = 'user' OR (e.type_name = 'action' AND e.action_name <> 'action_listen'))"
_FELL_BACK = (f"(intent_name = '{FALLBACK_INTENT}' OR next_action = '{FALLBACK_ACTION}')")


@dataclass
class DayFigures:
    """Counts per local day, additive over days and over disjoint sets of events."""

    traffic: Dict[Tuple[dt.date, str], List[int]] = field(default_factory=dict)  # conv, user, bot, fallback
    intents: Dict[Tuple[dt.date, str, str], int] = field(default_factory=dict)
    unanswered: Dict[Tuple[dt.date, str], List] = field(default_factory=dict)  # [count, sample]

    def add(self, other: "DayFigures") -> None:
        """Add ``other``'s counts to these."""
        for key, row in other.traffic.items():
            mine = self.traffic.setdefault(key, [0, 0, 0, 0])
            for i, value in enumerate(row):
                mine[i] += value
        for key, n in other.intents.items():
            self.intents[key] = self.intents.get(key, 0) + n
        for key, (n, sample) in other.unanswered.items():
            entry = self.unanswered.setdefault(key, [0, sample])
            entry[0] += n
            entry[1] = min(entry[1], sample)


def _days_cte(days: List[dt.date], zone: dt.tzinfo) -> Tuple[str, Dict[str, object]]:
    parts, params = [], {}
    for i, day in enumerate(days):
        lo, hi = day_bounds(day, zone)
        params.update({f"d{i}": day.toordinal(), f"lo{i}": lo, f"hi{i}": hi})
        parts.append(f"SELECT CAST(:d{i} AS INTEGER) AS day, CAST(:lo{i} AS DOUBLE PRECISION) AS lo, "
                     f"CAST(:hi{i} AS DOUBLE PRECISION) AS hi")
    return "days AS (" + " UNION ALL ".join(parts) + ")", params


def _turns_cte() -> str:
    return (f"ev AS (SELECT d.day AS day, d.hi AS hi, e.id AS id, e.sender_id AS sender_id, "
            f"e.type_name AS type_name, e.intent_name AS intent_name, e.timestamp AS ts, "
            f"LEAD(e.action_name) OVER (PARTITION BY d.day, e.sender_id ORDER BY e.id) AS next_action "
            f"FROM events e JOIN days d ON e.timestamp >= d.lo AND e.timestamp < d.hi + {NEXT_ACTION_MARGIN_S} "
            f"WHERE e.id > :min_id AND e.id <= :max_id AND {_TURN_ROWS})")


def compute_days(conn: sa.engine.Connection, days: List[dt.date], zone: dt.tzinfo, *,
                 max_id: int = NO_LIMIT, min_id: int = -1) -> DayFigures:
    """The figures of ``days`` (at most a few dozen per call) from events ``min_id < id <= max_id``."""
    figures = DayFigures()
    if not days:
        return figures
    days_sql, params = _days_cte(days, zone)
    params.update(min_id=min_id, max_id=max_id)
    column = {"session_started": 0, "user": 1, "bot": 2}
    counts = conn.execute(sa.text(
        f"WITH {days_sql} SELECT d.day, {CHANNEL_SQL.format(col='e.sender_id')}, e.type_name, COUNT(*) "
        "FROM events e JOIN days d ON e.timestamp >= d.lo AND e.timestamp < d.hi "
        "WHERE e.id > :min_id AND e.id <= :max_id AND e.type_name IN ('user', 'bot', 'session_started') "
        "GROUP BY 1, 2, 3"), params)
    for ordinal, channel, kind, n in counts:
        figures.traffic.setdefault((dt.date.fromordinal(ordinal), channel), [0, 0, 0, 0])[column[kind]] += int(n)
    intents = conn.execute(sa.text(
        f"WITH {days_sql}, {_turns_cte()} SELECT day, {CHANNEL_SQL.format(col='sender_id')}, "
        f"COALESCE(intent_name, ''), COUNT(*), SUM(CASE WHEN {_FELL_BACK} THEN 1 ELSE 0 END) "
        "FROM ev WHERE type_name = 'user' AND ts < hi GROUP BY 1, 2, 3"), params)
    for ordinal, channel, intent, n, fallbacks in intents:
        day = dt.date.fromordinal(ordinal)
        figures.intents[(day, channel, intent)] = int(n)
        figures.traffic.setdefault((day, channel), [0, 0, 0, 0])[3] += int(fallbacks or 0)
    texts = conn.execute(sa.text(
        f"WITH {days_sql}, {_turns_cte()} SELECT ev.day, e.data FROM ev JOIN events e ON e.id = ev.id "
        f"WHERE ev.type_name = 'user' AND ev.ts < ev.hi AND {_FELL_BACK.replace('intent_name', 'ev.intent_name')}"),
        params)
    for ordinal, data in texts:
        key, sample = question_key(message_text(data))
        entry = figures.unanswered.setdefault((dt.date.fromordinal(ordinal), key), [0, sample])
        entry[0] += 1
        entry[1] = min(entry[1], sample)  # the same wording whatever order the rows come in
    return figures


def _dirty_filter(dirty: Optional[Tuple[int, float]]) -> str:
    if dirty is None:
        return ""
    return ("AND sender_id IN (SELECT x.sender_id FROM events x WHERE x.id <= :max_id "
            "AND (x.id > :watermark OR x.timestamp >= :since))")


def rebuild_conversations(conn: sa.engine.Connection, *, max_id: int,
                          dirty: Optional[Tuple[int, float]] = None) -> int:
    """Recompute the per-conversation summaries and intents from all their events ``id <= max_id``.

    Args:
        dirty: ``(watermark, since)``: only conversations with an event after the watermark
            or stamped since ``since``; None rebuilds every conversation.

    Returns:
        How many conversations were written.
    """
    where = _dirty_filter(dirty)
    params: Dict[str, object] = {"max_id": max_id}
    if dirty is not None:
        params.update(watermark=dirty[0], since=dirty[1])
    for table in ("analytics_conversation_intents", "analytics_conversations"):
        conn.execute(sa.text(f"DELETE FROM {table} WHERE 1 = 1 {where}"), params)
    written = conn.execute(sa.text(
        "INSERT INTO analytics_conversations (sender_id, channel, started_at, last_at, sessions, user_messages, "
        "bot_messages, fallback_messages) "
        f"SELECT a.sender_id, {CHANNEL_SQL.format(col='a.sender_id')}, a.started_at, a.last_at, a.sessions, "
        "a.user_messages, a.bot_messages, COALESCE(f.fallbacks, 0) FROM ("
        "  SELECT sender_id, MIN(timestamp) AS started_at, MAX(timestamp) AS last_at,"
        "    SUM(CASE WHEN type_name = 'session_started' THEN 1 ELSE 0 END) AS sessions,"
        "    SUM(CASE WHEN type_name = 'user' THEN 1 ELSE 0 END) AS user_messages,"
        "    SUM(CASE WHEN type_name = 'bot' THEN 1 ELSE 0 END) AS bot_messages"
        f"  FROM events WHERE id <= :max_id AND timestamp IS NOT NULL {where} GROUP BY sender_id) a "
        "LEFT JOIN ("
        f"  SELECT sender_id, SUM(CASE WHEN {_FELL_BACK} THEN 1 ELSE 0 END) AS fallbacks FROM ("
        "    SELECT e.sender_id AS sender_id, e.type_name AS type_name, e.intent_name AS intent_name,"
        "      LEAD(e.action_name) OVER (PARTITION BY e.sender_id ORDER BY e.id) AS next_action"
        f"    FROM events e WHERE e.id <= :max_id AND {_TURN_ROWS} {where.replace('sender_id IN', 'e.sender_id IN')}"
        "  ) t WHERE type_name = 'user' GROUP BY sender_id"
        ") f ON f.sender_id = a.sender_id"), params).rowcount
    conn.execute(sa.text(
        "INSERT INTO analytics_conversation_intents (sender_id, intent, messages) "
        "SELECT sender_id, COALESCE(intent_name, ''), COUNT(*) FROM events "
        f"WHERE type_name = 'user' AND id <= :max_id {where} GROUP BY sender_id, COALESCE(intent_name, '')"),
        params)
    return int(written or 0)


def rows_of(figures: DayFigures) -> Iterable[Tuple[str, List[Dict[str, object]]]]:
    """The rollup rows of ``figures`` per table name."""
    yield "analytics_daily", [
        {"day": day, "channel": channel, "conversations": c, "user_messages": u, "bot_messages": b,
         "fallback_messages": f} for (day, channel), (c, u, b, f) in figures.traffic.items()]
    yield "analytics_daily_intents", [
        {"day": day, "channel": channel, "intent": intent, "messages": n}
        for (day, channel, intent), n in figures.intents.items()]
    yield "analytics_daily_unanswered", [
        {"day": day, "question_key": key, "sample": sample, "messages": n}
        for (day, key), (n, sample) in figures.unanswered.items()]

