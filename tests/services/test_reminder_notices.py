"""Each notice kind is queued and sent once, with the right text (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.support.reminders import World

pytestmark = pytest.mark.usefixtures("reminder_env")


async def _subscribed(world: World, status: str = "received", **fields):
    user = world.user()
    dossier = world.dossier(status, appointment="2024-03-12", **fields)
    assert world.subscribe(user, dossier) == "utter_subscribed"
    return user, dossier


async def test_subscribing_does_not_repeat_the_current_status(world: World):
    await _subscribed(world)
    world.clock.advance(minutes=5)
    await world.sweep()
    assert world.telegram.sent == []


@pytest.mark.parametrize(
    ("status", "fields", "expected"),
    [
        ("received", {}, ["đã được UBND phường Yên Thịnh tiếp nhận", "thứ Ba, 12/03/2024"]),
        ("need_documents", {"missing_documents": ["Bản sao giấy chứng sinh", {"name": "Giấy đăng ký kết hôn"}]},
         ["cần bổ sung giấy tờ sau:\n- Bản sao giấy chứng sinh\n- Giấy đăng ký kết hôn\n"]),
        ("waiting_fee", {"fee_due_vnd": 1500000}, ["chờ Ông/Bà nộp phí, lệ phí: 1.500.000 đồng"]),
        ("ready", {}, ["đã có kết quả", "nhận tại Bộ phận Một cửa UBND phường Yên Thịnh"]),
        ("returned", {}, ["đã được trả kết quả"]),
        ("refused", {"note": "Hồ sơ đã được giải quyết tại nơi khác"},
         ["không đủ điều kiện giải quyết. Lý do: Hồ sơ đã được giải quyết tại nơi khác."]),
    ],
)
async def test_status_change_is_announced_once(world: World, status, fields, expected):
    user, dossier = await _subscribed(world, "in_progress")
    world.clock.advance(hours=1)
    world.set_status(dossier, status, **fields)
    await world.sweep()
    await world.sweep()
    world.clock.advance(minutes=5)
    await world.sweep()
    assert len(world.telegram.sent) == 1
    message = world.telegram.sent[0]
    assert message.to == "4242"
    assert world.code(dossier) in message.text
    assert "Đăng ký khai sinh" in message.text
    assert "0216 3 999 999" in message.text  # hotline
    for part in expected:
        assert part in message.text
    (notice,) = world.notices()
    assert notice.state == "sent" and notice.kind == f"status_{status}"
    assert notice.payload["response"] == f"utter_reminder_{status}"


async def test_in_progress_is_not_announced_and_a_status_repeated_later_is(world: World):
    _user, dossier = await _subscribed(world, "received")
    world.clock.advance(hours=1)
    world.set_status(dossier, "in_progress")
    await world.sweep()
    assert world.telegram.sent == []
    world.clock.advance(hours=1)
    world.set_status(dossier, "need_documents", missing_documents=["Tờ khai"])
    await world.sweep()
    world.clock.advance(hours=1)
    world.set_status(dossier, "in_progress")
    world.clock.advance(hours=1)
    world.set_status(dossier, "need_documents", missing_documents=["Bản chính CCCD"])
    await world.sweep()
    texts = [m.text for m in world.telegram.sent]
    assert len(texts) == 2
    assert "- Tờ khai" in texts[0] and "- Bản chính CCCD" in texts[1]


async def test_appointment_tomorrow_counts_working_days(world: World):
    """Appointment Wed 04/09/2024: 31/8–1/9 weekend, 2–3/9 National Day → reminded Fri 30/8."""
    world.clock.set("2024-08-28 09:00")
    user = world.user()
    dossier = world.dossier("in_progress", appointment="2024-09-04")
    world.subscribe(user, dossier)
    world.clock.set("2024-08-29 09:00")
    await world.sweep()
    assert world.telegram.sent == []
    world.clock.set("2024-08-30 08:00")
    await world.sweep()
    world.clock.set("2024-08-31 08:00")
    await world.sweep()
    assert len(world.telegram.sent) == 1
    assert "Nhắc lịch: thứ Tư, 04/09/2024 là ngày hẹn trả kết quả" in world.telegram.sent[0].text
    assert "Nơi nhận kết quả: Bộ phận Một cửa UBND phường Yên Thịnh" in world.telegram.sent[0].text


async def test_appointment_today(world: World):
    world.clock.set("2024-03-11 16:00")
    user = world.user()
    dossier = world.dossier("ready", appointment="2024-03-12")
    world.subscribe(user, dossier)
    world.clock.set("2024-03-12 07:30")
    await world.sweep()
    await world.sweep()
    texts = [m.text for m in world.telegram.sent]
    assert len(texts) == 1
    assert texts[0].startswith("Hôm nay (12/03/2024) là ngày hẹn trả kết quả")


async def test_overdue_apology_then_new_date(world: World):
    world.clock.set("2024-03-12 10:00")
    user = world.user()
    dossier = world.dossier("in_progress", appointment="2024-03-12")
    world.subscribe(user, dossier)
    world.clock.set("2024-03-13 08:00")
    await world.sweep()
    assert len(world.telegram.sent) == 1
    assert "đã quá ngày hẹn 12/03/2024 nhưng chưa có kết quả" in world.telegram.sent[0].text
    world.clock.advance(hours=2)
    world.update(dossier, new_appointment_date=dt.date(2024, 3, 19))
    await world.sweep()
    await world.sweep()
    assert len(world.telegram.sent) == 2
    assert "Ngày hẹn mới: thứ Ba, 19/03/2024" in world.telegram.sent[1].text
    # the new date also passes: one more apology, without a date
    world.clock.set("2024-03-20 08:00")
    await world.sweep()
    assert len(world.telegram.sent) == 3
    assert "đã quá ngày hẹn 19/03/2024" in world.telegram.sent[2].text


async def test_finished_dossier_is_not_overdue(world: World):
    world.clock.set("2024-03-12 10:00")
    user = world.user()
    dossier = world.dossier("ready", appointment="2024-03-12")
    world.subscribe(user, dossier)
    world.clock.set("2024-03-14 08:00")
    await world.sweep()
    assert world.telegram.sent == []


async def test_all_linked_dossiers_subscription(world: World):
    user = world.user()
    first, second = world.dossier("received"), world.dossier("received")
    other = world.dossier("received")
    world.link(user, first)
    world.link(user, second)
    assert world.subscribe(user) == "utter_subscribed_all"
    world.clock.advance(hours=1)
    for dossier in (first, second, other):
        world.set_status(dossier, "ready")
    await world.sweep()
    codes = sorted(m.text.split()[2] for m in world.telegram.sent)
    assert codes == sorted([world.code(first), world.code(second)])
