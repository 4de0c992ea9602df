"""Conversation review: filters, keyset pagination, masked transcripts, tags and flags."""

from __future__ import annotations

from typing import Iterator

import pytest

from bot.analytics import (
    AnalyticsInputError,
    ConversationFilter,
    add_tag,
    browse_conversations,
    flag_for_review,
    remove_tag,
    resolve_flag,
    run_rollup,
    tags_in_use,
    transcript,
)
from bot.db.session import get_engine, session_scope
from tests.support import analytics as data


@pytest.fixture
def url(clean_db_url: str) -> Iterator[str]:
    data.create_events(clean_db_url)
    rows = data.conversation_rows()
    extra = [{**row, "sender_id": f"zalo:u{i}", "timestamp": row["timestamp"] + 86400 * 20 + i * 60}
             for i in range(7) for row in rows[:11]]  # 7 more conversations on 24 March
    data.insert_events(clean_db_url, rows + extra)
    data.add_side_tables(clean_db_url)
    run_rollup(get_engine(clean_db_url), now=data.at(31, 0), zone=data.ZONE)
    yield clean_db_url


def _ids(url: str, **filters) -> list:
    with session_scope(url) as s:
        page = browse_conversations(s, ConversationFilter(**filters), limit=50, zone=data.ZONE)
    return [c.conversation_id for c in page.items]


def test_filters(url: str) -> None:
    assert _ids(url, start="2024-03-04", end="2024-03-05") == ["telegram:group:-100:333", "zalo:222", "telegram:111"]
    assert _ids(url, start="2024-03-05", end="2024-03-05") == ["telegram:group:-100:333", "zalo:222"]
    assert _ids(url, channel="telegram") == ["telegram:111"]
    assert _ids(url, intent="request_human") == ["rest:abc"]
    assert _ids(url, had_fallback=True) == ["telegram:group:-100:333", "zalo:222"]
    assert _ids(url, had_handoff=True) == ["rest:abc", "telegram:111"]
    assert _ids(url, min_rating=4) == ["telegram:group:-100:333", "telegram:111"]
    assert _ids(url, max_rating=3) == ["zalo:222"]
    assert len(_ids(url, had_handoff=False)) == 9


def test_summary_row(url: str) -> None:
    with session_scope(url) as s:
        page = browse_conversations(s, ConversationFilter(channel="zalo", end="2024-03-10"), zone=data.ZONE)
    b = page.items[0]
    assert (b.conversation_id, b.user_messages, b.fallback_messages, b.ratings, b.handoff) == ("zalo:222", 2, 2, [3],
                                                                                              False)
    assert b.intents == {"nlu_fallback": 1, "ask_place": 1}


def test_keyset_pagination_visits_every_conversation_once(url: str) -> None:
    seen, cursor, pages = [], None, 0
    while True:
        with session_scope(url) as s:
            page = browse_conversations(s, limit=3, cursor=cursor, zone=data.ZONE)
        seen += [c.conversation_id for c in page.items]
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    assert pages == 4 and len(seen) == 11 and len(set(seen)) == 11
    assert seen[:2] == ["zalo:u6", "zalo:u5"] and seen[-1] == "telegram:111"


def test_bad_cursor_and_filters_are_clear_errors(url: str) -> None:
    with session_scope(url) as s:
        for kwargs, message in [({"cursor": "not-a-cursor"}, "cursor"), ({"limit": 0}, "limit"),
                                ({"filters": ConversationFilter(channel="fax")}, "channel"),
                                ({"filters": ConversationFilter(min_rating=9)}, "min_rating"),
                                ({"filters": ConversationFilter(start="2024-03-05", end="2024-03-01")}, "end"),
                                ({"filters": ConversationFilter(start="yesterday")}, "start")]:
            with pytest.raises(AnalyticsInputError, match=message):
                browse_conversations(s, zone=data.ZONE, **kwargs)


def test_transcript_masks_phones_and_codes_unless_revealed(url: str) -> None:
    with session_scope(url) as s:
        masked = transcript(s, "telegram:group:-100:333")
        clear = transcript(s, "telegram:group:-100:333", reveal=True)
        b = transcript(s, "zalo:222")
    text = " ".join(line.text for line in masked)
    assert data.PHONE_C not in text and data.CODE not in text and "098•••••••" in text
    assert "•••.••.••.H••-••••••-••••" in text
    assert data.CODE in " ".join(line.text for line in clear) and data.PHONE_C in clear[0].text
    assert [line.by for line in masked] == ["user", "bot", "user", "bot"]
    assert masked[0].fell_back and not masked[2].fell_back
    assert [line.fell_back for line in b if line.by == "user"] == [True, True]  # nlu and core fallback
    with session_scope(url) as s:
        page = transcript(s, "zalo:222", limit=1)
        rest = transcript(s, "zalo:222", after_event_id=page[-1].event_id)
    assert len(page) == 1 and [line.text for line in rest] == [line.text for line in b[1:]]


def test_tags_and_flags(url: str) -> None:
    with session_scope(url) as s:
        assert add_tag(s, "zalo:222", "  Cần  Sửa ", by="anh")
        assert not add_tag(s, "zalo:222", "cần sửa", by="anh")
        add_tag(s, "rest:abc", "cần sửa", by="anh")
        flag_for_review(s, "zalo:222", "câu trả lời sai", by="anh")
    assert _ids(url, tag="cần sửa") == ["rest:abc", "zalo:222"]
    assert _ids(url, flagged=True) == ["zalo:222"]
    with session_scope(url) as s:
        assert tags_in_use(s) == [("cần sửa", 2)]
        assert resolve_flag(s, "zalo:222", by="binh") and not resolve_flag(s, "zalo:222", by="binh")
        assert remove_tag(s, "rest:abc", "cần sửa")
    assert _ids(url, flagged=True) == [] and _ids(url, tag="cần sửa") == ["zalo:222"]
    with session_scope(url) as s:
        item = browse_conversations(s, ConversationFilter(channel="zalo", end="2024-03-10"), zone=data.ZONE).items[0]
    assert item.tags == ["cần sửa"] and item.flag["resolved_by"] == "binh"
    with session_scope(url) as s, pytest.raises(AnalyticsInputError, match="tag"):
        add_tag(s, "zalo:222", " ", by="anh")


def test_retention_prunes_conversation_rows_and_wordings_but_keeps_daily_counts(url: str) -> None:
    import datetime as dt

    import sqlalchemy as sa

    from bot.analytics.retention import prune_analytics
    from bot.analytics.schema import analytics_daily, analytics_daily_unanswered
    from bot.settings import Settings

    with session_scope(url) as s:
        add_tag(s, "zalo:222", "x", by="anh")
        flag_for_review(s, "zalo:222", None, by="anh")
        removed = prune_analytics(s, Settings(app_env="test", retention_conversation_days=10),
                                  now=dt.datetime(2024, 3, 21))  # cut-off 11 March 00:00 UTC
    assert removed["analytics_conversations"] == 3 and removed["conversation_tags"] == 1
    assert removed["conversation_flags"] == 1 and removed["analytics_daily_unanswered"] == 2
    assert _ids(url, end="2024-03-12") == ["rest:abc"]
    with session_scope(url) as s:
        assert s.execute(sa.select(sa.func.count()).select_from(analytics_daily)).scalar_one() == 6
        assert s.execute(sa.select(sa.func.count()).select_from(analytics_daily_unanswered)).scalar_one() == 0


def test_worker_once(url: str, capsys: pytest.CaptureFixture) -> None:
    import json

    from workers.analytics import main

    assert main(["--once"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["new_events"] == 0 and out["full"] is False
