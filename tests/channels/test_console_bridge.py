"""The console bridge's delivery of agents' replies, against the loopback fakes of Telegram and Zalo."""

from __future__ import annotations

import pytest

from bot.conversations.identity import parse_conversation_id
from integrations.console_bridge import ConsoleBridgeInput
from integrations.errors import ChannelError
from tests.channels.conftest import seed_zalo_tokens
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.zalo_api import FakeZaloAPI

ZALO_USER = "246845883529197922"


def test_the_bridge_needs_its_token() -> None:
    with pytest.raises(ValueError, match="CONSOLE_BRIDGE_TOKEN"):
        ConsoleBridgeInput.from_credentials({})
    assert ConsoleBridgeInput.from_credentials({"token": "t" * 40}).token == "t" * 40


async def test_agent_replies_reach_telegram_and_zalo_and_wait_for_rest(
        sqlite_url: str, tg_env: FakeTelegramAPI, zalo_env: FakeZaloAPI) -> None:
    seed_zalo_tokens(sqlite_url)
    bridge = ConsoleBridgeInput("t" * 40)
    try:
        assert await bridge.deliver(parse_conversation_id("telegram:77"), "Chào bạn, tôi là cán bộ") == "sent"
        assert [m["text"] for m in tg_env.sent_messages(77)] == ["Chào bạn, tôi là cán bộ"]
        group = parse_conversation_id("telegram:group:-100123:77")
        assert await bridge.deliver(group, "Mời bạn nhắn riêng") == "sent"
        assert [m["text"] for m in tg_env.sent_messages(-100123)] == ["Mời bạn nhắn riêng"]
        assert await bridge.deliver(parse_conversation_id(f"zalo:{ZALO_USER}"), "Xin chào") == "sent"
        assert [m["message"]["text"] for m in zalo_env.cs_messages(ZALO_USER)] == ["Xin chào"]
        assert await bridge.deliver(parse_conversation_id("rest:dev"), "Xin chào") == "queued"
        tg_env.block_chat(78)
        with pytest.raises(ChannelError):
            await bridge.deliver(parse_conversation_id("telegram:78"), "Chào")
    finally:
        for sender in bridge.senders().values():
            client = getattr(sender, "client", None)
            if client is not None:
                await client.close()


async def test_a_channel_that_is_not_configured_is_a_channel_error(sqlite_url: str) -> None:
    bridge = ConsoleBridgeInput("t" * 40)
    with pytest.raises(ChannelError):
        await bridge.deliver(parse_conversation_id("zalo:1"), "Chào")
