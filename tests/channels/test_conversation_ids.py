"""Conversation ids carry their channel, set by the server; output channels map them back.

``telegram:<user>`` (private), ``telegram:group:<chat>:<user>`` (group), ``zalo:<user>``;
the admission table keeps the raw platform user id.
"""

from __future__ import annotations

import httpx
import pytest
from rasa.shared.core.events import BotUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import select

from bot.db.models import ChatUser
from bot.db.session import session_scope
from integrations.errors import PermanentChannelError
from integrations.telegram.buttons import encode_callback
from integrations.telegram.channel import telegram_chat
from integrations.zalo.signature import zalo_user
from tests.channels.conftest import seed_zalo_tokens
from tests.channels.support import EchoAgent, serve_channels
from tests.channels.test_telegram import Client as TelegramClient
from tests.channels.test_telegram import make_channel as make_telegram
from tests.channels.test_zalo import Client as ZaloClient
from tests.channels.test_zalo import make_channel as make_zalo
from tests.fakes.telegram_api import callback_update, mention_update, photo_update
from tests.fakes.zalo_api import follow_event, text_event

GROUP = -1009876543210


def test_recipient_mapping():
    assert telegram_chat("telegram:111") == "111"
    assert telegram_chat(f"telegram:group:{GROUP}:222") == str(GROUP)
    assert telegram_chat("111") == "111" and telegram_chat(str(GROUP)) == str(GROUP)  # bare chat ids
    assert zalo_user("zalo:246845883529197922") == "246845883529197922"
    for other in ("zalo:111", "rest:111", "rest:telegram:111", "web:1", "telegram", "", "abc"):
        with pytest.raises(PermanentChannelError):
            telegram_chat(other)
    for other in ("telegram:111", "rest:zalo:1", "telegram:group:1:2", "x"):
        with pytest.raises(PermanentChannelError):
            zalo_user(other)


async def test_telegram_ids_and_pushes(db_url, tg_env):
    agent, channel = EchoAgent(), make_telegram()
    dynamic = '/check_status{"dossier_code": "000.00.15.H65-240312-0009", "ghi_chú": "của bố"}'
    conversation = f"telegram:group:{GROUP}:301"
    agent.tracker_store.trackers[conversation] = DialogueStateTracker.from_events(conversation, [
        BotUttered("Chọn hồ sơ", {"buttons": [{"title": "Hồ sơ 0009", "payload": dynamic}]})])
    async with serve_channels([channel], agent) as base, httpx.AsyncClient(timeout=10) as http:
        client = TelegramClient(http, base)
        await client.post(mention_update("giờ làm việc", tg_env.username, user_id=301, group_id=GROUP))
        await client.post(callback_update(encode_callback(dynamic), user_id=301, chat_id=GROUP))
        await client.post(photo_update(user_id=302))
        await channel.tasks.drain()
        # a push through Rasa's output channel addresses the conversation id
        output = channel.get_output_channel()
        await output.send_text_message("telegram:302", "Hồ sơ đã có kết quả")
        await output.send_text_message(conversation, "Nhắc lịch trong nhóm")
        with pytest.raises(PermanentChannelError):
            await output.send_text_message("zalo:302", "không bao giờ gửi")
    assert [(m.sender_id, m.text) for m in agent.received] == [(conversation, "giờ làm việc"), (conversation, dynamic)]
    assert [m["text"] for m in tg_env.sent_messages(GROUP)][-1] == "Nhắc lịch trong nhóm"
    assert [m["text"] for m in tg_env.sent_messages(302)][-1] == "Hồ sơ đã có kết quả"
    assert len(tg_env.sent_messages(302)) == 2  # the text-only notice and the push, nothing for "zalo:302"
    with session_scope(db_url) as session:
        users = set(session.execute(select(ChatUser.channel, ChatUser.channel_user_id)).all())
    assert users == {("telegram", "301"), ("telegram", "302")}  # raw ids in the admission table


async def test_zalo_ids_and_pushes(db_url, zalo_env):
    seed_zalo_tokens(db_url)
    agent, channel = EchoAgent(), make_zalo()
    async with serve_channels([channel], agent) as base, httpx.AsyncClient(timeout=10) as http:
        client = ZaloClient(http, base)
        await client.post(follow_event("7001"))
        await client.post(text_event("7001", "xin chào"))
        await channel.tasks.drain()
        output = channel.get_output_channel()
        await output.send_text_message("zalo:7001", "Hồ sơ đã có kết quả")
        with pytest.raises(PermanentChannelError):
            await output.send_text_message("telegram:7001", "không bao giờ gửi")
    assert [(m.sender_id, m.input_channel) for m in agent.received] == [("zalo:7001", "zalo")]
    texts = [m["message"]["text"] for m in zalo_env.cs_messages("7001")]
    assert len(texts) == 3 and texts[1:] == ["Bạn vừa hỏi: xin chào", "Hồ sơ đã có kết quả"]
    assert {m["recipient"]["user_id"] for m in zalo_env.cs_messages()} == {"7001"}
    with session_scope(db_url) as session:
        users = set(session.execute(select(ChatUser.channel, ChatUser.channel_user_id)).all())
    assert users == {("zalo", "7001")}
