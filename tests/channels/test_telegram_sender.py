"""Telegram sender: RetryAfter, blocked users, what is and is not retried, pacing (loopback fake)."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import select

from bot.conversations.admission import touch_user
from bot.db.models import ChatUser
from bot.db.session import session_scope
from integrations.errors import PermanentChannelError, TokenError, TransientChannelError, UserUnreachable
from integrations.telegram.client import TelegramSender

TEXT_ONLY = "Xin lỗi, hiện tôi chỉ đọc được tin nhắn dạng chữ"
RATE_LIMITED = "Bạn đang gửi tin nhắn hơi nhanh"
GROUP = -1001234567890


def make_sender(fake, **kw) -> TelegramSender:
    defaults = {"chat_interval": 0.0, "group_interval": 0.0, "global_rate": 1000.0, "retry_backoff": 0.05}
    return TelegramSender(fake.token, api_base=fake.base_url, **{**defaults, **kw})


async def test_retry_after_is_waited_out_and_retried(sqlite_url, fake_tg):
    sender = make_sender(fake_tg)
    fake_tg.fail_next(1, status=429, retry_after=1, methods=["sendMessage"])
    await sender.send_text(111, "Nhắc lịch hẹn")
    calls = fake_tg.api_calls("sendMessage")
    assert [c.status for c in calls] == [429, 200]
    assert calls[1].at - calls[0].at >= 0.95
    # a flood wait longer than we hold a request is handed to the caller
    fake_tg.fail_next(1, status=429, retry_after=120)
    with pytest.raises(TransientChannelError) as info:
        await sender.send_text(111, "Nhắc lịch hẹn")
    assert info.value.retry_after == 120 and info.value.code == 429
    assert len(fake_tg.sent_messages(111)) == 1
    await sender.close()


async def test_forbidden_marks_the_user_unreachable(db_url, fake_tg):
    with session_scope(db_url) as session:
        touch_user(session, "telegram", "555")
    fake_tg.block_chat(555)
    sender = make_sender(fake_tg)
    with pytest.raises(UserUnreachable) as info:
        await sender.send_text("555", "Hồ sơ của bạn đã có kết quả")
    assert info.value.reason == "blocked" and info.value.code == 403
    with session_scope(db_url) as session:
        user = session.execute(select(ChatUser).where(ChatUser.channel_user_id == "555")).scalar_one()
        assert user.reachable is False and user.unreachable_reason.startswith("blocked")
    assert len(fake_tg.api_calls("sendMessage")) == 1  # not retried
    await sender.close()


async def test_server_errors_are_retried_then_raised(sqlite_url, fake_tg):
    sender = make_sender(fake_tg, max_retries=3)
    fake_tg.fail_next(10, status=502)  # Telegram got the request: it may have gone out, so it is not repeated
    with pytest.raises(TransientChannelError) as info:
        await sender.send_text(111, "xin chào")
    assert info.value.maybe_delivered is True and len(fake_tg.api_calls("sendMessage")) == 1
    fake_tg.clear_failures()
    fake_tg.fail_next(1, status=400, description="Bad Request: chat not found")
    with pytest.raises(UserUnreachable) as info:
        await sender.send_text(999, "xin chào")
    assert info.value.reason == "chat_not_found"
    fake_tg.fail_next(1, status=400, description="Bad Request: can't parse entities")
    with pytest.raises(PermanentChannelError):
        await sender.send_text(111, "xin chào")
    await sender.close()
    with pytest.raises(TokenError):
        await TelegramSender("999:WRONG", api_base=fake_tg.base_url).send_text(111, "x")


async def test_read_timeout_is_not_retried_because_it_may_have_been_delivered(sqlite_url, fake_tg):
    sender = make_sender(fake_tg, timeout=0.3)
    fake_tg.delay = 1.0
    with pytest.raises(TransientChannelError) as info:
        await sender.send_text(111, "xin chào")
    assert info.value.maybe_delivered is True
    fake_tg.delay = 0
    assert len(fake_tg.api_calls("sendMessage")) == 1
    await sender.close()


async def test_pacing_per_chat_and_overall(sqlite_url, fake_tg):
    sender = make_sender(fake_tg, chat_interval=0.25, global_rate=1000.0)
    start = time.monotonic()
    await asyncio.gather(*(sender.send_text(111, f"tin {i}") for i in range(4)))
    assert time.monotonic() - start >= 0.7  # 4 messages to one chat: >= 3 intervals
    assert [m["text"] for m in fake_tg.sent_messages(111)] == ["tin 0", "tin 1", "tin 2", "tin 3"]  # order kept
    start = time.monotonic()
    await asyncio.gather(*(sender.send_text(300 + i, "tin") for i in range(4)))
    assert time.monotonic() - start < 0.5  # different chats are not held back by each other
    paced = make_sender(fake_tg, chat_interval=0.0, global_rate=10.0)
    start = time.monotonic()
    await asyncio.gather(*(paced.send_text(400 + i, "tin") for i in range(10)))
    assert time.monotonic() - start >= 0.85  # ~10 messages/s overall
    await sender.close()
    await paced.close()


# -- webhook registration and credentials ---------------------------------------------------------
