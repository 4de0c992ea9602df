"""Analytics figures on the hand-made conversation set (tests/support/analytics.py), SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Iterator

import pytest

from bot.analytics import (
    AnalyticsInputError,
    chart_data,
    dashboard,
    fallback,
    handoffs,
    intents,
    period,
    reminders,
    run_rollup,
    satisfaction,
    to_csv,
    traffic,
    unanswered,
)
from bot.db.session import get_engine, session_scope
from tests.support import analytics as data


@pytest.fixture
def url(clean_db_url: str) -> Iterator[str]:
    """The module database with the conversation set, rolled up."""
    data.create_events(clean_db_url)
    data.insert_events(clean_db_url, data.conversation_rows())
    data.add_side_tables(clean_db_url)
    run_rollup(get_engine(clean_db_url), now=data.at(12, 0), zone=data.ZONE)
    yield clean_db_url


def weeks():
    return period("2024-03-04", "2024-03-17", "week", zone=data.ZONE)


def test_traffic_per_day_and_channel(url: str) -> None:
    with session_scope(url) as s:
        r = traffic(s, period("2024-03-04", "2024-03-05", zone=data.ZONE))
    assert r.labels == ["2024-03-04", "2024-03-05"]
    assert r.series["conversations"] == [2, 1]
    assert r.series["user_messages"] == [3, 3]
    assert r.series["conversations.telegram"] == [1, 0]
    assert r.series["conversations.zalo"] == [1, 0]
    assert r.series["user_messages.zalo"] == [1, 1]  # B's second message is after midnight
    assert r.series["conversations.telegram_group"] == [0, 1]
    assert "conversations.rest" not in r.series  # D is on 11 March
    assert r.totals["bot_messages"] == 6


def test_weekly_buckets_and_empty_weeks(url: str) -> None:
    with session_scope(url) as s:
        r = traffic(s, weeks())
    assert r.labels == ["2024-W10", "2024-W11"]
    assert r.series["conversations"] == [3, 1]
    assert r.series["user_messages.rest"] == [0, 2]
    with session_scope(url) as s:
        assert traffic(s, period("2024-02-01", "2024-02-03", zone=data.ZONE)).series["conversations"] == [0, 0, 0]


def test_fallback_rate_counts_nlu_and_core_fallback(url: str) -> None:
    with session_scope(url) as s:
        r = fallback(s, weeks())
    assert r.series["fallback_messages"] == [3, 0]  # B gibberish, B core fallback, C
    assert r.series["fallback_rate"] == [0.5, 0.0]
    assert r.totals == {"user_messages": 8, "fallback_messages": 3, "fallback_rate": 0.375}


def test_intents(url: str) -> None:
    with session_scope(url) as s:
        r = intents(s, weeks(), top=2)
    assert r.table[0] == {"intent": "greet", "messages": 2, "share": 0.25}
    assert r.table[1]["intent"] == "nlu_fallback" and r.table[1]["messages"] == 2
    assert {row["intent"] for row in r.table} == {"greet", "nlu_fallback", "ask_fee", "ask_place", "check_status",
                                                  "request_human"}
    assert r.series["greet"] == [1, 1] and r.series["other"] == [3, 1]


def test_handoffs_rate_and_waiting_time(url: str) -> None:
    with session_scope(url) as s:
        r = handoffs(s, weeks())
    assert r.series["handoff_requests"] == [1, 1]
    assert r.series["handoff_rate"] == [0.3333, 1.0]
    assert r.series["still_waiting"] == [1, 0]
    assert r.series["wait_mean_s"] == [None, 300.0]
    assert r.totals["handoff_rate"] == 0.5 and r.totals["wait_median_s"] == 300.0


def test_satisfaction_against_target(url: str) -> None:
    with session_scope(url) as s:
        days = satisfaction(s, period("2024-03-04", "2024-03-05", zone=data.ZONE))
        week = satisfaction(s, weeks())
    assert days.series["ratings"] == [1, 2]
    assert days.series["mean_rating"] == [5.0, 3.5]
    assert days.series["share_4_or_5"] == [1.0, 0.5]
    assert week.series["mean_rating"] == [4.0, None]
    assert week.totals["share_4_or_5"] == 0.6667 and week.totals["meets_target"] is False
    assert week.series["target"] == [0.99, 0.99]


def test_reminder_outcomes(url: str) -> None:
    with session_scope(url) as s:
        r = reminders(s, weeks())
    assert r.series["sent"] == [1, 1]
    assert r.series["failed"] == [1, 0] and r.series["undeliverable"] == [1, 0]
    assert r.series["in_progress"] == [1, 0]
    assert r.totals["delivery_rate"] == 0.5


def test_top_unanswered_grouped_and_masked(url: str) -> None:
    with session_scope(url) as s:
        r = unanswered(s, weeks())
    assert [row["messages"] for row in r.table] == [2, 1]
    top = r.table[0]["question"]
    assert "khai sinh" in top and data.PHONE_B not in top and data.PHONE_C not in top
    assert r.table[0]["share_of_fallbacks"] == 0.6667
    assert r.table[1]["question"] == "qwzx vbnm"


def test_tail_after_the_watermark_is_counted(url: str) -> None:
    later = [{**row, "sender_id": "zalo:999", "timestamp": row["timestamp"] + 86400}
             for row in data.conversation_rows()[:11]]  # A's conversation again, on 5 March, by zalo:999
    data.insert_events(url, later)
    with session_scope(url) as s:
        r = traffic(s, period("2024-03-05", "2024-03-05", zone=data.ZONE))
        top = intents(s, period("2024-03-05", "2024-03-05", zone=data.ZONE))
    assert r.series["conversations.zalo"] == [1] and r.series["user_messages.zalo"] == [3]
    assert {row["intent"]: row["messages"] for row in top.table}["greet"] == 1
    run_rollup(get_engine(url), now=data.at(12, 1), zone=data.ZONE)
    with session_scope(url) as s:
        assert traffic(s, period("2024-03-05", "2024-03-05", zone=data.ZONE)).series["user_messages.zalo"] == [3]


def test_dashboard_csv_and_chart_shape(url: str) -> None:
    with session_scope(url) as s:
        every = dashboard(s, weeks())
    assert set(every) == {"traffic", "intents", "fallback", "handoffs", "satisfaction", "unanswered", "reminders"}
    csv_text = to_csv(every["fallback"])
    assert csv_text.splitlines()[0] == "bucket,user_messages,fallback_messages,fallback_rate"
    assert csv_text.splitlines()[1] == "2024-W10,6,3,0.5"
    assert to_csv(every["unanswered"]).splitlines()[0] == "rank,question,messages,share_of_fallbacks"
    chart = chart_data(every["satisfaction"])
    assert chart["labels"] == ["2024-W10", "2024-W11"]
    assert {"key": "ratings", "data": [3, 0]} in chart["datasets"]
    assert chart["totals"]["target"] == 0.99


def test_csv_cells_never_become_formulas() -> None:
    from bot.analytics.export import _cell

    assert _cell("=HYPERLINK(1)") == "'=HYPERLINK(1)" and _cell("-1+2") == "'-1+2" and _cell(3) == 3


@pytest.mark.parametrize("args, message", [
    (("2024-13-01", "2024-12-01"), "start must be a date"),
    (("2024-03-05", "2024-03-01"), "end must not be before start"),
    (("2020-01-01", "2024-01-01"), "at most"),
    (("2024-03-01", "2024-03-02", "month"), "granularity"),
    ((20240301, "2024-03-02"), "start must be a date"),
])
def test_bad_ranges_are_clear_errors(args, message) -> None:
    with pytest.raises(AnalyticsInputError, match=message):
        period(*args, zone=data.ZONE)


def test_bad_limits_are_clear_errors(url: str) -> None:
    with session_scope(url) as s, pytest.raises(AnalyticsInputError, match="top/limit"):
        unanswered(s, weeks(), limit=10_000)


def test_reports_without_events_table(clean_db_url: str) -> None:
    from sqlalchemy import text

    with get_engine(clean_db_url).begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS events"))
    assert run_rollup(get_engine(clean_db_url), zone=data.ZONE).watermark is None
    with session_scope(clean_db_url) as s:
        assert traffic(s, period(dt.date(2024, 3, 4), dt.date(2024, 3, 4), zone=data.ZONE)).totals["conversations"] == 0
