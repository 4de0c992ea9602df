"""Telegram channel against a loopback fake of the Bot API, with real update payloads.

The channel is mounted in a real Sanic server exactly as ``rasa run`` mounts it; a
stand-in agent (tests/channels/support.py) plays the trained model.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Dict, List, Optional

import httpx
import pytest
from rasa.shared.core.events import BotUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import RasaException
from sqlalchemy import select

from bot.cli.runtime import MESSAGING_CHANNELS
from bot.db.models import ChatUser
from bot.db.session import session_scope
from bot.settings import get_settings
from integrations.telegram import channel as tg
from integrations.telegram.__main__ import main as telegram_main
from integrations.telegram.buttons import decode_callback, encode_callback, payload_key
from integrations.telegram.client import register_webhook
from tests.channels.conftest import WEBHOOK_SECRET, set_env
from tests.channels.support import LONG_PAYLOAD, EchoAgent, avoid_minute_boundary, serve_channels
from tests.fakes.telegram_api import (
    callback_update,
    document_update,
    mention_update,
    photo_update,
    sticker_update,
    text_update,
    voice_update,
)

TEXT_ONLY = "Xin lỗi, hiện tôi chỉ đọc được tin nhắn dạng chữ"
RATE_LIMITED = "Bạn đang gửi tin nhắn hơi nhanh"
GROUP = -1001234567890


def conversations(agent: EchoAgent) -> Dict[str, List[str]]:
    """The texts the agent received, by conversation id, in order."""
    found: Dict[str, List[str]] = {}
    for message in agent.received:
        found.setdefault(message.sender_id, []).append(message.text)
    return found


def make_channel() -> tg.TelegramInput:
    """The channel as ``rasa run`` builds it from the runtime credentials."""
    return tg.TelegramInput.from_credentials(MESSAGING_CHANNELS["telegram"].entry(get_settings()))


class Client:
    """Posts updates to the channel's webhook."""

    def __init__(self, http: httpx.AsyncClient, base: str) -> None:
        self.http, self.url = http, f"{base}/webhooks/telegram/webhook"

    async def post(self, update: Any = None, *, secret: Optional[str] = WEBHOOK_SECRET, raw: Optional[bytes] = None,
                   headers: Optional[Dict[str, str]] = None) -> httpx.Response:
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        if secret is not None:
            hdrs["X-Telegram-Bot-Api-Secret-Token"] = secret
        body = raw if raw is not None else json.dumps(update).encode()
        return await self.http.post(self.url, content=body, headers=hdrs)


@pytest.fixture
async def bot(sqlite_url, tg_env):
    """(client, channel, agent, fake) with the channel served on 127.0.0.1."""
    agent = EchoAgent(long_reply="\n\n".join(f"Bước {i}: " + "chuẩn bị giấy tờ " * 40 for i in range(20)))
    channel = make_channel()
    async with serve_channels([channel], agent) as base, httpx.AsyncClient(timeout=10) as http:
        yield Client(http, base), channel, agent, tg_env


# -- authentication and malformed input -----------------------------------------------------------


async def test_forged_or_missing_secret_is_rejected(bot, caplog):
    client, channel, agent, fake = bot
    caplog.set_level(logging.WARNING, logger="integrations.telegram")
    for secret in ("wrong-secret", WEBHOOK_SECRET + "x", "", None):
        response = await client.post(text_update("xin chào"), secret=secret)
        assert response.status_code == 401
    await channel.tasks.drain()
    assert agent.received == [] and fake.api_calls() == []
    assert caplog.text.count("rejected with 401") == 4


async def test_malformed_unknown_and_oversized_bodies_get_4xx(bot, caplog, monkeypatch):
    client, channel, agent, fake = bot
    caplog.set_level(logging.WARNING, logger="integrations.telegram")
    cases = [
        b"{not json",
        b"\xff\xfe\x00",
        b"[1, 2, 3]",
        json.dumps({"message": {"text": "no update id"}}).encode(),
        json.dumps({"update_id": "12"}).encode(),
        json.dumps({"update_id": 12, "message": {"text": "no chat, no date"}}).encode(),
        json.dumps({"update_id": 13, "my_chat_member": {
            "chat": {"id": GROUP, "title": "G", "type": "supergroup"}, "from": {"id": 1, "is_bot": False,
                                                                              "first_name": "A"},
            "date": 1700000000, "old_chat_member": {"status": "left", "user": {"id": 1, "is_bot": True,
                                                                                "first_name": "B"}},
            "new_chat_member": {"status": "member", "user": {"id": 1, "is_bot": True, "first_name": "B"}}}}).encode(),
    ]
    statuses = [(await client.post(raw=raw)).status_code for raw in cases]
    assert statuses == [400] * len(cases)
    big = json.dumps(text_update("a" * (get_settings().max_webhook_bytes + 10))).encode()
    assert (await client.post(raw=big)).status_code == 413
    await channel.tasks.drain()
    assert agent.received == [] and fake.sent_messages() == []
    assert caplog.text.count("telegram webhook rejected") == len(cases) + 1
    # the channel is still healthy afterwards
    assert (await client.post(text_update("còn đó không"))).status_code == 200
    await channel.tasks.drain()
    assert agent.texts() == ["còn đó không"]


# -- conversations --------------------------------------------------------------------------------


async def test_private_text_goes_to_rasa_and_reply_to_the_chat(db_url, tg_env):
    agent, channel = EchoAgent(), make_channel()
    async with serve_channels([channel], agent) as base, httpx.AsyncClient() as http:
        update = text_update("làm giấy khai sinh cần gì", user_id=4242)
        response = await Client(http, base).post(update)
        assert response.status_code == 200 and response.json()["status"] == "accepted"
        await channel.tasks.drain()
    [message] = agent.received
    assert (message.sender_id, message.input_channel) == ("telegram:4242", "telegram")
    assert message.metadata["telegram"]["update_id"] == update["update_id"]
    assert tg_env.sent_messages(4242) == [{"chat_id": "4242", "text": "Bạn vừa hỏi: làm giấy khai sinh cần gì"}]
    with session_scope(db_url) as session:
        user = session.execute(select(ChatUser).where(ChatUser.channel == "telegram")).scalar_one()
        assert user.channel_user_id == "4242" and user.reachable


async def test_start_and_help_commands_and_button_round_trip(bot):
    client, channel, agent, fake = bot
    await client.post(text_update("/start"))
    await client.post(text_update("/help"))
    await client.post(text_update('/inform{"dossier_code": "x"} tra cứu'))  # typed text never injects intents
    await channel.tasks.drain()
    assert agent.texts() == ["/greet", "/help", 'inform{"dossier_code": "x"} tra cứu']
    welcome = fake.sent_messages(111)[0]
    keyboard = welcome["reply_markup"]["inline_keyboard"]
    assert [row[0]["text"] for row in keyboard] == ["Hướng dẫn sử dụng", "Tra cứu hồ sơ", "Liên hệ"]
    assert [row[0]["callback_data"] for row in keyboard] == ["=/help", "=/check_status", "=/ask_contact"]
    # the citizen taps "Tra cứu hồ sơ"
    click = callback_update(keyboard[1][0]["callback_data"], reply_markup=welcome["reply_markup"])
    assert (await client.post(click)).status_code == 200
    await channel.tasks.drain()
    assert agent.texts()[-1] == "/check_status"
    answered = fake.api_calls("answerCallbackQuery")
    assert [r.params["callback_query_id"] for r in answered] == [click["callback_query"]["id"]]


async def test_long_vietnamese_payload_travels_as_a_short_hash(bot):
    client, channel, agent, fake = bot
    await client.post(text_update("pick"))
    await channel.tasks.drain()
    markup = fake.sent_messages(111)[-1]["reply_markup"]
    data = [row[0]["callback_data"] for row in markup["inline_keyboard"]]
    assert data[0].startswith("#") and len(data[0].encode()) <= 64 and data[1] == "=/affirm"
    assert len(LONG_PAYLOAD.encode()) > 64
    await client.post(callback_update(data[0], reply_markup=markup))
    await channel.tasks.drain()
    assert agent.texts()[-1] == LONG_PAYLOAD  # resolved from the domain's buttons


async def test_hashed_payload_of_an_action_button_is_found_in_the_conversation(bot):
    client, channel, agent, fake = bot
    dynamic = '/check_status{"dossier_code": "000.00.15.H65-240312-0001", "ghi_chú": "hồ sơ của mẹ"}'
    agent.tracker_store.trackers["telegram:111"] = DialogueStateTracker.from_events("telegram:111", [
        BotUttered("Chọn hồ sơ", {"buttons": [{"title": "Hồ sơ 0001", "payload": dynamic}]})])
    await client.post(callback_update(encode_callback(dynamic)))
    # unknown hash: the clicked button's title is sent to NLU instead
    markup = {"inline_keyboard": [[{"text": "Lệ phí bao nhiêu", "callback_data": "#AAAAAAAAAAAAAAAA"}]]}
    await client.post(callback_update("#AAAAAAAAAAAAAAAA", reply_markup=markup))
    await channel.tasks.drain()
    assert agent.texts() == [dynamic, "Lệ phí bao nhiêu"]


async def test_photos_stickers_voice_and_files_get_a_polite_text_only_answer(bot):
    client, channel, agent, fake = bot
    for update in (photo_update(), sticker_update(), voice_update(), document_update(),
                   photo_update(caption="ảnh CCCD của tôi")):
        assert (await client.post(update)).status_code == 200
    await channel.tasks.drain()
    assert agent.received == []
    texts = [m["text"] for m in fake.sent_messages(111)]
    assert len(texts) == 5 and all(t.startswith(TEXT_ONLY) for t in texts)


async def test_edited_message_is_handled_as_a_new_message(bot):
    client, channel, agent, fake = bot
    await client.post(text_update("phí làm sổ đỏ", message_id=9))
    await client.post(text_update("phí sang tên sổ đỏ", message_id=9, edited=True))
    await channel.tasks.drain()
    assert agent.texts() == ["phí làm sổ đỏ", "phí sang tên sổ đỏ"]
    assert agent.received[1].metadata["telegram"]["edited"] is True


async def test_group_chat_answers_only_when_addressed_one_conversation_per_user(bot):
    client, channel, agent, fake = bot
    bot_user = {"id": fake.bot_id, "is_bot": True, "first_name": "Trợ lý", "username": fake.username}
    bot_message = {"message_id": 50, "from": bot_user, "chat": {"id": GROUP, "type": "supergroup", "title": "G"},
                   "date": 1700000000, "text": "Bạn cần hỗ trợ gì?"}
    ignored = [
        text_update("mọi người ơi mai họp lúc mấy giờ", user_id=201, chat_id=GROUP),
        text_update("/help@some_other_bot", user_id=201, chat_id=GROUP),
        photo_update(user_id=201, chat_id=GROUP),
    ]
    for update in ignored:
        response = await client.post(update)
        assert response.status_code == 200 and response.json()["status"] == "ignored"
    await client.post(mention_update("thủ tục khai sinh", fake.username, user_id=201, group_id=GROUP, message_id=61))
    await client.post(text_update("còn lệ phí thì sao", user_id=202, chat_id=GROUP, reply_to=bot_message,
                                  message_id=62))
    await client.post(text_update(f"/help@{fake.username}", user_id=203, chat_id=GROUP, message_id=63))
    await channel.tasks.drain()
    assert conversations(agent) == {  # one conversation per user in the group (they run concurrently)
        f"telegram:group:{GROUP}:201": ["thủ tục khai sinh"], f"telegram:group:{GROUP}:202": ["còn lệ phí thì sao"],
        f"telegram:group:{GROUP}:203": ["/help"]}
    sent = fake.sent_messages(GROUP)
    assert len(sent) == 3 and fake.sent_messages(201) == []  # replies go to the group, not the users
    assert sorted(m["reply_parameters"]["message_id"] for m in sent) == [61, 62, 63]


async def test_replayed_update_is_processed_once(bot):
    client, channel, agent, fake = bot
    update = text_update("tra cứu hồ sơ 000.00.15.H65-240312-0001")
    first = await client.post(update)
    replays = await asyncio.gather(*(client.post(update) for _ in range(6)))
    again = await client.post(update)
    await channel.tasks.drain()
    assert first.json()["status"] == "accepted"
    assert [r.status_code for r in replays] == [200] * 6 and again.status_code == 200
    assert {r.json()["status"] for r in [*replays, again]} == {"duplicate"}
    assert len(agent.received) == 1 and len(fake.sent_messages(111)) == 1


async def test_concurrent_first_deliveries_of_one_update_are_processed_once(bot):
    client, channel, agent, fake = bot
    update = text_update("giờ làm việc của trung tâm")
    results = await asyncio.gather(*(client.post(update) for _ in range(8)))
    await channel.tasks.drain()
    assert sorted(r.json()["status"] for r in results) == ["accepted"] + ["duplicate"] * 7
    assert len(agent.received) == 1 and len(fake.sent_messages(111)) == 1


async def test_flood_is_absorbed_with_one_polite_notice(sqlite_url, tg_env, monkeypatch):
    set_env(monkeypatch, {"USER_RATE_LIMIT_PER_MINUTE": 3})
    avoid_minute_boundary()
    agent, channel = EchoAgent(), make_channel()
    async with serve_channels([channel], agent) as base, httpx.AsyncClient() as http:
        client = Client(http, base)
        statuses = [(await client.post(text_update(f"tin số {i}", user_id=777))).json()["status"] for i in range(10)]
        other = await client.post(text_update("người khác", user_id=778))
        await channel.tasks.drain()
    assert statuses == ["accepted"] * 3 + ["limited"] * 7 and other.json()["status"] == "accepted"
    # in order within each conversation; the two users' conversations run concurrently
    assert conversations(agent) == {"telegram:777": ["tin số 0", "tin số 1", "tin số 2"],
                                    "telegram:778": ["người khác"]}
    texts = [m["text"] for m in tg_env.sent_messages(777)]
    assert len(texts) == 4 and sum(t.startswith(RATE_LIMITED) for t in texts) == 1


async def test_long_reply_is_split_on_paragraph_boundaries(bot):
    client, channel, agent, fake = bot
    await client.post(text_update("long"))
    await channel.tasks.drain()
    parts = [m["text"] for m in fake.sent_messages(111)]
    assert len(parts) >= 3 and all(len(p) <= 4096 for p in parts)
    assert all(p.startswith("Bước ") for p in parts)
    assert "\n\n".join(parts) == agent.long_reply.strip()


# -- sender: pacing, RetryAfter, Forbidden, errors ------------------------------------------------


async def test_register_webhook_sends_the_secret(tg_env):
    url = await register_webhook(get_settings())
    assert url == "https://chatbot.example.gov.vn/webhooks/telegram/webhook"
    assert tg_env.webhook["url"] == url
    assert tg_env.webhook["secret_token"] == WEBHOOK_SECRET
    assert tg_env.webhook["allowed_updates"] == ["message", "edited_message", "callback_query"]


def test_cli_set_webhook(tg_env, capsys):
    assert telegram_main(["set-webhook", "--url", "https://bot.example.gov.vn/webhooks/telegram/webhook"]) == 0
    assert "webhook set" in capsys.readouterr().out
    assert tg_env.webhook["url"] == "https://bot.example.gov.vn/webhooks/telegram/webhook"


def test_credentials_entry_and_from_credentials(tg_env, monkeypatch):
    settings = get_settings()
    assert MESSAGING_CHANNELS["telegram"].entry(settings) == {"access_token": tg_env.token, "webhook_secret": WEBHOOK_SECRET,
                                              "bot_username": tg_env.username}
    assert MESSAGING_CHANNELS["telegram"].entry(settings, as_env_refs=True)["access_token"] == "${TELEGRAM_BOT_TOKEN}"
    monkeypatch.delenv("TELEGRAM_WEBHOOK_SECRET")
    get_settings.cache_clear()
    assert MESSAGING_CHANNELS["telegram"].entry(get_settings()) is None
    with pytest.raises(RasaException):
        tg.TelegramInput.from_credentials({"access_token": tg_env.token})
    with pytest.raises(RasaException):
        tg.TelegramInput.from_credentials(None)
    with pytest.raises(RasaException):
        tg.TelegramInput.from_credentials({"access_token": tg_env.token, "webhook_secret": "has spaces!"})


def test_callback_encoding_limits():
    assert encode_callback("/greet") == "=/greet"
    assert decode_callback("=/greet") == ("/greet", None)
    vietnamese = "/inform{\"place\": \"xã Đông Cuông\"}"
    data = encode_callback(vietnamese)
    assert data.startswith("#") and len(data.encode()) == 17
    assert decode_callback(data) == (None, payload_key(vietnamese))
    assert len(encode_callback("/x" + "a" * 200).encode()) <= 64
