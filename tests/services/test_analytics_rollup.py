"""The rollup job: incremental runs equal a full recompute, re-runs change nothing, late commits are caught."""

from __future__ import annotations

import threading
from typing import Iterator

import pytest
import sqlalchemy as sa

from bot.analytics import run_rollup
from bot.analytics.schema import analytics_conversation_intents, analytics_conversations, analytics_daily
from bot.db.session import get_engine
from tests.support import analytics as data


@pytest.fixture
def url(clean_db_url: str) -> Iterator[str]:
    data.create_events(clean_db_url)
    yield clean_db_url


def _rollup(url: str, now: float, full: bool = False):
    return run_rollup(get_engine(url), now=now, full=full, zone=data.ZONE)


def test_incremental_runs_equal_full_recompute_and_rerun_is_idempotent(url: str) -> None:
    rows = data.conversation_rows()
    cut = 25  # inside B's first day; its next turn comes after midnight
    data.insert_events(url, rows[:cut], first_id=1)
    first = _rollup(url, now=rows[cut - 1]["timestamp"] + 5)
    assert first.full and first.new_events == cut
    data.insert_events(url, rows[cut:40], first_id=cut + 1)
    second = _rollup(url, now=data.at(5, 9, 30))
    assert not second.full and second.new_events == 40 - cut
    data.insert_events(url, rows[40:], first_id=41)
    _rollup(url, now=data.at(11, 9))
    incremental = data.rollup_tables(url)
    again = _rollup(url, now=data.at(11, 9, 1))
    assert again.new_events == 0 and data.rollup_tables(url) == incremental
    _rollup(url, now=data.at(11, 9, 2), full=True)
    assert data.rollup_tables(url) == incremental
    with get_engine(url).connect() as conn:
        b = conn.execute(sa.select(analytics_conversations).where(analytics_conversations.c.sender_id == "zalo:222")).one()
        assert (b.channel, b.sessions, b.user_messages, b.bot_messages, b.fallback_messages) == ("zalo", 1, 2, 2, 2)
        intents = dict(conn.execute(sa.select(analytics_conversation_intents.c.intent,
                                              analytics_conversation_intents.c.messages)
                                    .where(analytics_conversation_intents.c.sender_id == "telegram:111")).all())
        assert intents == {"greet": 1, "ask_fee": 1}


def test_late_commit_below_the_watermark_is_counted_next_run(url: str) -> None:
    rows = data.conversation_rows()
    late = 27  # C's bot reply: its write took id 28 but commits after the first run (a minute later)
    data.insert_events(url, rows[:late], first_id=1)
    data.insert_events(url, rows[late + 1:30], first_id=late + 2)
    _rollup(url, now=rows[29]["timestamp"] + 2)
    data.insert_events(url, [rows[late]], first_id=late + 1)  # commits now, below the watermark
    data.insert_events(url, rows[30:], first_id=31)
    _rollup(url, now=data.at(11, 9))
    incremental = data.rollup_tables(url)
    _rollup(url, now=data.at(11, 9, 1), full=True)
    assert data.rollup_tables(url) == incremental


def test_today_is_recomputed_as_it_grows(url: str) -> None:
    rows = data.conversation_rows()
    data.insert_events(url, rows[:8], first_id=1)  # A's first turn
    _rollup(url, now=data.at(4, 10, 0, 30))
    data.insert_events(url, rows[8:11], first_id=9)
    _rollup(url, now=data.at(4, 10, 2))
    with get_engine(url).connect() as conn:
        day = conn.execute(sa.select(analytics_daily).where(analytics_daily.c.channel == "telegram")).one()
    assert (day.conversations, day.user_messages, day.bot_messages) == (1, 2, 2)


def test_concurrent_runs_agree(url: str) -> None:
    data.insert_events(url, data.conversation_rows(), first_id=1)
    errors = []

    def run() -> None:
        try:
            _rollup(url, now=data.at(11, 9))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    together = data.rollup_tables(url)
    _rollup(url, now=data.at(11, 9, 1), full=True)
    assert data.rollup_tables(url) == together
