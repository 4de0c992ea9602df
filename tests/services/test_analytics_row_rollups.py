"""Handoff and reminder reports from daily rollups equal a computation over every row (SQLite and PostgreSQL).

The reference below is the read-time algorithm the reports used before the rollups (every
row, sorted waiting times, ``int(q·n)``-th value); it is checked before the first rollup, after
it, after rows changed state, were added (recent and backdated) or deleted, and after
incremental and full runs.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
from collections import defaultdict
from typing import Any, Dict, Iterator, List

import pytest
import sqlalchemy as sa

from bot.analytics import handoffs, period, reminders, run_rollup
from bot.analytics.periods import local_day_of_utc
from bot.analytics.row_figures import FINAL_STATES
from bot.analytics.row_rollup import roll_rows
from bot.analytics.schema import analytics_daily_handoffs, analytics_unsettled
from bot.db.models import ChatUser, Dossier, HandoffRequest, NotificationLog
from bot.db.session import get_engine, session_scope
from tests.support import analytics as data

ZONE = data.ZONE
START = dt.datetime(2024, 1, 1)  # naive UTC, as stored
NOW = dt.datetime(2024, 3, 1, 12, tzinfo=dt.timezone.utc).timestamp()  # the first rollup
STATES = ("pending", "claimed", "sending", "sent", "failed", "undeliverable", "unconfirmed", "cancelled")
OUTCOMES = ("sent", "failed", "undeliverable", "unconfirmed", "cancelled", "in_progress")


def _utc(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).replace(tzinfo=None)


def _handoff(rnd: random.Random, created: dt.datetime) -> HandoffRequest:
    kind = rnd.choice(("open", "active", "closed", "closed_untaken"))
    wait = dt.timedelta(seconds=30) if rnd.random() < 0.3 else dt.timedelta(microseconds=rnd.randrange(3600 * 10**6))
    taken = created + wait if kind in ("active", "closed") else None
    closed = created + dt.timedelta(hours=2) if kind.startswith("closed") else None
    return HandoffRequest(sender_key="telegram:1", reason="x", transcript=[], created_at=created, taken_at=taken,
                          closed_at=closed, status={"open": "open", "active": "active"}.get(kind, "closed"))


def _seed(url: str, rnd: random.Random, handoff_count: int = 240, notice_count: int = 480) -> None:
    span = int((_utc(NOW) - START).total_seconds())
    with session_scope(url) as s:
        user, dossier = ChatUser(channel="telegram", channel_user_id="1"), Dossier(code="X-1", procedure_name="x",
                                                                                    status="received")
        s.add_all([user, dossier])
        s.flush()
        for _ in range(handoff_count):
            s.add(_handoff(rnd, START + dt.timedelta(seconds=rnd.randrange(span))))
        for i in range(notice_count):
            s.add(NotificationLog(key=f"n{i}", dossier_id=dossier.id, chat_user_id=user.id,
                                  kind=rnd.choice(("status", "missing_documents")), state=rnd.choice(STATES),
                                  created_at=START + dt.timedelta(seconds=rnd.randrange(span))))


def _expected(url: str, per: Any) -> Dict[str, Any]:
    """Every figure of both reports computed from all rows, as the reports did at read time."""
    index = {label: i for i, label in enumerate(per.labels())}
    requests, taken, waiting = [0] * len(index), [0] * len(index), [0] * len(index)
    waits: List[List[float]] = [[] for _ in index]
    outcomes: Dict[str, List[int]] = {name: [0] * len(index) for name in OUTCOMES}
    with session_scope(url) as s:
        for h in s.query(HandoffRequest):
            day = local_day_of_utc(h.created_at, ZONE)
            if not per.start <= day <= per.end:
                continue
            i = index[per.bucket(day)]
            requests[i] += 1
            waiting[i] += h.taken_at is None and h.closed_at is None
            if h.taken_at is not None:
                taken[i] += 1
                waits[i].append(max(0.0, (h.taken_at - h.created_at).total_seconds()))
        for n in s.query(NotificationLog):
            day = local_day_of_utc(n.created_at, ZONE)
            if per.start <= day <= per.end:
                state = "in_progress" if n.state in ("pending", "claimed", "sending") else n.state
                outcomes[state][index[per.bucket(day)]] += 1

    def quantile(values: List[float], q: float) -> Any:
        return round(sorted(values)[min(len(values) - 1, int(q * len(values)))], 1) if values else None

    def mean(values: List[float]) -> Any:
        return round(statistics.fmean(values), 1) if values else None

    every = [w for bucket in waits for w in bucket]
    return {
        "series": {"handoff_requests": requests, "taken": taken, "still_waiting": waiting,
                   "wait_mean_s": [mean(w) for w in waits], "wait_median_s": [quantile(w, 0.5) for w in waits],
                   "wait_p90_s": [quantile(w, 0.9) for w in waits]},
        "totals": {"handoff_requests": sum(requests), "taken": sum(taken), "still_waiting": sum(waiting),
                   "wait_mean_s": mean(every), "wait_median_s": quantile(every, 0.5),
                   "wait_p90_s": quantile(every, 0.9)},
        "reminders": outcomes,
    }


def _assert_reports_equal_live(url: str) -> None:
    for per in (period("2024-01-01", "2024-03-05", "week", zone=ZONE),
                period("2024-02-10", "2024-03-02", "day", zone=ZONE)):
        want = _expected(url, per)
        with session_scope(url) as s:
            h, r = handoffs(s, per), reminders(s, per)
        assert {k: h.series[k] for k in want["series"]} == want["series"]
        assert {k: h.totals[k] for k in want["totals"]} == want["totals"]
        assert {k: r.series[k] for k in OUTCOMES} == want["reminders"]


def _tables(url: str) -> Dict[str, list]:
    return data.rollup_tables(url)


def _mutate(url: str, rnd: random.Random) -> None:
    """What happens between two runs: requests taken, released, closed; notices settle; new and deleted rows."""
    with session_scope(url) as s:
        for h in s.query(HandoffRequest).filter(HandoffRequest.closed_at.is_(None)).order_by(HandoffRequest.id):
            action = rnd.choice(("take", "release", "close", "keep"))
            if action == "take" and h.taken_at is None:
                h.taken_at, h.status = h.created_at + dt.timedelta(microseconds=rnd.randrange(10**10)), "active"
            elif action == "release" and h.taken_at is not None:
                h.taken_at, h.status = None, "open"
            elif action == "close":
                h.closed_at, h.status = _utc(NOW + 60), "closed"
        notices = s.query(NotificationLog).filter(NotificationLog.state.in_(("pending", "claimed", "sending",
                                                                               "unconfirmed"))).all()
        for n in notices[: len(notices) // 2]:
            n.state = rnd.choice(("sent", "failed", "pending", "unconfirmed", "cancelled"))
        s.delete(notices[-1])  # an unsettled notice deleted (its dossier was)
        user_id, dossier_id = notices[0].chat_user_id, notices[0].dossier_id
        for i, created in enumerate((_utc(NOW - 300), _utc(NOW + 120), START + dt.timedelta(days=3, hours=5))):
            s.add(_handoff(rnd, created))  # recent (after the cut) and backdated (old day, new id)
            s.add(NotificationLog(key=f"late{i}", dossier_id=dossier_id, chat_user_id=user_id, kind="status",
                                  state=rnd.choice(STATES), created_at=created))


@pytest.fixture
def url(clean_db_url: str) -> Iterator[str]:
    yield clean_db_url


def test_rollup_reports_equal_live_computation_through_changes(url: str) -> None:
    rnd = random.Random(13)
    _seed(url, rnd)
    _assert_reports_equal_live(url)  # nothing rolled up yet: every row read live
    engine = get_engine(url)
    first = roll_rows(engine, now=NOW, zone=ZONE)
    assert all(s.full for s in first)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(analytics_daily_handoffs)).scalar_one() > 40
        listed = conn.execute(sa.select(sa.func.count()).select_from(analytics_unsettled)).scalar_one()
    assert listed == sum(s.unsettled for s in first) > 0
    _assert_reports_equal_live(url)
    _mutate(url, rnd)
    _assert_reports_equal_live(url)  # settled rollups + unsettled rows live + tail
    second = roll_rows(engine, now=NOW + 600, zone=ZONE)
    assert not any(s.full for s in second) and all(s.days > 0 for s in second)
    _assert_reports_equal_live(url)
    roll_rows(engine, now=NOW + 3 * 86400, zone=ZONE)
    quiet = roll_rows(engine, now=NOW + 3 * 86400 + 60, zone=ZONE)
    assert [s.days for s in quiet] == [0, 0]  # nothing new, nothing settled: no day recomputed
    incremental = _tables(url)
    roll_rows(engine, now=NOW + 3 * 86400 + 120, zone=ZONE)
    assert _tables(url) == incremental  # a re-run changes nothing
    roll_rows(engine, now=NOW + 3 * 86400 + 180, zone=ZONE, full=True)
    assert _tables(url) == incremental  # incremental runs equal a full recompute
    _assert_reports_equal_live(url)


def test_settled_rows_leave_the_unsettled_list(url: str) -> None:
    rnd = random.Random(5)
    _seed(url, rnd, handoff_count=40, notice_count=40)
    engine = get_engine(url)
    run_rollup(engine, now=NOW, zone=ZONE)  # the events-less database: handoffs and notices still roll up
    with session_scope(url) as s:
        s.query(HandoffRequest).filter(HandoffRequest.closed_at.is_(None)).update(
            {"closed_at": _utc(NOW), "status": "closed"}, synchronize_session=False)
        s.query(NotificationLog).filter(NotificationLog.state.notin_(FINAL_STATES)).update(
            {"state": "sent"}, synchronize_session=False)
    run_rollup(engine, now=NOW + 600, zone=ZONE)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(analytics_unsettled)).scalar_one() == 0
        per_day = defaultdict(int)
        for day, n in conn.execute(sa.select(analytics_daily_handoffs.c.day, analytics_daily_handoffs.c.requests)):
            per_day[day] += n
    assert sum(per_day.values()) == 40
    _assert_reports_equal_live(url)
