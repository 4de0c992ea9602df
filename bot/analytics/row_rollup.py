"""The rollup of handoff requests and reminder notices per local day (see :mod:`bot.analytics.row_figures`).

Idempotent and safe to run concurrently; per source, in one transaction:

1. lock the source's ``analytics_state`` row; read the last run's ``W`` (highest id) and start;
   fix ``M = max(id)`` and the cut ``C = now - SETTLE_SECONDS``;
2. *dirty* days: those of rows with ``W < id <= M`` or created since the last run's cut, and
   those of rows listed unsettled that have settled since (rows listed but deleted are unlisted);
3. **recompute** every dirty day from its rows ``id <= M`` created before ``C``: settled rows go
   to the day's figures, the others' ids to ``analytics_unsettled`` (delete + insert);
4. store ``W = M`` and the run's start.

The first run (no state) and ``full=True`` recompute every day.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, List, Optional, Set, Tuple

import sqlalchemy as sa

from bot.analytics.periods import day_bounds, local_day_of_utc, utc_naive
from bot.analytics.row_figures import (
    FINAL_STATES,
    HANDOFFS,
    REMINDERS,
    SETTLE_SECONDS,
    UNSETTLED_STATES,
    HandoffDay,
    encode_waits,
    exact_day_sql,
    handoff_settled,
    notice_settled,
)
from bot.analytics.schema import (
    analytics_daily_handoffs,
    analytics_daily_reminders,
    analytics_unsettled,
)
from bot.analytics.state import ensure_state_row, lock_state, save_state
from bot.db.models import HandoffRequest, NotificationLog

logger = logging.getLogger(__name__)

_BATCH = 5000


@dataclass(frozen=True)
class _Source:
    name: str
    table: sa.Table
    columns: Tuple[str, ...]  # after id and created_at
    rollup: sa.Table
    settled_sql: Callable[[sa.Table], Any]
    unsettled_sql: Callable[[sa.Table], Any]
    settled: Callable[..., bool]
    rows: Callable[[Dict[dt.date, Any]], List[Dict[str, Any]]]
    add: Callable[[Dict[dt.date, Any], dt.date, Any], None]


def _add_handoff(days: Dict[dt.date, Any], day: dt.date, row: Any) -> None:
    days.setdefault(day, HandoffDay()).add_row(row.created_at, row.taken_at, row.closed_at)


def _handoff_rows(days: Dict[dt.date, Any]) -> List[Dict[str, Any]]:
    return [{"day": day, "requests": f.requests, "taken": f.taken, "wait_sum_us": f.wait_sum_us,
             "waits": encode_waits(f.waits)} for day, f in days.items()]


def _add_notice(days: Dict[dt.date, Any], day: dt.date, row: Any) -> None:
    days.setdefault(day, Counter())[(row.kind, row.state)] += 1


def _notice_rows(days: Dict[dt.date, Any]) -> List[Dict[str, Any]]:
    return [{"day": day, "kind": kind, "state": state, "notices": n}
            for day, counts in days.items() for (kind, state), n in counts.items()]


SOURCES = (
    _Source(HANDOFFS, HandoffRequest.__table__, ("taken_at", "closed_at"), analytics_daily_handoffs,
            lambda t: t.c.closed_at.isnot(None), lambda t: t.c.closed_at.is_(None),
            lambda row: handoff_settled(row.closed_at), _handoff_rows, _add_handoff),
    _Source(REMINDERS, NotificationLog.__table__, ("kind", "state"), analytics_daily_reminders,
            lambda t: t.c.state.in_(FINAL_STATES), lambda t: t.c.state.in_(UNSETTLED_STATES),
            lambda row: notice_settled(row.state), _notice_rows, _add_notice),
)


@dataclass(frozen=True)
class RowRollupStats:
    """What one run did for one source."""

    source: str
    full: bool
    days: int
    unsettled: int


def _changed_listed_days(conn: sa.engine.Connection, src: _Source, zone: dt.tzinfo, watermark: int,
                         since: dt.datetime) -> Optional[List[dt.date]]:
    """Days where a listed row may have settled or been deleted since the last run (None: check every day).

    The rows still unsettled among those the last run covered (``id <= W``, created before its cut) are all
    listed (a settled row never changes), so a day with as many of them as listed rows has no change.
    """
    t, u = src.table.c, analytics_unsettled.c
    day = exact_day_sql(conn.dialect.name, t.created_at, zone)
    if day is None:
        return None
    listed = dict(conn.execute(sa.select(u.day, sa.func.count()).where(u.source == src.name).group_by(u.day)).all())
    current = dict(conn.execute(sa.select(day, sa.func.count()).where(
        src.unsettled_sql(src.table), t.id <= watermark, t.created_at < since).group_by(day)).all())
    return [d for d, n in listed.items() if current.get(d, 0) != n]


def _dirty_days(conn: sa.engine.Connection, src: _Source, zone: dt.tzinfo, watermark: int, max_id: int,
                since: dt.datetime) -> Set[dt.date]:
    t = src.table.c
    created = conn.execute(sa.select(t.created_at).where(
        sa.or_(sa.and_(t.id > watermark, t.id <= max_id), t.created_at >= since))).scalars()
    days = {local_day_of_utc(value, zone) for value in created}
    u = analytics_unsettled.c
    where = [u.source == src.name]
    changed = _changed_listed_days(conn, src, zone, watermark, since)
    if changed is not None:
        if not changed:
            return days
        where.append(u.day.in_(changed))
    days.update(conn.execute(sa.select(u.day).distinct().select_from(
        analytics_unsettled.join(src.table, t.id == u.row_id)).where(*where, src.settled_sql(src.table))).scalars())
    conn.execute(analytics_unsettled.delete().where(  # listed rows deleted since (retention, cascades)
        *where, ~sa.exists().where(t.id == u.row_id)))
    return days


def _runs(days: Iterable[dt.date]) -> List[Tuple[dt.date, dt.date]]:
    """Consecutive days as (first, last) ranges."""
    out: List[Tuple[dt.date, dt.date]] = []
    for day in sorted(days):
        if out and (day - out[-1][1]).days == 1:
            out[-1] = (out[-1][0], day)
        else:
            out.append((day, day))
    return out


def _recompute(conn: sa.engine.Connection, src: _Source, zone: dt.tzinfo, first: Optional[dt.date],
               last: Optional[dt.date], max_id: int, cut: dt.datetime) -> int:
    """Recompute the days ``first``..``last`` (None: every day); returns how many rows stay unsettled."""
    t = src.table.c
    u = analytics_unsettled.c
    where = [t.id <= max_id, t.created_at < cut]
    if first is None or last is None:
        conn.execute(src.rollup.delete())
        conn.execute(analytics_unsettled.delete().where(u.source == src.name))
    else:
        conn.execute(src.rollup.delete().where(src.rollup.c.day.between(first, last)))
        conn.execute(analytics_unsettled.delete().where(u.source == src.name, u.day.between(first, last)))
        where += [t.created_at >= utc_naive(day_bounds(first, zone)[0]),
                  t.created_at < utc_naive(day_bounds(last, zone)[1])]
    figures: Dict[dt.date, Any] = {}
    unsettled: List[Dict[str, Any]] = []
    result = conn.execute(sa.select(t.id, t.created_at, *(t[name] for name in src.columns)).where(*where)
                          .execution_options(stream_results=True, yield_per=_BATCH))
    for row in result:
        day = local_day_of_utc(row.created_at, zone)
        if src.settled(row):
            src.add(figures, day, row)
        else:
            unsettled.append({"source": src.name, "row_id": row.id, "day": day})
    rows = src.rows(figures)
    for i in range(0, len(rows), _BATCH):
        conn.execute(src.rollup.insert(), rows[i:i + _BATCH])
    for i in range(0, len(unsettled), _BATCH):
        conn.execute(analytics_unsettled.insert(), unsettled[i:i + _BATCH])
    return len(unsettled)


def roll_source(engine: sa.engine.Engine, src: _Source, *, now: float, zone: dt.tzinfo,
                full: bool = False) -> RowRollupStats:
    """Bring one source's daily rollup up to date (see the module docstring)."""
    cut = utc_naive(now - SETTLE_SECONDS)
    ensure_state_row(engine, src.name)
    with engine.begin() as conn:
        watermark, last_run = lock_state(conn, src.name, now)
        max_id = int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(src.table.c.id), 0))).scalar_one())
        full = full or watermark is None or last_run is None
        unsettled = 0
        if full:
            days = -1
            unsettled = _recompute(conn, src, zone, None, None, max_id, cut)
        else:
            dirty = _dirty_days(conn, src, zone, int(watermark), max_id,  # type: ignore[arg-type]
                                utc_naive(float(last_run) - SETTLE_SECONDS))  # type: ignore[arg-type]
            days = len(dirty)
            for first, last in _runs(dirty):
                unsettled += _recompute(conn, src, zone, first, last, max_id, cut)
        save_state(conn, src.name, max_id, now)
    return RowRollupStats(src.name, full, days, unsettled)


def roll_rows(engine: sa.engine.Engine, *, now: float, zone: dt.tzinfo, full: bool = False) -> List[RowRollupStats]:
    """Roll up handoff requests and reminder notices (every source)."""
    stats = [roll_source(engine, src, now=now, zone=zone, full=full) for src in SOURCES]
    for s in stats:
        logger.info("analytics rollup %s: full=%s days=%s unsettled rows recomputed=%d",
                    s.source, s.full, "all" if s.days < 0 else s.days, s.unsettled)
    return stats
