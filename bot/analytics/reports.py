"""Analytics pages: figures per day or ISO week over a range, as chart-ready :class:`Report` objects.

Events-based figures (traffic, intents, fallback, unanswered questions) are read from the
daily rollups plus the tail of events the rollup job has not seen yet (``id`` above the
watermark), so a page is current to the last message while reading only a few thousand rows.
Satisfaction figures are grouped at read time over an indexed date column. Handoff and reminder
figures (rows that change state after they are written) come from daily rollups of the rows that
can no longer change plus the others read live (:mod:`bot.analytics.row_figures`): the same numbers.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.analytics.compute import DayFigures, compute_days
from bot.analytics.periods import AnalyticsInputError, Period, chunks, day_bounds
from bot.analytics.rollup import DAYS_PER_QUERY, watermark_of
from bot.analytics.row_figures import HandoffDay, handoff_days, reminder_days, wait_quantile
from bot.analytics.schema import (
    analytics_daily,
    analytics_daily_intents,
    analytics_daily_unanswered,
    has_events,
)
from bot.db.models import Feedback

logger = logging.getLogger(__name__)

#: The province's target share of ratings of 4 or 5 stars.
SATISFACTION_TARGET = 0.99
GOOD_RATING = 4
REMINDER_OUTCOMES = ("sent", "failed", "undeliverable", "unconfirmed", "cancelled", "in_progress")
_IN_PROGRESS = {"pending", "claimed", "sending"}
TOP_LIMIT_MAX = 200
ALL_CHANNELS = "*"  # the channel key of intent counts summed over channels

Number = Optional[float]


@dataclass
class Report:
    """One analytics table/chart: ``series[name][i]`` is the value of bucket ``labels[i]``.

    ``table`` holds ranked rows (intents, unanswered questions) where a series does not fit.
    """

    name: str
    period: Period
    labels: List[str]
    series: Dict[str, List[Number]] = field(default_factory=dict)
    totals: Dict[str, Any] = field(default_factory=dict)
    table: Optional[List[Dict[str, Any]]] = None


def _ratio(num: float, den: float) -> Number:
    return round(num / den, 4) if den else None


def _bucketed(period: Period, by_day: Dict[dt.date, Dict[str, float]], names: List[str]) -> Dict[str, List[Number]]:
    labels = period.labels()
    index = {label: i for i, label in enumerate(labels)}
    series: Dict[str, List[Number]] = {name: [0] * len(labels) for name in names}
    for day, values in by_day.items():
        i = index.get(period.bucket(day))
        if i is None:
            continue
        for name, value in values.items():
            if name in series:
                series[name][i] += value  # type: ignore[operator]
    return series


# --- events: rollups + tail -------------------------------------------------------------------


def _tail(session: Session, period: Period) -> DayFigures:
    """Figures of the events after the watermark that fall inside ``period``."""
    conn = session.connection()
    figures = DayFigures()
    if not has_events(conn):
        return figures
    watermark = watermark_of(conn)
    if watermark is None:
        logger.warning("analytics: events never rolled up, computing the whole range from events")
    low = -1 if watermark is None else watermark
    # "+ 0": MIN/MAX of the bare column let PostgreSQL walk ix_events_timestamp from its end, filtering on id,
    # through nearly all 10,000,000 events (seconds) when the tail is small; read the tail by id instead.
    first, last = conn.execute(sa.text("SELECT MIN(timestamp + 0), MAX(timestamp + 0) FROM events WHERE id > :w"),
                               {"w": low}).one()
    if first is None:
        return figures
    days = [d for d in period.days() if day_bounds(d, period.zone)[1] > first and day_bounds(d, period.zone)[0] <= last]
    for chunk in chunks(days, DAYS_PER_QUERY):
        figures.add(compute_days(conn, chunk, period.zone, min_id=low))
    return figures


def _figures(session: Session, period: Period) -> DayFigures:
    """Daily traffic and intents of ``period`` (rollups + tail), cached for the session's unit of work."""
    return _load(session, period)[0]


def _load(session: Session, period: Period) -> Tuple[DayFigures, Dict[Tuple[dt.date, str], List]]:
    cache = session.info.setdefault("analytics_figures", {})
    key = (period.start, period.end, str(period.zone))
    if key in cache:
        return cache[key]
    figures = DayFigures()
    d = analytics_daily.c
    for row in session.execute(sa.select(d.day, d.channel, d.conversations, d.user_messages, d.bot_messages,
                                         d.fallback_messages).where(d.day.between(period.start, period.end))):
        figures.traffic[(row.day, row.channel)] = [row.conversations, row.user_messages, row.bot_messages,
                                                   row.fallback_messages]
    i = analytics_daily_intents.c
    total = sa.func.sum(i.messages)  # the reports need intents per day, not per channel: 1/6 of the rows
    for day, intent, n in session.execute(sa.select(i.day, i.intent, total).where(
            i.day.between(period.start, period.end)).group_by(i.day, i.intent)):
        figures.intents[(_as_date(day), ALL_CHANNELS, intent)] = int(n)
    tail = _tail(session, period)
    figures.add(DayFigures(traffic=tail.traffic, intents=tail.intents))
    cache[key] = (figures, tail.unanswered)
    return cache[key]


def traffic(session: Session, period: Period) -> Report:
    """Conversations (sessions started) and messages (citizen / assistant) per channel and bucket."""
    by_day: Dict[dt.date, Dict[str, float]] = defaultdict(lambda: defaultdict(int))
    channels = set()
    for (day, channel), (conv, user, bot, _fb) in _figures(session, period).traffic.items():
        channels.add(channel)
        for name, value in (("conversations", conv), ("user_messages", user), ("bot_messages", bot)):
            by_day[day][name] += value
            by_day[day][f"{name}.{channel}"] += value
    names = ["conversations", "user_messages", "bot_messages"]
    names += [f"{n}.{c}" for n in names for c in sorted(channels)]
    series = _bucketed(period, by_day, names)
    return Report("traffic", period, period.labels(), series,
                  {name: sum(values) for name, values in series.items()})  # type: ignore[arg-type]


def fallback(session: Session, period: Period) -> Report:
    """Citizen messages, those the assistant did not understand, and their share, per bucket."""
    by_day: Dict[dt.date, Dict[str, float]] = defaultdict(lambda: defaultdict(int))
    for (day, _channel), (_conv, user, _bot, fb) in _figures(session, period).traffic.items():
        by_day[day]["user_messages"] += user
        by_day[day]["fallback_messages"] += fb
    series = _bucketed(period, by_day, ["user_messages", "fallback_messages"])
    series["fallback_rate"] = [_ratio(f or 0, u or 0) for f, u in zip(series["fallback_messages"],
                                                                      series["user_messages"])]
    users, fbs = sum(series["user_messages"]), sum(series["fallback_messages"])  # type: ignore[arg-type]
    return Report("fallback", period, period.labels(), series,
                  {"user_messages": users, "fallback_messages": fbs, "fallback_rate": _ratio(fbs, users)})


def intents(session: Session, period: Period, top: int = 10) -> Report:
    """Citizen messages per intent: the ``top`` intents as series (the rest as ``other``), all in ``table``."""
    top = _limit(top)
    by_day: Dict[dt.date, Dict[str, float]] = defaultdict(lambda: defaultdict(int))
    totals: Dict[str, int] = defaultdict(int)
    for (day, _channel, intent), n in _figures(session, period).intents.items():
        name = intent or "(none)"
        by_day[day][name] += n
        totals[name] += n
    ranked = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))
    shown = [name for name, _ in ranked[:top]]
    folded = {day: {**{k: v for k, v in values.items() if k in shown},
                    "other": sum(v for k, v in values.items() if k not in shown)} for day, values in by_day.items()}
    series = _bucketed(period, folded, [f for f in shown] + ["other"])
    whole = sum(totals.values())
    table = [{"intent": name, "messages": n, "share": _ratio(n, whole)} for name, n in ranked]
    return Report("intents", period, period.labels(), series, {"messages": whole, "intents": len(ranked)}, table)


def _limit(value: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= TOP_LIMIT_MAX:
        raise AnalyticsInputError(f"top/limit must be a whole number from 1 to {TOP_LIMIT_MAX}")
    return value


def unanswered(session: Session, period: Period, limit: int = 20) -> Report:
    """The questions that fell back most often (wordings alike grouped; phones and dossier codes masked)."""
    limit = _limit(limit)
    figures, tail_days = _load(session, period)
    tail: Dict[str, List] = {}
    for (_day, key), (n, sample) in tail_days.items():
        tail.setdefault(key, [0, sample])[0] += n
    u = analytics_daily_unanswered.c
    in_range = u.day.between(period.start, period.end)
    query = (sa.select(u.question_key, sa.func.min(u.sample), sa.func.sum(u.messages).label("n"))
             .where(in_range).group_by(u.question_key))
    merged: Dict[str, List] = {key: [int(n), sample] for key, sample, n in
                               session.execute(query.order_by(sa.desc("n"), u.question_key).limit(limit + len(tail)))}
    if tail:
        for key, sample, n in session.execute(query.where(u.question_key.in_(list(tail)[:5000]))):
            merged[key] = [int(n), sample]
        for key, (n, sample) in tail.items():
            entry = merged.setdefault(key, [0, sample])
            entry[0] += n
            entry[1] = min(entry[1], sample)
    fallbacks = sum(row[3] for row in figures.traffic.values())
    ranked = sorted(merged.items(), key=lambda kv: (-kv[1][0], kv[0]))[:limit]
    table = [{"rank": i + 1, "question": sample, "messages": n, "share_of_fallbacks": _ratio(n, fallbacks)}
             for i, (_key, (n, sample)) in enumerate(ranked)]
    return Report("unanswered", period, period.labels(), {}, {"fallback_messages": fallbacks}, table)


# --- tables with their own dates -----------------------------------------------------------------


def _local_day_sql(session: Session, column: Any, period: Period) -> Any:
    """SQL of the local day of a naive-UTC datetime column."""
    if session.get_bind().dialect.name == "postgresql":
        name = getattr(period.zone, "key", None)
        if name:
            return sa.cast(sa.func.timezone(name, sa.func.timezone("UTC", column)), sa.Date)
    offset = dt.datetime.combine(period.start, dt.time(12), tzinfo=period.zone).utcoffset() or dt.timedelta()
    if session.get_bind().dialect.name == "postgresql":
        return sa.cast(column + sa.text(f"interval '{int(offset.total_seconds())} seconds'"), sa.Date)
    return sa.func.date(column, f"{int(offset.total_seconds()) // 60:+d} minutes")


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def handoffs(session: Session, period: Period) -> Report:
    """Requests to talk to staff, their share of conversations, and waiting time until an agent took them.

    Waiting times: mean of the exact durations; median and P90 are the ``int(q·n)``-th smallest, shown at 0.1 s.
    """
    conversations = _bucketed(period, {day: {"conversations": row[0]} for day, row in
                                       _sum_by_day(_figures(session, period)).items()}, ["conversations"])
    labels = period.labels()
    index = {label: i for i, label in enumerate(labels)}
    buckets = [HandoffDay() for _ in labels]
    every = HandoffDay()
    for day, figures in handoff_days(session, period).items():
        i = index.get(period.bucket(day))
        if i is not None:
            buckets[i].merge(figures)
            every.merge(figures)
    requests = [b.requests for b in buckets]
    series: Dict[str, List[Number]] = {
        "conversations": conversations["conversations"], "handoff_requests": requests,  # type: ignore[dict-item]
        "handoff_rate": [_ratio(r, c or 0) for r, c in zip(requests, conversations["conversations"])],
        "taken": [b.taken for b in buckets], "still_waiting": [b.still_waiting for b in buckets],
        "wait_mean_s": [_mean(b) for b in buckets], "wait_median_s": [wait_quantile(b.waits, 0.5) for b in buckets],
        "wait_p90_s": [wait_quantile(b.waits, 0.9) for b in buckets],
    }
    total_conv = sum(conversations["conversations"])  # type: ignore[arg-type]
    totals = {"conversations": total_conv, "handoff_requests": every.requests,
              "handoff_rate": _ratio(every.requests, total_conv), "taken": every.taken,
              "still_waiting": every.still_waiting, "wait_mean_s": _mean(every),
              "wait_median_s": wait_quantile(every.waits, 0.5), "wait_p90_s": wait_quantile(every.waits, 0.9)}
    return Report("handoffs", period, labels, series, totals)


def _sum_by_day(figures: DayFigures) -> Dict[dt.date, List[int]]:
    out: Dict[dt.date, List[int]] = {}
    for (day, _channel), row in figures.traffic.items():
        mine = out.setdefault(day, [0, 0, 0, 0])
        for i, value in enumerate(row):
            mine[i] += value
    return out


def _mean(figures: HandoffDay) -> Number:
    return round(figures.wait_sum_us / figures.taken / 1e6, 1) if figures.taken else None


def satisfaction(session: Session, period: Period, target: float = SATISFACTION_TARGET) -> Report:
    """Ratings (1–5): how many, their mean, and the share of 4 or 5 against the province's target."""
    lo, hi = period.utc_bounds()
    f = Feedback
    day = _local_day_sql(session, f.created_at, period)
    rows = session.execute(sa.select(day, sa.func.count(f.rating), sa.func.sum(f.rating),
                                     sa.func.sum(sa.case((f.rating >= GOOD_RATING, 1), else_=0)))
                           .where(f.rating.isnot(None), f.created_at >= lo, f.created_at < hi).group_by(day))
    by_day = {_as_date(d): {"ratings": n, "rating_sum": s or 0, "good": g or 0} for d, n, s, g in rows}
    raw = _bucketed(period, by_day, ["ratings", "rating_sum", "good"])
    series: Dict[str, List[Number]] = {
        "ratings": raw["ratings"],
        "mean_rating": [None if not n else round(s / n, 2) for s, n in zip(raw["rating_sum"], raw["ratings"])],
        "share_4_or_5": [_ratio(g or 0, n or 0) for g, n in zip(raw["good"], raw["ratings"])],
        "target": [target] * len(raw["ratings"]),
    }
    n, s, g = (sum(raw[k]) for k in ("ratings", "rating_sum", "good"))  # type: ignore[arg-type]
    share = _ratio(g, n)
    totals = {"ratings": n, "mean_rating": round(s / n, 2) if n else None, "share_4_or_5": share, "target": target,
              "meets_target": None if share is None else share >= target}
    return Report("satisfaction", period, period.labels(), series, totals)


def reminders(session: Session, period: Period) -> Report:
    """Reminder notices queued per bucket by outcome (sent, failed, undeliverable, unconfirmed, cancelled, ...)."""
    by_day: Dict[dt.date, Dict[str, float]] = defaultdict(lambda: defaultdict(int))
    for day, states in reminder_days(session, period).items():
        for state, count in states.items():
            by_day[day]["in_progress" if state in _IN_PROGRESS else state] += count
    series = _bucketed(period, by_day, list(REMINDER_OUTCOMES))
    totals: Dict[str, Any] = {name: sum(values) for name, values in series.items()}  # type: ignore[arg-type]
    done = totals["sent"] + totals["failed"] + totals["undeliverable"]
    totals["delivery_rate"] = _ratio(totals["sent"], done)
    return Report("reminders", period, period.labels(), series, totals)


REPORTS = ("traffic", "intents", "fallback", "handoffs", "satisfaction", "unanswered", "reminders")


def dashboard(session: Session, period: Period) -> Dict[str, Report]:
    """Every analytics report of ``period`` (the events are read once)."""
    return {name: globals()[name](session, period) for name in REPORTS}


def report(session: Session, name: str, period: Period) -> Report:
    """The report called ``name`` (one of :data:`REPORTS`)."""
    if name not in REPORTS:
        raise AnalyticsInputError(f"unknown report {name!r}; one of {', '.join(REPORTS)}")
    return globals()[name](session, period)
