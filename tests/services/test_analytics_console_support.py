"""What the console pages need beyond the reports: rollup freshness and one conversation's summary."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from bot.analytics import find_conversation, flag_for_review, freshness, run_rollup
from bot.analytics.schema import rasa_metadata
from bot.db.session import get_engine, session_scope
from tests.support import analytics as data


def test_freshness_before_and_after_a_rollup(clean_db_url: str) -> None:
    url = clean_db_url
    with get_engine(url).begin() as conn:  # a database where Rasa never wrote: no events table yet
        rasa_metadata.drop_all(conn)
    with session_scope(url) as s:
        state = freshness(s)
    assert (state.last_run_at, state.last_event_id, state.pending_events) == (None, None, 0)
    data.create_events(url)
    rows = data.conversation_rows()
    data.insert_events(url, rows, first_id=1)
    with session_scope(url) as s:
        assert freshness(s).pending_events == len(rows)
    run_rollup(get_engine(url), now=data.at(12, 0), zone=data.ZONE)
    data.insert_events(url, rows[:3], first_id=len(rows) + 1)
    with session_scope(url) as s:
        state = freshness(s)
    assert state.last_run_at == dt.datetime(2024, 3, 11, 17, 0, tzinfo=dt.timezone.utc)  # midnight, UTC+7
    assert state.last_event_id == len(rows) and state.pending_events == 3 and not state.pending_capped


def test_freshness_caps_the_count(clean_db_url: str, monkeypatch) -> None:
    import bot.analytics.status as status

    data.create_events(clean_db_url)
    data.insert_events(clean_db_url, data.conversation_rows())
    monkeypatch.setattr(status, "PENDING_CAP", 5)
    with session_scope(clean_db_url) as s:
        state = freshness(s)
    assert state.pending_events == 5 and state.pending_capped


def test_find_conversation(clean_db_url: str) -> None:
    url = clean_db_url
    data.create_events(url)
    data.insert_events(url, data.conversation_rows())
    data.add_side_tables(url)
    run_rollup(get_engine(url), now=data.at(12, 0), zone=data.ZONE)
    late = [{**row, "sender_id": "zalo:0912345678", "timestamp": row["timestamp"] + 86400 * 10}
            for row in data.conversation_rows()[:7]]
    data.insert_events(url, late)  # not rolled up yet
    with session_scope(url) as s:
        flag_for_review(s, "zalo:222", "sai", by="anh")
        b = find_conversation(s, "zalo:222")
        fresh = find_conversation(s, "zalo:0912345678")
        clear = find_conversation(s, "zalo:0912345678", reveal=True)
        assert find_conversation(s, "zalo:999") is None and find_conversation(s, "") is None
        assert find_conversation(s, "x" * 300) is None
    assert (b.channel, b.user_messages, b.fallback_messages, b.ratings, b.handoff) == ("zalo", 2, 2, [3], False)
    assert b.flag["reason"] == "sai" and b.flag["resolved_at"] is None
    assert fresh.display_id == "zalo:091•••••••" and clear.display_id == "zalo:0912345678"
    assert fresh.channel == "zalo" and fresh.user_messages == 0  # counted at the next rollup
    assert fresh.started_at == dt.datetime.fromtimestamp(late[0]["timestamp"], dt.timezone.utc)
    with get_engine(url).connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM analytics_conversations")).scalar_one() == 4
