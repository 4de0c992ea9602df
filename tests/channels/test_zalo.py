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

from bot.db.models import ChatUser, OAuthToken
from bot.db.session import session_scope
from bot.settings import get_settings
from integrations import zalo
from integrations.channel_common import touch_user
from integrations.errors import (
    PermanentChannelError,
    QuotaExceeded,
    TokenError,
    TransientChannelError,
    UserUnreachable,
)
from tests.channels.conftest import seed_zalo_tokens, set_env
from tests.channels.support import EchoAgent, avoid_minute_boundary, serve_channels
from tests.fakes.zalo_api import (
    APP_ID,
    APP_SECRET,
    OA_SECRET_KEY,
    PATH_CS,
    PATH_TOKEN,
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
    return zalo.ZaloInput.from_credentials(zalo.credentials_entry(get_settings()))


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


def cs_texts(fake, user_id: str):
    return [m["message"].get("text") for m in fake.cs_messages(user_id)]


# -- signature ------------------------------------------------------------------------------------


def test_signature_is_mac_of_app_id_body_timestamp_and_oa_secret():
    body = json.dumps(text_event("u1", "xin chào", timestamp="1700000000000"), ensure_ascii=False).encode()
    header = zalo_signature(APP_ID, body, "1700000000000", OA_SECRET_KEY)
    assert header == zalo.expected_signature(APP_ID, body, "1700000000000", OA_SECRET_KEY)
    assert zalo.verify_signature(APP_ID, body, "1700000000000", OA_SECRET_KEY, header)
    assert zalo.verify_signature(APP_ID, body, "1700000000000", OA_SECRET_KEY, header[4:])  # without "mac="
    assert zalo.verify_signature(APP_ID, body, "1700000000000", OA_SECRET_KEY, header.upper().replace("MAC=", "mac="))
    assert not zalo.verify_signature(APP_ID, body + b" ", "1700000000000", OA_SECRET_KEY, header)
    assert not zalo.verify_signature(APP_ID, body, "1700000000001", OA_SECRET_KEY, header)
    assert not zalo.verify_signature(APP_ID, body, "1700000000000", "other-key", header)
    assert not zalo.verify_signature(APP_ID, body, "1700000000000", OA_SECRET_KEY, None)


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


def make_client(url: str, fake, **kw) -> zalo.ZaloClient:
    tokens = zalo.ZaloTokenManager(app_id=APP_ID, app_secret=APP_SECRET, oauth_base=fake.oauth_base,
                                   database_url=url)
    return zalo.ZaloClient(tokens, api_base=fake.api_base, zns_base=fake.zns_base, database_url=url,
                           **{"retry_backoff": 0.05, "timeout": 5, **kw})


async def test_send_text_splits_and_buttons_are_capped(sqlite_url, fake_zalo):
    seed_zalo_tokens(sqlite_url)
    client = make_client(sqlite_url, fake_zalo)
    text = "\n\n".join(f"Mục {i}: " + "giấy tờ cần chuẩn bị " * 12 for i in range(18))
    await client.send_text("u1", text)
    parts = cs_texts(fake_zalo, "u1")
    assert len(parts) >= 3 and all(len(p) <= 2000 for p in parts) and "\n\n".join(parts) == text.strip()
    buttons = [{"title": f"Lựa chọn {i}", "payload": f"/inform{{\"n\": {i}}}"} for i in range(6)]
    buttons.append({"title": "Cổng dịch vụ công", "url": "https://dichvucong.gov.vn"})
    buttons.insert(0, {"title": "Có", "payload": "Có"})
    await client.send_buttons("u2", "Bạn chọn mục nào?", buttons)
    sent = fake_zalo.cs_messages("u2")[0]["message"]
    kinds = [b["type"] for b in sent["attachment"]["payload"]["buttons"]]
    assert sent["text"] == "Bạn chọn mục nào?" and kinds == ["oa.query.show"] + ["oa.query.hide"] * 4
    assert zalo.ZaloClient.button({"title": "Web", "url": "https://x.vn"}) == {
        "title": "Web", "type": "oa.open.url", "payload": {"url": "https://x.vn"}}
    await client.close()


async def test_zalo_error_codes_map_to_typed_errors(sqlite_url, fake_zalo):
    seed_zalo_tokens(sqlite_url)
    with session_scope(sqlite_url) as session:
        touch_user(session, "zalo", "u-nf")
        touch_user(session, "zalo", "u-old")
    client = make_client(sqlite_url, fake_zalo)
    fake_zalo.set_unreachable("u-old", -230)
    fake_zalo.set_unreachable("u-nf", -213)
    with pytest.raises(UserUnreachable) as info:
        await client.send_text("u-old", "nhắc lịch")
    assert info.value.reason == "outside_window"
    with pytest.raises(UserUnreachable) as info:
        await client.send_text("u-nf", "nhắc lịch")
    assert info.value.reason == "not_follower"
    with session_scope(sqlite_url) as session:
        rows = dict(session.execute(select(ChatUser.channel_user_id, ChatUser.reachable)).all())
    assert rows == {"u-nf": False, "u-old": True}  # outside the window: still reachable by ZNS
    fake_zalo.fail_next(error=-211)
    with pytest.raises(QuotaExceeded) as quota:
        await client.send_text("u1", "x")
    assert 0 < quota.value.retry_after <= 86_400
    fake_zalo.fail_next(error=-201)
    with pytest.raises(PermanentChannelError):
        await client.send_text("u1", "x")
    fake_zalo.reset()
    fake_zalo.fail_next(error=-32)  # rate limit: Zalo refused it, so it is retried
    assert await client.send_text("u1", "qua được lỗi tạm thời")
    assert [r.status for r in fake_zalo.calls(lambda r: r.path == PATH_CS)] == [200, 200]
    fake_zalo.reset()
    fake_zalo.fail_next(status=500)  # Zalo got the request: it may have gone out, so it is not repeated
    with pytest.raises(TransientChannelError) as info:
        await client.send_text("u1", "x")
    assert info.value.maybe_delivered is True and len(fake_zalo.calls(lambda r: r.path == PATH_CS)) == 1
    fake_zalo.reset()
    fake_zalo.fail_next(status=429, retry_after=1)
    started = time.monotonic()
    await client.send_text("u1", "sau 429")
    assert time.monotonic() - started >= 0.95 and len(fake_zalo.cs_messages("u1")) == 1
    fake_zalo.fail_next(5, status=502)
    with pytest.raises(TransientChannelError):
        await client.send_text("u1", "x")
    fake_zalo.clear_failures()
    await client.close()


async def test_read_timeout_is_not_retried(sqlite_url, fake_zalo):
    seed_zalo_tokens(sqlite_url)
    client = make_client(sqlite_url, fake_zalo, timeout=0.3)
    fake_zalo.delay = 1.0
    with pytest.raises(TransientChannelError) as info:
        await client.send_text("u1", "x")
    fake_zalo.delay = 0
    assert info.value.maybe_delivered and len(fake_zalo.calls(lambda r: r.path == PATH_CS)) == 1
    await client.close()


async def test_zns_template_message(sqlite_url, zalo_env):
    seed_zalo_tokens(sqlite_url)
    client = zalo.ZaloClient.from_settings(get_settings(), database_url=sqlite_url)
    msg_id = await client.send_zns("0912 345 678", "301234", {"ma_ho_so": "000.00.15.H65-240312-0001",
                                                               "ngay_hen": "15/03/2024"}, "notice-42")
    assert msg_id
    [sent] = zalo_env.zns_messages()
    assert sent == {"phone": "84912345678", "template_id": "301234", "tracking_id": "notice-42",
                    "template_data": {"ma_ho_so": "000.00.15.H65-240312-0001", "ngay_hen": "15/03/2024"}}
    await client.send_zns("+84 987 654 321", None, {"x": "y"}, "t2")  # default template from settings
    assert zalo_env.zns_messages()[-1]["template_id"] == "301234"
    zalo_env.set_unreachable("84911111111", -118)
    with pytest.raises(UserUnreachable) as info:
        await client.send_zns("0911111111", "301234", {}, "t3")
    assert info.value.reason == "no_account"
    with pytest.raises(PermanentChannelError):
        await client.send_zns("12345", "301234", {}, "t4")
    zalo_env.fail_next(error=-144, paths=["/message/template"])
    with pytest.raises(QuotaExceeded):
        await client.send_zns("0912345678", "301234", {}, "t5")
    await client.close()


# -- tokens ---------------------------------------------------------------------------------------


async def test_expired_token_is_refreshed_once_and_the_call_retried(db_url, fake_zalo):
    seed_zalo_tokens(db_url)
    fake_zalo.expire_access_tokens()  # Zalo no longer accepts at-0
    client = make_client(db_url, fake_zalo)
    assert await client.send_text("u1", "xin chào")
    [refresh] = fake_zalo.refresh_calls()
    assert refresh.header("secret_key") == APP_SECRET
    assert refresh.params == {"refresh_token": "rt-0", "app_id": APP_ID, "grant_type": "refresh_token"}
    used = [r.header("access_token") for r in fake_zalo.calls(lambda r: r.path == PATH_CS)]
    assert used[0] == "at-0" and used[-1] != "at-0" and len(fake_zalo.cs_messages("u1")) == 1
    with session_scope(db_url) as session:
        row = session.execute(select(OAuthToken)).scalar_one()
        assert (row.access_token, row.refresh_token) == (used[-1], f"rt-{used[-1].split('-')[1]}")
    # still rejected after the refresh: TokenError, no loop
    fake_zalo.expire_access_tokens()
    fake_zalo.valid_refresh_tokens.clear()
    with pytest.raises(TokenError):
        await client.send_text("u1", "xin chào")
    await client.close()


async def test_token_is_refreshed_ahead_of_expiry(sqlite_url, fake_zalo, caplog):
    seed_zalo_tokens(sqlite_url, expires_in_s=600)  # 10 minutes left, margin is 1 hour
    manager = zalo.ZaloTokenManager(app_id=APP_ID, app_secret=APP_SECRET, oauth_base=fake_zalo.oauth_base,
                                    database_url=sqlite_url)
    fake_zalo.fail_next(status=500, paths=[PATH_TOKEN])
    caplog.set_level(logging.WARNING, logger="integrations.zalo")
    assert await manager.get_access_token() == "at-0"  # refresh failed, current token still valid
    assert "refresh failed" in caplog.text
    assert await manager.get_access_token() == "at-0" and len(fake_zalo.refresh_calls()) == 1  # cooling down
    manager._next_attempt = 0.0
    fresh = await manager.get_access_token()
    assert fresh != "at-0" and len(fake_zalo.refresh_calls()) == 2
    assert await manager.get_access_token() == fresh and len(fake_zalo.refresh_calls()) == 2  # cached


@pytest.mark.parametrize("racers", [2, 5])
async def test_concurrent_refresh_reaches_zalo_exactly_once(db_url, fake_zalo, racers):
    """Replicas race to refresh an expiring token: one refresh call, everyone gets the new token."""
    seed_zalo_tokens(db_url, expires_in_s=60)
    fake_zalo.refresh_delay = 0.5  # the winner holds the row lock while Zalo answers
    managers = [zalo.ZaloTokenManager(app_id=APP_ID, app_secret=APP_SECRET, oauth_base=fake_zalo.oauth_base,
                                      database_url=db_url) for _ in range(racers)]
    tokens = await asyncio.gather(*(m.get_access_token() for m in managers))
    assert len(fake_zalo.refresh_calls()) == 1
    assert len(set(tokens)) == 1 and tokens[0] != "at-0"
    with session_scope(db_url) as session:
        row = session.execute(select(OAuthToken)).scalar_one()
    assert row.access_token == tokens[0] and row.refresh_token in fake_zalo.valid_refresh_tokens
    assert "rt-0" not in fake_zalo.valid_refresh_tokens  # the old one is spent
    # a restarted process, configured with the old env tokens, uses the stored pair
    restarted = zalo.ZaloTokenManager(app_id=APP_ID, app_secret=APP_SECRET, oauth_base=fake_zalo.oauth_base,
                                      seed_access_token="at-0", seed_refresh_token="rt-0", database_url=db_url)
    assert await restarted.get_access_token() == tokens[0]
    assert len(fake_zalo.refresh_calls()) == 1


async def test_first_start_seeds_from_env_and_refreshes(sqlite_url, fake_zalo):
    manager = zalo.ZaloTokenManager(app_id=APP_ID, app_secret=APP_SECRET, oauth_base=fake_zalo.oauth_base,
                                    seed_access_token="at-0", seed_refresh_token="rt-0", database_url=sqlite_url)
    token = await manager.get_access_token()
    assert token != "at-0" and len(fake_zalo.refresh_calls()) == 1
    empty = zalo.ZaloTokenManager(app_id=APP_ID, app_secret=APP_SECRET, oauth_base=fake_zalo.oauth_base,
                                  database_url=sqlite_url, provider="other")
    with pytest.raises(TokenError):
        await empty.get_access_token()


# -- credentials ----------------------------------------------------------------------------------


def test_credentials_entry_and_from_credentials(zalo_env, monkeypatch):
    settings = get_settings()
    assert zalo.credentials_entry(settings) == {"app_id": APP_ID, "oa_secret_key": OA_SECRET_KEY,
                                                "app_secret": APP_SECRET}
    assert zalo.credentials_entry(settings, as_env_refs=True)["oa_secret_key"] == "${ZALO_OA_SECRET_KEY}"
    monkeypatch.delenv("ZALO_OA_SECRET_KEY")
    get_settings.cache_clear()
    assert zalo.credentials_entry(get_settings()) is None
    with pytest.raises(RasaException):
        zalo.ZaloInput.from_credentials({"app_id": APP_ID})
    with pytest.raises(RasaException):
        zalo.ZaloInput.from_credentials({})


def test_phone_normalisation():
    assert zalo.normalize_phone("0912.345.678") == "84912345678"
    assert zalo.normalize_phone("+84 912 345 678") == "84912345678"
    with pytest.raises(PermanentChannelError):
        zalo.normalize_phone("112")
