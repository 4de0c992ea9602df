"""Handoff and reminder figures per local day: rolled-up settled rows plus the rows read live.

Handoff requests and reminder notices change state after they are written, so the rollup
(:mod:`bot.analytics.row_rollup`) stores per day only the rows that can no longer change
(*settled*): a handoff request once closed (nothing reopens it, ``bot.conversations.handoff``),
a notice once ``sent``, ``failed``, ``undeliverable`` or ``cancelled`` (``bot.reminders.claims``:
``unconfirmed`` may still become ``sent`` or ``pending``). The ids of the rows it saw unsettled
go to ``analytics_unsettled``. A report of a range adds, per day:

* the rollup rows (settled rows with ``id <= W`` created before ``C``),
* the rows listed in ``analytics_unsettled``, read live by id (their current state),
* the *tail*: rows created since ``C`` or with ``id > W``,

where ``W`` is the highest id and ``C`` = start - :data:`SETTLE_SECONDS` of the last rollup. The
three parts are disjoint and cover every row, so the figures equal a computation over all rows
(rows deleted later by retention stay counted in their settled day, like the events rollups).

Waiting times are kept per day as a histogram at 0.1 s (the precision the report shows) and an
exact sum in microseconds: mean, median and P90 of any bucket are the same as from the raw rows.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, Optional, Tuple, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.analytics.periods import Period, local_day_of_utc, utc_naive
from bot.analytics.schema import (
    analytics_daily_handoffs,
    analytics_daily_reminders,
    analytics_state,
    analytics_unsettled,
)
from bot.db.models import HandoffRequest, NotificationLog

HANDOFFS, REMINDERS = "handoffs", "reminders"
#: A row committed this long after it was stamped would be missed (same window as the events rollup).
SETTLE_SECONDS = 900
#: Notice states that never change again.
FINAL_STATES = ("sent", "failed", "undeliverable", "cancelled")
#: The other states (a state in neither list only makes the report read its day by id).
UNSETTLED_STATES = ("pending", "claimed", "sending", "unconfirmed")
_US = dt.timedelta(microseconds=1)
T = TypeVar("T")


@dataclass
class HandoffDay:
    """Handoff figures of one day (additive): requests, taken, still waiting, waiting times."""

    requests: int = 0
    taken: int = 0
    still_waiting: int = 0
    wait_sum_us: int = 0
    waits: Counter = field(default_factory=Counter)  # deciseconds (rounded as shown) -> requests

    def add_row(self, created: dt.datetime, taken_at: Optional[dt.datetime], closed_at: Optional[dt.datetime]) -> None:
        """Count one request."""
        self.requests += 1
        if taken_at is None:
            self.still_waiting += closed_at is None
            return
        self.taken += 1
        us = max(0, (taken_at - created) // _US)
        self.wait_sum_us += us
        self.waits[round(round(us / 1e6, 1) * 10)] += 1

    def merge(self, other: "HandoffDay") -> None:
        """Add ``other``'s figures to these."""
        self.requests += other.requests
        self.taken += other.taken
        self.still_waiting += other.still_waiting
        self.wait_sum_us += other.wait_sum_us
        self.waits.update(other.waits)


def encode_waits(waits: Counter) -> str:
    """``waits`` as stored: ``"deciseconds:count"`` pairs, ascending."""
    return " ".join(f"{ds}:{n}" for ds, n in sorted(waits.items()))


def decode_waits(text: str) -> Counter:
    """The inverse of :func:`encode_waits`."""
    out: Counter = Counter()
    for pair in text.split():
        ds, _, n = pair.partition(":")
        out[int(ds)] += int(n)
    return out


def wait_quantile(waits: Counter, q: float) -> Optional[float]:
    """The ``int(q * n)``-th smallest waiting time (seconds, 0.1 s), as over the sorted raw values."""
    n = sum(waits.values())
    if not n:
        return None
    rank = min(n - 1, int(q * n))
    seen = 0
    for ds in sorted(waits):
        seen += waits[ds]
        if seen > rank:
            return ds / 10
    return None  # pragma: no cover - unreachable


def handoff_settled(closed_at: Optional[dt.datetime]) -> bool:
    """True when a request can no longer change (closed)."""
    return closed_at is not None


def notice_settled(state: str) -> bool:
    """True when a notice can no longer change (a final state)."""
    return state in FINAL_STATES


def _state(session: Session, source: str) -> Tuple[Optional[int], Optional[dt.datetime]]:
    row = session.execute(sa.select(analytics_state.c.last_event_id, analytics_state.c.last_run_at)
                          .where(analytics_state.c.name == source)).first()
    if row is None or row.last_event_id is None or row.last_run_at is None:
        return None, None
    return int(row.last_event_id), utc_naive(row.last_run_at - SETTLE_SECONDS)


def _live_filter(table: Any, period: Period, watermark: Optional[int], cut: Optional[dt.datetime]) -> Iterable[Any]:
    lo, hi = period.utc_bounds()
    where = [table.created_at >= lo, table.created_at < hi]
    if watermark is not None:
        where.append(sa.or_(table.created_at >= cut, table.id > watermark))
    return where


def _days(session: Session, period: Period, source: str, model: Any, columns: Tuple[Any, ...], empty: Callable[[], T],
          add: Callable[..., None], rolled: Callable[[Dict[dt.date, T], int, dt.datetime], None]) -> Dict[dt.date, T]:
    """Figures of ``source`` (rows of ``model``) per local day of ``period``, from ``empty()`` each.

    After a rollup, ``rolled(days, watermark, cut)`` adds its days and the rows it listed unsettled;
    then each row of the tail is read live and added by ``add(figures_of_its_day, created_at, *columns)``.
    """
    days: Dict[dt.date, T] = {}
    watermark, cut = _state(session, source)
    if watermark is not None:
        rolled(days, watermark, cut)  # type: ignore[arg-type]
    for created, *values in session.execute(sa.select(model.created_at, *columns)
                                            .where(*_live_filter(model, period, watermark, cut))):
        add(days.setdefault(local_day_of_utc(created, period.zone), empty()), created, *values)
    return days


def handoff_days(session: Session, period: Period) -> Dict[dt.date, HandoffDay]:
    """Handoff figures per local day of ``period`` (see the module docstring)."""
    h = HandoffRequest

    def rolled(days: Dict[dt.date, HandoffDay], _watermark: int, _cut: dt.datetime) -> None:
        r = analytics_daily_handoffs.c
        for row in session.execute(sa.select(r.day, r.requests, r.taken, r.wait_sum_us, r.waits)
                                   .where(r.day.between(period.start, period.end))):
            days[row.day] = HandoffDay(row.requests, row.taken, 0, int(row.wait_sum_us), decode_waits(row.waits))
        u = analytics_unsettled.c
        for day, created, taken_at, closed_at in session.execute(
                sa.select(u.day, h.created_at, h.taken_at, h.closed_at).join(h.__table__, h.id == u.row_id)
                .where(u.source == HANDOFFS, u.day.between(period.start, period.end))):
            days.setdefault(day, HandoffDay()).add_row(created, taken_at, closed_at)

    return _days(session, period, HANDOFFS, h, (h.taken_at, h.closed_at), HandoffDay, HandoffDay.add_row, rolled)


def exact_day_sql(dialect: str, column: Any, zone: dt.tzinfo) -> Optional[Any]:
    """SQL of the local day of a naive-UTC column when it is exact (PostgreSQL, a named or fixed zone), else None."""
    if dialect != "postgresql":
        return None
    name = getattr(zone, "key", None)
    if name:
        return sa.cast(sa.func.timezone(name, sa.func.timezone("UTC", column)), sa.Date)
    if isinstance(zone, dt.timezone):
        seconds = int((zone.utcoffset(None) or dt.timedelta()).total_seconds())
        return sa.cast(column + sa.text(f"interval '{seconds} seconds'"), sa.Date)
    return None


def _unsettled_notices(session: Session, period: Period, watermark: int, cut: dt.datetime) -> Dict[dt.date, Counter]:
    """Current states of the notices the last rollup saw unsettled, per day.

    Every such notice still unsettled is found by the state index; a day whose count of those equals the
    number listed has no listed notice that settled or was deleted since (final states never change), so
    only the other days are read by id (few: the rollup job folds settled notices in at each run).
    """
    n, u = NotificationLog, analytics_unsettled.c
    in_range = (u.source == REMINDERS, u.day.between(period.start, period.end))
    day = exact_day_sql(session.get_bind().dialect.name, n.created_at, period.zone)
    days: Dict[dt.date, Counter] = {}
    recheck: Optional[list] = None
    if day is not None:
        listed = dict(session.execute(sa.select(u.day, sa.func.count()).where(*in_range).group_by(u.day)).all())
        lo, hi = period.utc_bounds()
        for d, state, count in session.execute(
                sa.select(day, n.state, sa.func.count())
                .where(n.state.in_(UNSETTLED_STATES), n.created_at >= lo, n.created_at < hi, n.created_at < cut,
                       n.id <= watermark).group_by(day, n.state)):
            days.setdefault(d, Counter())[state] += int(count)
        recheck = [d for d, count in listed.items() if sum(days.get(d, Counter()).values()) != count]
        for d in recheck:
            days.pop(d, None)
        if not recheck:
            return days
    query = sa.select(u.day, n.state, sa.func.count()).join(n.__table__, n.id == u.row_id).where(*in_range)
    if recheck is not None:
        query = query.where(u.day.in_(recheck))
    for d, state, count in session.execute(query.group_by(u.day, n.state)):
        days.setdefault(d, Counter())[state] += int(count)
    return days


def _count_state(states: Counter, _created: dt.datetime, state: str) -> None:
    states[state] += 1


def reminder_days(session: Session, period: Period) -> Dict[dt.date, Counter]:
    """Reminder notices per local day of ``period`` and state."""

    def rolled(days: Dict[dt.date, Counter], watermark: int, cut: dt.datetime) -> None:
        r = analytics_daily_reminders.c
        for day, state, count in session.execute(sa.select(r.day, r.state, sa.func.sum(r.notices))
                                                 .where(r.day.between(period.start, period.end))
                                                 .group_by(r.day, r.state)):
            days.setdefault(day, Counter())[state] += int(count)
        for day, states in _unsettled_notices(session, period, watermark, cut).items():
            days.setdefault(day, Counter()).update(states)

    n = NotificationLog
    return _days(session, period, REMINDERS, n, (n.state,), Counter, _count_state, rolled)
