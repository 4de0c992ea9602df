"""Zalo OA API client: sends, error mapping, ZNS, OAuth token refresh (against the loopback fake)."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from sqlalchemy import select

from bot.conversations.admission import touch_user
from bot.db.models import ChatUser, OAuthToken
from bot.db.session import session_scope
from bot.settings import get_settings
from integrations.errors import (
    PermanentChannelError,
    QuotaExceeded,
    TokenError,
    TransientChannelError,
    UserUnreachable,
)
from integrations.zalo.client import ZaloClient
from integrations.zalo.tokens import ZaloTokenManager
from tests.channels.conftest import seed_zalo_tokens
from tests.channels.support import cs_texts
from tests.fakes.zalo_api import (
    APP_ID,
    APP_SECRET,
    PATH_CS,
    PATH_TOKEN,
)

TEXT_ONLY = "Xin lỗi, hiện tôi chỉ đọc được tin nhắn dạng chữ"
RATE_LIMITED = "Bạn đang gửi tin nhắn hơi nhanh"
WELCOME = "Cảm ơn bạn đã quan tâm"


def make_client(url: str, fake, **kw) -> ZaloClient:
    tokens = ZaloTokenManager(app_id=APP_ID, app_secret=APP_SECRET, oauth_base=fake.oauth_base,
                                   database_url=url)
    return ZaloClient(tokens, api_base=fake.api_base, zns_base=fake.zns_base, database_url=url,
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
    assert ZaloClient.button({"title": "Web", "url": "https://x.vn"}) == {
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
    client = ZaloClient.from_settings(get_settings(), database_url=sqlite_url)
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
    manager = ZaloTokenManager(app_id=APP_ID, app_secret=APP_SECRET, oauth_base=fake_zalo.oauth_base,
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
    managers = [ZaloTokenManager(app_id=APP_ID, app_secret=APP_SECRET, oauth_base=fake_zalo.oauth_base,
                                      database_url=db_url) for _ in range(racers)]
    tokens = await asyncio.gather(*(m.get_access_token() for m in managers))
    assert len(fake_zalo.refresh_calls()) == 1
    assert len(set(tokens)) == 1 and tokens[0] != "at-0"
    with session_scope(db_url) as session:
        row = session.execute(select(OAuthToken)).scalar_one()
    assert row.access_token == tokens[0] and row.refresh_token in fake_zalo.valid_refresh_tokens
    assert "rt-0" not in fake_zalo.valid_refresh_tokens  # the old one is spent
    # a restarted process, configured with the old env tokens, uses the stored pair
    restarted = ZaloTokenManager(app_id=APP_ID, app_secret=APP_SECRET, oauth_base=fake_zalo.oauth_base,
                                      seed_access_token="at-0", seed_refresh_token="rt-0", database_url=db_url)
    assert await restarted.get_access_token() == tokens[0]
    assert len(fake_zalo.refresh_calls()) == 1


async def test_first_start_seeds_from_env_and_refreshes(sqlite_url, fake_zalo):
    manager = ZaloTokenManager(app_id=APP_ID, app_secret=APP_SECRET, oauth_base=fake_zalo.oauth_base,
                                    seed_access_token="at-0", seed_refresh_token="rt-0", database_url=sqlite_url)
    token = await manager.get_access_token()
    assert token != "at-0" and len(fake_zalo.refresh_calls()) == 1
    empty = ZaloTokenManager(app_id=APP_ID, app_secret=APP_SECRET, oauth_base=fake_zalo.oauth_base,
                                  database_url=sqlite_url, provider="other")
    with pytest.raises(TokenError):
        await empty.get_access_token()


# -- credentials ----------------------------------------------------------------------------------
