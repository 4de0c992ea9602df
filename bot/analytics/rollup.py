"""The incremental rollup job: daily figures and conversation summaries from Rasa's ``events``.

Idempotent and safe to run concurrently. Each run, in one transaction:

1. locks the ``analytics_state`` row (an ``UPDATE``: a row lock on PostgreSQL, the write lock
   on SQLite), so concurrent runs queue behind each other and each sees the last one's watermark;
2. reads the watermark ``W`` (the highest event id already rolled up) and the start ``P`` of
   the last run, and fixes ``M = max(events.id)``: only events ``id <= M`` are read;
3. finds the *dirty* events: ``W < id <= M`` (new since the last run), or stamped after
   ``P - SETTLE_SECONDS`` (events of a turn that was still being written when the last run
   looked: an id below ``W`` can commit after ``W`` was read; their timestamps are recent);
4. **recomputes** every local day and every conversation a dirty event belongs to, from all
   of that day's / conversation's events (delete + insert), so running twice, or a late
   event, changes nothing but what is now true. "Today" is always recomputed while it has
   new events;
5. stores ``W = M`` and ``P = now``.

Before the events, each run rolls up handoff requests and reminder notices per day
(:mod:`bot.analytics.row_rollup`, its own state rows and transactions).

The first run (no watermark) and ``full=True`` rebuild every day that still has events and
every conversation. Days whose events were all pruned (retention) keep their figures.

    python -m workers.analytics --once [--full]
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from typing import Optional, Set, Union

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.analytics.compute import compute_days, rebuild_conversations, rows_of
from bot.analytics.periods import chunks, local_day, zone_of
from bot.analytics.row_rollup import roll_rows
from bot.analytics.schema import analytics_state, ensure_event_indexes
from bot.analytics.state import ensure_state_row, lock_state, save_state

logger = logging.getLogger(__name__)

STATE = "events"
#: Longest a tracker-store write may take between taking an id and committing.
SETTLE_SECONDS = 900
DAYS_PER_QUERY = 31


@dataclass(frozen=True)
class RollupStats:
    """What one run did."""

    full: bool
    new_events: int
    days: int
    conversations: int
    watermark: Optional[int]
    seconds: float


def _dirty_days(conn: sa.engine.Connection, zone: dt.tzinfo, max_id: int, watermark: int, since: float) -> Set[dt.date]:
    hours = conn.execute(sa.text(
        "SELECT DISTINCT CAST(timestamp / 3600 AS INTEGER) FROM events "
        "WHERE id <= :max_id AND (id > :watermark OR timestamp >= :since) AND timestamp IS NOT NULL"),
        {"max_id": max_id, "watermark": watermark, "since": since}).scalars()
    days: Set[dt.date] = set()
    for hour in hours:  # CAST rounds on PostgreSQL and truncates on SQLite: take the hours around it
        days.add(local_day((int(hour) - 1) * 3600, zone))
        days.add(local_day((int(hour) + 2) * 3600 - 1, zone))
    return days


def _all_days(conn: sa.engine.Connection, zone: dt.tzinfo, max_id: int) -> Set[dt.date]:
    lo, hi = conn.execute(sa.text("SELECT MIN(timestamp), MAX(timestamp) FROM events WHERE id <= :max_id"),
                          {"max_id": max_id}).one()
    if lo is None:
        return set()
    first, last = local_day(lo, zone), local_day(hi, zone)
    return {first + dt.timedelta(days=i) for i in range((last - first).days + 1)}


def _write_days(conn: sa.engine.Connection, days: list, zone: dt.tzinfo, max_id: int) -> None:
    figures = compute_days(conn, days, zone, max_id=max_id)
    for name, rows in rows_of(figures):
        table = analytics_table(name)
        conn.execute(table.delete().where(table.c.day.in_(days)))
        if rows:
            conn.execute(table.insert(), rows)


def analytics_table(name: str) -> sa.Table:
    """The rollup table called ``name``."""
    from bot.analytics import schema

    return getattr(schema, name)


def run_rollup(engine: Engine, *, full: bool = False, now: Optional[float] = None,
               zone: Optional[Union[str, dt.tzinfo]] = None) -> RollupStats:
    """Bring the rollup tables up to date with ``events`` (see the module docstring).

    Args:
        engine: the project database (where Rasa's tracker store keeps ``events``).
        full: rebuild every day and conversation instead of the dirty ones.
        now: epoch seconds of this run (tests); default the clock.
        zone: the time zone of days (default the ``TIMEZONE`` setting).
    """
    started = time.perf_counter()
    zone = zone_of(zone)
    now = time.time() if now is None else now
    roll_rows(engine, now=now, zone=zone, full=full)
    if not ensure_event_indexes(engine):
        return RollupStats(full, 0, 0, 0, None, time.perf_counter() - started)
    ensure_state_row(engine, STATE)
    with engine.begin() as conn:
        watermark, last_run = lock_state(conn, STATE, now)
        max_id = int(conn.execute(sa.text("SELECT COALESCE(MAX(id), 0) FROM events")).scalar_one())
        full = full or watermark is None
        if full and conn.dialect.name == "postgresql":
            conn.execute(sa.text("SET LOCAL work_mem = '128MB'"))
        new_events = int(conn.execute(sa.text("SELECT COUNT(*) FROM events WHERE id > :w AND id <= :m"),
                                      {"w": watermark or 0, "m": max_id}).scalar_one())
        if full:
            days = _all_days(conn, zone, max_id)
            dirty = None
        else:
            since = (last_run if last_run is not None else now) - SETTLE_SECONDS
            days = _dirty_days(conn, zone, max_id, int(watermark), since)
            dirty = (int(watermark), since)
        for chunk in chunks(sorted(days), DAYS_PER_QUERY):
            _write_days(conn, chunk, zone, max_id)
        conversations = rebuild_conversations(conn, max_id=max_id, dirty=dirty) if (full or days) else 0
        save_state(conn, STATE, max_id, now)
    if full and engine.dialect.name == "postgresql":
        _analyze(engine)
    stats = RollupStats(full, new_events, len(days), conversations, max_id, time.perf_counter() - started)
    logger.info("analytics rollup: full=%s new_events=%d days=%d conversations=%d in %.1fs",
                stats.full, stats.new_events, stats.days, stats.conversations, stats.seconds)
    return stats


def _analyze(engine: Engine) -> None:
    """Fresh planner statistics after a rebuild: until autovacuum gets to them, PostgreSQL would plan the
    rebuilt tables as nearly empty (a lookup of 50 conversations' intents became a scan of millions of rows)."""
    from bot.analytics.schema import ROLLUP_TABLES

    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ROLLUP_TABLES:
            conn.execute(sa.text(f"ANALYZE {table.name}"))


def watermark_of(conn: sa.engine.Connection) -> Optional[int]:
    """The highest event id already rolled up (None: never)."""
    return conn.execute(sa.select(analytics_state.c.last_event_id)
                        .where(analytics_state.c.name == STATE)).scalar()
