"""Shared channel machinery: splitting, de-duplication, per-user rate limit, notices, background tasks."""

from __future__ import annotations

import asyncio
import datetime as dt
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from bot.conversations.admission import admit_inbound, admit_inbound_sync, claim_message
from bot.conversations.reachability import mark_unreachable
from bot.conversations.retention import prune_channel_records
from bot.db.models import ChatUser, ProcessedMessage, RateLimitHit, utcnow
from bot.db.session import session_scope
from bot.responses import project_responses
from bot.text.split import split_message, utf16_len
from integrations.webhook import BackgroundTasks
from tests.channels.support import avoid_minute_boundary

# -- splitting ------------------------------------------------------------------------------------


def test_short_text_is_one_chunk():
    assert split_message("  Xin chào!  ", 4096) == ["Xin chào!"]
    assert split_message("   ", 4096) == []


def test_paragraphs_are_packed_and_never_cut_when_they_fit():
    paragraphs = [f"Đoạn {i}: " + "hồ sơ " * 60 for i in range(40)]  # ~370 chars each
    text = "\n\n".join(p.strip() for p in paragraphs)
    chunks = split_message(text, 4096, utf16_len)
    assert len(chunks) > 1
    assert all(utf16_len(c) <= 4096 for c in chunks)
    # every chunk starts at a paragraph start and no paragraph is split
    for chunk in chunks:
        assert chunk.startswith("Đoạn ")
        for part in chunk.split("\n\n"):
            assert part in [p.strip() for p in paragraphs]
    assert "\n\n".join(chunks) == text


def test_long_paragraph_falls_back_to_lines_words_then_hard_cut():
    lines = "\n".join("dòng " + "x" * 50 for _ in range(30))  # one paragraph of ~1700 chars
    chunks = split_message(lines, 500)
    assert all(len(c) <= 500 for c in chunks)
    assert all(c.startswith("dòng") for c in chunks)  # cut at line breaks
    word = "a" * 1200
    assert split_message(word, 500) == ["a" * 500, "a" * 500, "a" * 200]


def test_utf16_counting_for_emoji():
    text = "😀" * 3000  # 6000 UTF-16 units, 3000 code points
    chunks = split_message(text, 4096, utf16_len)
    assert [utf16_len(c) for c in chunks] == [4096, 1904]
    assert "".join(chunks) == text


# -- admission (both databases) -------------------------------------------------------------------


def test_claim_is_insert_or_skip(db_url):
    with session_scope(db_url) as session:
        assert claim_message(session, "telegram", "1:42") is True
    with session_scope(db_url) as session:
        assert claim_message(session, "telegram", "1:42") is False
        assert claim_message(session, "zalo", "1:42") is True  # ids are per platform


def test_rate_limit_notifies_once_per_window(db_url):
    avoid_minute_boundary()
    verdicts = [admit_inbound_sync(platform="zalo", message_id=f"m{i}", channel="zalo", user_id="u1", limit=3,
                                   database_url=db_url) for i in range(7)]
    assert [v.accepted for v in verdicts] == [True, True, True, False, False, False, False]
    assert [v.notify for v in verdicts] == [False, False, False, True, False, False, False]
    # another user is not affected
    assert admit_inbound_sync(platform="zalo", message_id="other", channel="zalo", user_id="u2", limit=3,
                              database_url=db_url).accepted
    with session_scope(db_url) as session:
        user = session.execute(select(ChatUser).where(ChatUser.channel_user_id == "u1")).scalar_one()
        assert user.reachable and user.last_interaction_at is not None


def test_concurrent_replays_and_flood_are_decided_once(db_url):
    """20 threads deliver the same message id; 30 threads flood: exactly-once verdicts."""
    avoid_minute_boundary()
    with ThreadPoolExecutor(max_workers=8) as pool:
        replays = list(pool.map(lambda _: admit_inbound_sync(
            platform="telegram", message_id="1:999", channel="telegram", user_id="7", limit=100,
            database_url=db_url), range(20)))
        flood = list(pool.map(lambda i: admit_inbound_sync(
            platform="telegram", message_id=f"1:{1000 + i}", channel="telegram", user_id="8", limit=5,
            database_url=db_url), range(30)))
    assert sum(not v.duplicate for v in replays) == 1
    assert sum(v.accepted for v in flood) == 5
    assert sum(v.notify for v in flood) == 1
    with session_scope(db_url) as session:
        assert session.execute(select(func.count()).select_from(ProcessedMessage)).scalar() == 31
        hits = session.execute(select(RateLimitHit).where(RateLimitHit.user_key == "telegram:8")).scalars().all()
        assert sum(h.count for h in hits) == 30 and all(h.notified for h in hits if h.count > 5)


async def test_admit_async_and_mark_unreachable(db_url):
    assert (await admit_inbound(platform="zalo", message_id="a", channel="zalo", user_id="u9", limit=20,
                                database_url=db_url)).accepted
    assert await mark_unreachable("zalo", "u9", "unfollowed", db_url) is True
    assert await mark_unreachable("zalo", "nobody", "unfollowed", db_url) is False
    with session_scope(db_url) as session:
        user = session.execute(select(ChatUser).where(ChatUser.channel_user_id == "u9")).scalar_one()
        assert (user.reachable, user.unreachable_reason) == (False, "unfollowed")
    # writing again makes the user reachable again
    await admit_inbound(platform="zalo", message_id="b", channel="zalo", user_id="u9", limit=20, database_url=db_url)
    with session_scope(db_url) as session:
        assert session.execute(select(ChatUser.reachable).where(ChatUser.channel_user_id == "u9")).scalar_one()


def test_prune_old_records(sqlite_url):
    old = utcnow() - dt.timedelta(days=40)
    with session_scope(sqlite_url) as session:
        session.add(ProcessedMessage(platform="zalo", message_id="old", received_at=old))
        session.add(ProcessedMessage(platform="zalo", message_id="new"))
        session.add(RateLimitHit(user_key="zalo:1", window_start=old, count=3))
    with session_scope(sqlite_url) as session:
        assert prune_channel_records(session) == {"processed_messages": 1, "rate_limit_hits": 1}


# -- rendering and background tasks ---------------------------------------------------------------


def test_channel_notices_are_rendered_from_the_domain():
    responses = project_responses()
    message = responses.message("utter_welcome_follow", "zalo")
    assert message["text"].startswith("Cảm ơn bạn đã quan tâm")
    assert [b["payload"] for b in message["buttons"]] == ["/help", "/check_status", "/ask_contact"]
    assert responses.message("utter_does_not_exist", "zalo") is None
    assert responses.message("utter_text_only", "telegram")["text"].startswith("Xin lỗi, hiện tôi chỉ đọc")


async def test_background_tasks_log_failures_and_drain(caplog):
    tasks = BackgroundTasks()
    done = []

    async def ok():
        await asyncio.sleep(0.05)
        done.append(1)

    async def boom():
        raise RuntimeError("kaput")

    tasks.spawn(ok(), "ok")
    tasks.spawn(boom(), "boom")
    await tasks.drain(timeout=2)
    assert done == [1] and len(tasks) == 0
    assert "background task boom failed" in caplog.text
