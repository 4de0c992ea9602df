"""Reminders delivered through the real channel clients to loopback fakes of the Telegram
Bot API and the Zalo OA / ZNS API (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from typing import List, Tuple

import pytest
import sqlalchemy as sa

from bot.reminders.clock import to_db
from bot.reminders.delivery import Router
from bot.reminders.service import build_router
from bot.settings import get_settings
from integrations.senders import TelegramTextSender, ZaloTextSender, ZnsTemplateSender, channel_senders
from integrations.telegram.client import TelegramSender
from integrations.zalo.client import ZaloClient
from integrations.zalo.tokens import ZaloTokenManager
from tests.fakes import zalo_api
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.zalo_api import FakeZaloAPI
from tests.support.reminders import ZONE, World, local

pytestmark = pytest.mark.usefixtures("reminder_env")

CHAT = 4242


@pytest.fixture
def tg():
    with FakeTelegramAPI() as fake:
        yield fake


@pytest.fixture
def zalo():
    with FakeZaloAPI() as fake:
        yield fake


@pytest.fixture
async def tg_world(world: World, tg: FakeTelegramAPI):
    sender = TelegramSender(tg.token, api_base=tg.base_url, chat_interval=0, global_rate=1000, max_retries=1,
                            timeout=5, database_url=world.url)
    world.router_override = Router(text_senders={"telegram": TelegramTextSender(sender)})
    yield world
    await sender.close()


@pytest.fixture
async def zalo_world(world: World, zalo: FakeZaloAPI):
    tokens = ZaloTokenManager(app_id=zalo_api.APP_ID, app_secret=zalo_api.APP_SECRET, oauth_base=zalo.base_url,
                              seed_access_token="at-0", seed_refresh_token="rt-0", database_url=world.url)
    client = ZaloClient(tokens, api_base=zalo.base_url, zns_base=zalo.base_url, timeout=5, max_retries=0,
                        database_url=world.url)
    world.router_override = Router(text_senders={"zalo": ZaloTextSender(client)}, zns=ZnsTemplateSender(client),
                                   zns_template_id="243921")
    yield world
    await client.close()


def _texts(tg: FakeTelegramAPI) -> List[str]:
    return [m["text"] for m in tg.sent_messages(chat_id=CHAT)]


async def test_time_travel_from_received_to_returned(tg_world: World, tg: FakeTelegramAPI):
    """One dossier over 19 simulated days, a sweep every simulated hour; every push checked.

    Appointment Thu 02/05/2024 straddles the 27/4–1/5 holidays; Sat 04/05 is a make-up working day.
    """
    world = tg_world
    world.clock.set("2024-04-22 07:00")
    service = world.service()
    dossier = None
    user = world.user("telegram", str(CHAT))
    log: List[Tuple[str, str]] = []

    def at(moment: str) -> bool:
        return world.clock() == local(moment)

    end = local("2024-05-11 00:00")
    while world.clock() < end:
        if at("2024-04-22 07:00"):
            dossier = world.dossier("received", appointment="2024-05-02", procedure_name="Cấp giấy phép xây dựng",
                                    procedure_code="1.009972", agency_name="Trung tâm Phục vụ hành chính công",
                                    pickup_place="Quầy số 3, Trung tâm Phục vụ hành chính công tỉnh")
        if at("2024-04-22 08:00"):
            assert world.subscribe(user, dossier) == "utter_subscribed"
        if at("2024-04-23 10:00"):
            world.set_status(dossier, "need_documents",
                             missing_documents=["Bản vẽ thiết kế có chữ ký", "Bản sao giấy chứng nhận QSDĐ"])
        if at("2024-04-24 14:00"):
            world.set_status(dossier, "received", missing_documents=[])
        if at("2024-04-24 15:00"):
            world.set_status(dossier, "in_progress")
        if at("2024-04-25 09:00"):
            world.set_status(dossier, "waiting_fee", fee_due_vnd=150000)
        if at("2024-04-25 16:00"):
            world.set_status(dossier, "in_progress")
        if at("2024-05-03 11:00"):
            world.update(dossier, new_appointment_date=dt.date(2024, 5, 7))
        if at("2024-05-07 10:00"):
            world.set_status(dossier, "ready")
        if at("2024-05-08 21:00"):
            world.set_status(dossier, "returned")
        before = len(_texts(tg))
        await service.run_once_async()
        for text in _texts(tg)[before:]:
            log.append((world.clock().astimezone(ZONE).strftime("%a %d/%m %H:%M"), text))
        world.clock.advance(hours=1)

    code = world.code(dossier)
    expected = [
        ("Tue 23/04 10:00", "cần bổ sung giấy tờ sau:\n- Bản vẽ thiết kế có chữ ký\n- Bản sao giấy chứng nhận QSDĐ"),
        ("Wed 24/04 14:00", "đã được Trung tâm Phục vụ hành chính công tiếp nhận. Ngày hẹn trả kết quả: thứ Năm, 02/05/2024"),
        ("Thu 25/04 09:00", "đang chờ Ông/Bà nộp phí, lệ phí: 150.000 đồng"),
        ("Fri 26/04 07:00", "Nhắc lịch: thứ Năm, 02/05/2024 là ngày hẹn trả kết quả"),
        ("Thu 02/05 07:00", "Hôm nay (02/05/2024) là ngày hẹn trả kết quả"),
        ("Fri 03/05 07:00", "đã quá ngày hẹn 02/05/2024 nhưng chưa có kết quả"),
        ("Fri 03/05 11:00", "chưa có kết quả đúng hẹn 02/05/2024. Ngày hẹn mới: thứ Ba, 07/05/2024"),
        ("Mon 06/05 07:00", "Nhắc lịch: thứ Ba, 07/05/2024 là ngày hẹn trả kết quả"),
        ("Tue 07/05 07:00", "Hôm nay (07/05/2024) là ngày hẹn trả kết quả"),
        ("Tue 07/05 10:00", "đã có kết quả. Mời Ông/Bà đến nhận tại Quầy số 3, Trung tâm Phục vụ hành chính công tỉnh"),
        ("Thu 09/05 07:00", "đã được trả kết quả"),
    ]
    assert [when for when, _ in log] == [when for when, _ in expected], log
    for (when, text), (_, part) in zip(log, expected):
        assert part in text, (when, text)
        assert code in text and "Cấp giấy phép xây dựng" in text
    assert {n.state for n in world.notices()} == {"sent"}


async def test_each_notice_kind_reaches_telegram_once(tg_world: World, tg: FakeTelegramAPI):
    world = tg_world
    user = world.user("telegram", str(CHAT))
    late = world.dossier("in_progress", appointment="2024-03-01")
    tomorrow = world.dossier("ready", appointment="2024-03-05")
    today = world.dossier("received", appointment="2024-03-04")
    changed = world.dossier("in_progress", appointment="2024-03-20")
    for dossier in (late, tomorrow, today, changed):
        world.subscribe(user, dossier)
    world.clock.advance(minutes=10)
    world.set_status(changed, "refused", note="Thửa đất nằm trong quy hoạch")
    service = world.service()
    for _ in range(3):
        await service.run_once_async()
        world.clock.advance(minutes=5)
    texts = _texts(tg)
    assert len(texts) == 4
    joined = "\n".join(texts)
    assert f"hồ sơ {world.code(late)} (Đăng ký khai sinh) đã quá ngày hẹn 01/03/2024" in joined
    assert "Nhắc lịch: thứ Ba, 05/03/2024" in joined
    assert "Hôm nay (04/03/2024)" in joined
    assert "Lý do: Thửa đất nằm trong quy hoạch." in joined


async def test_telegram_500_may_have_been_delivered_so_it_is_never_resent(tg_world: World, tg: FakeTelegramAPI):
    world = tg_world
    user = world.user("telegram", str(CHAT))
    dossier = world.dossier("in_progress")
    world.subscribe(user, dossier)
    world.clock.advance(hours=1)
    world.set_status(dossier, "ready")
    tg.fail_next(1, status=500, methods=["sendMessage"])  # Telegram got the request: it may have gone out
    service = world.service()
    result = await service.run_once_async()
    assert result.delivered.unconfirmed == 1 and result.delivered.retried == 0
    for _ in range(3):
        world.clock.advance(hours=1)
        await service.run_once_async()
    assert len(tg.api_calls("sendMessage")) == 1
    (notice,) = world.notices()
    assert notice.state == "unconfirmed" and "Internal Server Error" in notice.last_error


async def test_telegram_429_retry_after_is_honoured(tg_world: World, tg: FakeTelegramAPI):
    world = tg_world
    user = world.user("telegram", str(CHAT))
    dossier = world.dossier("in_progress")
    world.subscribe(user, dossier)
    world.clock.advance(hours=1)
    world.set_status(dossier, "ready")
    tg.fail_next(1, status=429, retry_after=600, methods=["sendMessage"])  # longer than the sender waits
    service = world.service()
    await service.run_once_async()
    (notice,) = world.notices()
    assert notice.state == "pending" and notice.next_attempt_at == to_db(world.clock() + dt.timedelta(seconds=600))
    world.clock.advance(seconds=600)
    await service.run_once_async()
    assert len(_texts(tg)) == 1


async def test_user_who_blocked_the_bot_stops_receiving(tg_world: World, tg: FakeTelegramAPI):
    world = tg_world
    user = world.user("telegram", str(CHAT))
    dossier = world.dossier("in_progress")
    world.subscribe(user, dossier)
    world.clock.advance(hours=1)
    world.set_status(dossier, "ready")
    tg.block_chat(CHAT)
    service = world.service()
    await service.run_once_async()
    chat_user = world.chat_user(user)
    assert chat_user.reachable is False
    world.clock.advance(days=1)
    world.set_status(dossier, "returned")
    await service.run_once_async()
    world.clock.advance(days=1)
    await service.run_once_async()
    assert len(tg.api_calls("sendMessage")) == 1  # the one refused
    assert [n.state for n in world.notices()] == ["undeliverable"]


async def test_zalo_window_zns_fallback_and_unfollow(zalo_world: World, zalo: FakeZaloAPI):
    world = zalo_world
    world.clock.set("2024-03-01 09:00")
    recent = world.user("zalo", "zu-recent")
    old = world.user("zalo", "zu-old")
    gone = world.user("zalo", "zu-gone")
    d_recent, d_old, d_gone = (world.dossier("in_progress", applicant_phone=p)
                               for p in ("0912000001", "0912000002", "0912000003"))
    world.subscribe(recent, d_recent)
    world.subscribe(old, d_old)
    world.subscribe(gone, d_gone)
    with world.sessions() as s, s.begin():
        s.execute(sa.text("UPDATE chat_users SET last_interaction_at = :t WHERE id = :i"),
                  {"t": to_db(local("2024-02-20 09:00")), "i": old})
    zalo.set_unreachable("zu-gone", -213)  # unfollowed the OA
    world.clock.set("2024-03-04 10:00")
    for dossier in (d_recent, d_old, d_gone):
        world.set_status(dossier, "ready")
    service = world.service()
    await service.run_once_async()
    (cs,) = zalo.cs_messages()
    assert cs["recipient"]["user_id"] == "zu-recent" and "đã có kết quả" in cs["message"]["text"]
    (zns,) = zalo.zns_messages()
    assert zns["phone"] == "84912000002" and zns["template_id"] == "243921"
    assert zns["template_data"]["dossier_code"] == world.code(d_old)
    assert world.chat_user(gone).reachable is False
    states = {n.chat_user_id: n.state for n in world.notices()}
    assert states == {recent: "sent", old: "sent", gone: "undeliverable"}

    # Zalo itself says "outside the window" (-230): the notice goes by ZNS instead
    zalo.set_unreachable("zu-recent", -230)
    world.clock.advance(hours=2)
    world.set_status(d_recent, "returned")
    await service.run_once_async()
    assert [m["phone"] for m in zalo.zns_messages()] == ["84912000002", "84912000001"]
    assert world.chat_user(recent).reachable is True


async def test_zalo_429_is_retried(zalo_world: World, zalo: FakeZaloAPI):
    world = zalo_world
    user = world.user("zalo", "zu-1")
    dossier = world.dossier("in_progress")
    world.subscribe(user, dossier)
    world.clock.advance(hours=1)
    world.set_status(dossier, "ready")
    zalo.fail_next(1, status=429, retry_after=120, paths=[zalo_api.PATH_CS])
    service = world.service()
    await service.run_once_async()
    assert zalo.cs_messages() == []
    world.clock.advance(seconds=120)
    await service.run_once_async()
    assert len(zalo.cs_messages()) == 1


async def test_router_from_settings_reaches_the_fakes(world: World, tg: FakeTelegramAPI, zalo: FakeZaloAPI,
                                                      monkeypatch: pytest.MonkeyPatch):
    env = {
        "DATABASE_URL": world.url, "TELEGRAM_BOT_TOKEN": tg.token, "TELEGRAM_API_BASE": tg.base_url,
        "TELEGRAM_CHAT_INTERVAL_S": "0", "ZALO_APP_ID": zalo_api.APP_ID, "ZALO_APP_SECRET": zalo_api.APP_SECRET,
        "ZALO_OA_SECRET_KEY": zalo_api.OA_SECRET_KEY, "ZALO_ACCESS_TOKEN": "at-0", "ZALO_REFRESH_TOKEN": "rt-0",
        "ZALO_API_BASE": zalo.base_url, "ZALO_ZNS_BASE": zalo.base_url, "ZALO_OAUTH_BASE": zalo.base_url,
        "ZALO_ZNS_TEMPLATE_ID": "777",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    settings = get_settings()
    router = build_router(settings, **channel_senders(settings))
    assert set(router.text_senders) == {"telegram", "zalo"} and router.zns_template_id == "777"
    world.router_override = router
    t_user, z_user = world.user("telegram", str(CHAT)), world.user("zalo", "zu-9")
    d1, d2 = world.dossier("in_progress"), world.dossier("in_progress")
    world.subscribe(t_user, d1)
    world.subscribe(z_user, d2)
    world.clock.advance(hours=1)
    world.set_status(d1, "ready")
    world.set_status(d2, "ready")
    await world.sweep()
    assert len(_texts(tg)) == 1 and len(zalo.cs_messages()) == 1
    await router.text_senders["telegram"].client.close()
    await router.text_senders["zalo"].client.close()
