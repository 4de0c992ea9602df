"""Zalo OA channel, client, ZNS and token refresh against a loopback fake of Zalo's APIs."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any, Dict, Optional

import httpx
import pytest
from rasa.shared.exceptions import RasaException
from sqlalchemy import select

from bot.cli.runtime import MESSAGING_CHANNELS
from bot.db.models import ChatUser
from bot.db.session import session_scope
from bot.settings import get_settings
from integrations.errors import (
    PermanentChannelError,
)
from integrations.zalo import channel as zalo
from integrations.zalo.client import normalize_phone
from integrations.zalo.signature import expected_signature, verify_signature
from tests.channels.conftest import seed_zalo_tokens, set_env
from tests.channels.support import EchoAgent, avoid_minute_boundary, cs_texts, serve_channels
from tests.fakes.zalo_api import (
    APP_ID,
    APP_SECRET,
    OA_SECRET_KEY,
    PATH_CS,
    follow_event,
    image_event,
    signed,
    sticker_event,
    text_event,
    zalo_signature,
)

TEXT_ONLY = "Xin lỗi, hiện tôi chỉ đọc được tin nhắn dạng chữ"
RATE_LIMITED = "Bạn đang gửi tin nhắn hơi nhanh"
WELCOME = "Cảm ơn bạn đã quan tâm"


def make_channel() -> zalo.ZaloInput:
    """The channel as ``rasa run`` builds it from the runtime credentials."""
    return zalo.ZaloInput.from_credentials(MESSAGING_CHANNELS["zalo"].entry(get_settings()))


class Client:
    """Posts (signed) events to the channel's webhook."""

    def __init__(self, http: httpx.AsyncClient, base: str) -> None:
        self.http, self.url = http, f"{base}/webhooks/zalo/webhook"

    async def post(self, event: Optional[Dict[str, Any]] = None, *, key: str = OA_SECRET_KEY,
                   raw: Optional[bytes] = None, headers: Optional[Dict[str, str]] = None) -> httpx.Response:
        if event is not None:
            body, hdrs = signed(event, oa_secret_key=key, body=raw)
        else:
            body, hdrs = raw or b"", {"Content-Type": "application/json"}
        return await self.http.post(self.url, content=body, headers={**hdrs, **(headers or {})})


@pytest.fixture
async def zbot(sqlite_url, zalo_env):
    """(client, channel, agent, fake) with the channel served on 127.0.0.1."""
    seed_zalo_tokens(sqlite_url)
    agent, channel = EchoAgent(), make_channel()
    async with serve_channels([channel], agent) as base, httpx.AsyncClient(timeout=10) as http:
        yield Client(http, base), channel, agent, zalo_env


# -- signature ------------------------------------------------------------------------------------


def test_signature_is_mac_of_app_id_body_timestamp_and_oa_secret():
    body = json.dumps(text_event("u1", "xin chào", timestamp="1700000000000"), ensure_ascii=False).encode()
    header = zalo_signature(APP_ID, body, "1700000000000", OA_SECRET_KEY)
    assert header == expected_signature(APP_ID, body, "1700000000000", OA_SECRET_KEY)
    assert verify_signature(APP_ID, body, "1700000000000", OA_SECRET_KEY, header)
    assert verify_signature(APP_ID, body, "1700000000000", OA_SECRET_KEY, header[4:])  # without "mac="
    assert verify_signature(APP_ID, body, "1700000000000", OA_SECRET_KEY, header.upper().replace("MAC=", "mac="))
    assert not verify_signature(APP_ID, body + b" ", "1700000000000", OA_SECRET_KEY, header)
    assert not verify_signature(APP_ID, body, "1700000000001", OA_SECRET_KEY, header)
    assert not verify_signature(APP_ID, body, "1700000000000", "other-key", header)
    assert not verify_signature(APP_ID, body, "1700000000000", OA_SECRET_KEY, None)


async def test_forged_tampered_and_stale_webhooks_are_rejected(zbot, caplog):
    client, channel, agent, fake = zbot
    caplog.set_level(logging.WARNING, logger="integrations.zalo")
    event = text_event("u1", "xin chào")
    assert (await client.post(event, key="forged-key")).status_code == 401
    body, headers = signed(event)
    tampered = body.replace("xin chào".encode(), "chuyển tiền".encode())
    assert (await client.http.post(client.url, content=tampered, headers=headers)).status_code == 401
    assert (await client.http.post(client.url, content=body, headers={"Content-Type": "application/json"})
            ).status_code == 401
    stale = text_event("u1", "xin chào", timestamp=str(int((time.time() - 3600) * 1000)))
    future = text_event("u1", "xin chào", timestamp=str(int((time.time() + 3600) * 1000)))
    assert (await client.post(stale)).status_code == 401
    assert (await client.post(future)).status_code == 401
    await channel.tasks.drain()
    assert agent.received == [] and fake.requests == []
    assert caplog.text.count("zalo webhook rejected with 401") == 5


async def test_malformed_unknown_and_oversized_events_get_4xx(zbot, caplog):
    client, channel, agent, fake = zbot
    caplog.set_level(logging.WARNING, logger="integrations.zalo")
    sig = {"X-ZEvent-Signature": "mac=00"}
    assert (await client.post(raw=b"{not json", headers=sig)).status_code == 400
    assert (await client.post(raw=b"[1, 2]", headers=sig)).status_code == 400
    assert (await client.post(raw=json.dumps({"event_name": "user_send_text"}).encode(), headers=sig)
            ).status_code == 400  # no timestamp
    unknown = text_event("u1", "x")
    unknown["event_name"] = "user_send_hologram"
    assert (await client.post(unknown)).status_code == 400
    no_msg_id = text_event("u1", "x")
    del no_msg_id["message"]["msg_id"]
    assert (await client.post(no_msg_id)).status_code == 400
    huge = text_event("u1", "a" * (get_settings().max_webhook_bytes + 1))
    assert (await client.post(huge)).status_code == 413
    echo = text_event("u1", "tin OA gửi")
    echo["event_name"] = "oa_send_text"
    ignored = await client.post(echo)
    assert ignored.status_code == 200 and ignored.json()["status"] == "ignored"
    await channel.tasks.drain()
    assert agent.received == [] and fake.requests == []
    assert caplog.text.count("zalo webhook rejected") == 6
    assert (await client.post(text_event("u1", "vẫn hoạt động"))).status_code == 200
    await channel.tasks.drain()
    assert agent.texts() == ["vẫn hoạt động"]


# -- conversations --------------------------------------------------------------------------------


async def test_text_conversation_with_buttons(db_url, zalo_env):
    seed_zalo_tokens(db_url)
    agent, channel = EchoAgent(), make_channel()
    async with serve_channels([channel], agent) as base, httpx.AsyncClient() as http:
        client = Client(http, base)
        response = await client.post(text_event("8412", "thủ tục cấp lại CCCD", msg_id="m-1"))
        assert response.status_code == 200 and response.json()["status"] == "accepted"
        await client.post(text_event("8412", "/greet", msg_id="m-2"))
        await channel.tasks.drain()
        welcome = zalo_env.cs_messages("8412")[1]["message"]
        buttons = welcome["attachment"]["payload"]["buttons"]
        # the citizen taps "Tra cứu hồ sơ": Zalo posts the hidden payload as a user message
        tap = next(b for b in buttons if b["title"] == "Tra cứu hồ sơ")
        await client.post(text_event("8412", tap["payload"], msg_id="m-3"))
        await channel.tasks.drain()
    assert [(m.sender_id, m.text, m.input_channel) for m in agent.received] == [
        ("zalo:8412", "thủ tục cấp lại CCCD", "zalo"), ("zalo:8412", "/greet", "zalo"),
        ("zalo:8412", "/check_status", "zalo")]
    assert cs_texts(zalo_env, "8412")[0] == "Bạn vừa hỏi: thủ tục cấp lại CCCD"
    assert welcome["text"].startswith(WELCOME)
    assert buttons == [{"title": "Hướng dẫn sử dụng", "type": "oa.query.hide", "payload": "/help"},
                       {"title": "Tra cứu hồ sơ", "type": "oa.query.hide", "payload": "/check_status"},
                       {"title": "Liên hệ", "type": "oa.query.hide", "payload": "/ask_contact"}]
    assert {r.header("access_token") for r in zalo_env.calls(lambda r: r.path == PATH_CS)} == {"at-0"}
    with session_scope(db_url) as session:
        user = session.execute(select(ChatUser).where(ChatUser.channel == "zalo")).scalar_one()
        assert user.channel_user_id == "8412" and user.last_interaction_at is not None


async def test_follow_welcomes_and_unfollow_marks_unreachable(db_url, zalo_env):
    seed_zalo_tokens(db_url)
    agent, channel = EchoAgent(), make_channel()
    async with serve_channels([channel], agent) as base, httpx.AsyncClient() as http:
        client = Client(http, base)
        follow = follow_event("9001")
        assert (await client.post(follow)).json()["status"] == "accepted"
        assert (await client.post(follow)).json()["status"] == "duplicate"  # Zalo retried it
        await channel.tasks.drain()
        with session_scope(db_url) as session:
            assert session.execute(select(ChatUser.reachable).where(ChatUser.channel_user_id == "9001")).scalar_one()
        await client.post(follow_event("9001", unfollow=True))
        await channel.tasks.drain()
    [welcome] = zalo_env.cs_messages("9001")
    assert welcome["message"]["text"].startswith(WELCOME) and len(welcome["message"]["attachment"]["payload"][
        "buttons"]) == 3
    assert agent.received == []
    with session_scope(db_url) as session:
        user = session.execute(select(ChatUser).where(ChatUser.channel_user_id == "9001")).scalar_one()
        assert (user.reachable, user.unreachable_reason) == (False, "unfollowed")


async def test_images_and_stickers_get_a_polite_text_only_answer(zbot):
    client, channel, agent, fake = zbot
    assert (await client.post(image_event("77"))).status_code == 200
    assert (await client.post(sticker_event("77"))).status_code == 200
    await channel.tasks.drain()
    texts = cs_texts(fake, "77")
    assert len(texts) == 2 and all(t.startswith(TEXT_ONLY) for t in texts) and agent.received == []


async def test_replayed_msg_id_is_processed_once(zbot):
    client, channel, agent, fake = zbot
    event = text_event("55", "lệ phí đăng ký kết hôn", msg_id="a1b2c3")
    results = await asyncio.gather(*(client.post(event) for _ in range(6)))
    later = await client.post(event)
    await channel.tasks.drain()
    assert sorted(r.json()["status"] for r in results) == ["accepted"] + ["duplicate"] * 5
    assert later.json()["status"] == "duplicate"
    assert len(agent.received) == 1 and len(fake.cs_messages("55")) == 1


async def test_flood_is_absorbed_with_one_polite_notice(sqlite_url, zalo_env, monkeypatch):
    set_env(monkeypatch, {"USER_RATE_LIMIT_PER_MINUTE": 4})
    seed_zalo_tokens(sqlite_url)
    avoid_minute_boundary()
    agent, channel = EchoAgent(), make_channel()
    async with serve_channels([channel], agent) as base, httpx.AsyncClient() as http:
        client = Client(http, base)
        statuses = [(await client.post(text_event("66", f"tin {i}"))).json()["status"] for i in range(12)]
        await channel.tasks.drain()
    assert statuses == ["accepted"] * 4 + ["limited"] * 8
    texts = cs_texts(zalo_env, "66")
    assert len(agent.received) == 4 and len(texts) == 5
    assert sum(t.startswith(RATE_LIMITED) for t in texts) == 1


async def test_overload_is_refused_without_consuming_the_message(zbot):
    client, channel, agent, fake = zbot
    event = text_event("99", "giờ làm việc", msg_id="busy-1")
    channel.max_in_flight = 0
    assert (await client.post(event)).status_code == 503
    channel.max_in_flight = 1000
    assert (await client.post(event)).json()["status"] == "accepted"  # Zalo's retry is processed
    await channel.tasks.drain()
    assert agent.texts() == ["giờ làm việc"]


async def test_webhook_answers_before_the_slow_work_is_done(zbot):
    client, channel, agent, fake = zbot
    original = agent.handle_message

    async def slow(message):
        await asyncio.sleep(1.5)
        await original(message)

    agent.handle_message = slow
    started = time.monotonic()
    response = await client.post(text_event("88", "hồ sơ của tôi đến đâu rồi"))
    assert response.status_code == 200 and time.monotonic() - started < 0.5
    assert fake.cs_messages("88") == []
    await channel.tasks.drain()
    assert cs_texts(fake, "88") == ["Bạn vừa hỏi: hồ sơ của tôi đến đâu rồi"]


# -- client: messages, errors ---------------------------------------------------------------------


def test_credentials_entry_and_from_credentials(zalo_env, monkeypatch):
    settings = get_settings()
    assert MESSAGING_CHANNELS["zalo"].entry(settings) == {"app_id": APP_ID, "oa_secret_key": OA_SECRET_KEY,
                                                "app_secret": APP_SECRET}
    assert MESSAGING_CHANNELS["zalo"].entry(settings, as_env_refs=True)["oa_secret_key"] == "${ZALO_OA_SECRET_KEY}"
    monkeypatch.delenv("ZALO_OA_SECRET_KEY")
    get_settings.cache_clear()
    assert MESSAGING_CHANNELS["zalo"].entry(get_settings()) is None
    with pytest.raises(RasaException):
        zalo.ZaloInput.from_credentials({"app_id": APP_ID})
    with pytest.raises(RasaException):
        zalo.ZaloInput.from_credentials({})


def test_phone_normalisation():
    assert normalize_phone("0912.345.678") == "84912345678"
    assert normalize_phone("+84 912 345 678") == "84912345678"
    with pytest.raises(PermanentChannelError):
        normalize_phone("112")
