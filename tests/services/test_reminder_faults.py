"""Quiet hours, unsubscribe, retries, unreachable users, crashed claims and racing sweeps."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading

import pytest
import sqlalchemy as sa

from bot.db.models import NotificationLog
from bot.reminders import claims
from bot.reminders.clock import to_db
from bot.reminders.delivery import AmbiguousFailure, Router
from tests.support.reminders import ZONE, FakeClock, World, blocked, local, transient

pytestmark = pytest.mark.usefixtures("reminder_env")


async def _ready_at(world: World, when: str, user=None):
    user = user or world.user()
    dossier = world.dossier("in_progress")
    world.subscribe(user, dossier)
    world.clock.set(when)
    world.set_status(dossier, "ready")
    return user, dossier


async def test_quiet_hours_defer_to_the_morning(world: World):
    await _ready_at(world, "2024-03-04 22:10")
    result = await world.sweep()
    assert result.planned.total == 1 and result.delivered.quiet
    assert world.telegram.sent == []
    (notice,) = world.notices()
    assert notice.state == "pending"
    assert notice.next_attempt_at == to_db(local("2024-03-05 07:00"))
    world.clock.set("2024-03-05 06:55")
    await world.sweep()
    assert world.telegram.sent == []
    world.clock.set("2024-03-05 07:00")
    await world.sweep()
    assert len(world.telegram.sent) == 1


async def test_a_retry_due_in_quiet_hours_waits_for_the_morning(world: World):
    world.telegram.failures.append(transient(retry_after=3600))
    await _ready_at(world, "2024-03-04 20:30")
    await world.sweep()
    (notice,) = world.notices()
    assert notice.state == "pending" and notice.next_attempt_at == to_db(local("2024-03-05 07:00"))


async def test_unsubscribe_stops_queued_and_future_pushes(world: World):
    user, dossier = await _ready_at(world, "2024-03-04 22:10")
    await world.sweep()  # queued for the morning
    assert world.unsubscribe(user) == "utter_unsubscribed"
    world.clock.set("2024-03-05 08:00")
    world.set_status(dossier, "returned")
    await world.sweep()
    assert world.telegram.sent == []
    assert [n.state for n in world.notices()] == ["cancelled"]
    assert world.unsubscribe(user) == "utter_no_subscription"


async def test_unsubscribe_between_claim_and_send_cancels(world: World):
    user, _dossier = await _ready_at(world, "2024-03-04 10:00")
    service = world.service()
    service.plan()
    token, ids = service.outbox.claim(world.clock())
    world.unsubscribe(user)
    stats = await service.outbox.deliver_due()  # nothing due: the claim is ours and in flight
    assert stats.claimed == 0
    world.clock.advance(minutes=6)  # lease expired: re-claimed, re-checked, cancelled
    await world.sweep()
    assert world.telegram.sent == []
    assert world.notices()[0].state == "cancelled"


async def test_transient_failure_is_retried_with_backoff_and_sent_once(world: World):
    world.telegram.failures.extend([transient(), transient(retry_after=300)])
    await _ready_at(world, "2024-03-04 10:00")
    await world.sweep()
    (notice,) = world.notices()
    assert notice.state == "pending" and notice.attempts == 1
    assert notice.next_attempt_at == to_db(world.clock() + dt.timedelta(seconds=60))
    await world.sweep()  # not due yet
    assert world.telegram.calls == 1
    world.clock.advance(seconds=60)
    await world.sweep()  # fails again, asks for 300 s (more than the 120 s backoff)
    (notice,) = world.notices()
    assert notice.attempts == 2 and notice.next_attempt_at == to_db(world.clock() + dt.timedelta(seconds=300))
    world.clock.advance(seconds=300)
    await world.sweep()
    await world.sweep()
    assert len(world.telegram.sent) == 1 and world.telegram.calls == 3
    assert world.notices()[0].state == "sent"


async def test_gives_up_after_max_attempts(world: World):
    world.telegram.failures.extend([transient() for _ in range(10)])
    await _ready_at(world, "2024-03-04 10:00")
    for _ in range(6):
        await world.sweep(max_attempts=3)
        world.clock.advance(hours=1)
    (notice,) = world.notices()
    assert notice.state == "failed" and notice.attempts == 3
    assert world.telegram.calls == 3


async def test_ambiguous_failure_is_not_resent(world: World):
    world.telegram.failures.append(AmbiguousFailure("read timeout"))
    await _ready_at(world, "2024-03-04 10:00")
    await world.sweep()
    world.clock.advance(hours=1)
    await world.sweep()
    assert world.telegram.calls == 1
    assert world.notices()[0].state == "unconfirmed"


async def test_blocked_user_stops_receiving(world: World):
    world.telegram.failures.append(blocked())
    user, dossier = await _ready_at(world, "2024-03-04 10:00")
    await world.sweep()
    chat_user = world.chat_user(user)
    assert chat_user.reachable is False and chat_user.unreachable_reason == "blocked"
    assert world.notices()[0].state == "undeliverable"
    world.clock.advance(days=1)
    world.set_status(dossier, "returned")
    await world.sweep()
    assert world.telegram.calls == 1 and len(world.notices()) == 1
    # the user comes back and subscribes again: pushes resume
    world.clock.advance(hours=1)
    assert world.subscribe(user, dossier) == "utter_subscribed"
    world.clock.advance(hours=1)
    world.set_status(dossier, "refused")
    await world.sweep()
    assert len(world.telegram.sent) == 1 and "không đủ điều kiện" in world.telegram.sent[0].text


async def test_crash_between_claim_and_send_is_retried_after_the_lease(world: World):
    await _ready_at(world, "2024-03-04 10:00")
    crashed = world.service(worker="crashed")
    crashed.plan()
    _token, ids = crashed.outbox.claim(world.clock())  # ... and the process dies here
    assert len(ids) == 1
    world.clock.advance(minutes=4)
    await world.sweep()
    assert world.telegram.sent == []  # the lease (5 min) still holds
    world.clock.advance(minutes=2)
    await world.sweep()
    await world.sweep()
    assert len(world.telegram.sent) == 1
    (notice,) = world.notices()
    assert notice.state == "sent" and notice.attempts == 2 and notice.claimed_by.startswith("w1/")


async def test_an_expired_claim_cannot_send_nor_record(world: World):
    await _ready_at(world, "2024-03-04 10:00")
    slow = world.service(worker="slow")
    slow.plan()
    token, ids = slow.outbox.claim(world.clock())
    world.clock.advance(minutes=6)
    now = to_db(world.clock())
    lease = dt.timedelta(minutes=5)
    assert claims.begin_send(world.sessions, token, ids[0], now, lease=lease) is False  # the lease is gone
    fresh = world.service(worker="fresh")
    fresh_token, fresh_ids = fresh.outbox.claim(world.clock())
    assert fresh_ids == ids
    assert claims.begin_send(world.sessions, token, ids[0], now, lease=lease) is False  # and taken over
    assert claims.release(world.sessions, token, ids[0]) is False
    assert claims.finish(world.sessions, token, ids[0], state="failed") is False
    assert claims.begin_send(world.sessions, fresh_token, ids[0], now, lease=lease) is True
    assert claims.finish(world.sessions, token, ids[0], state="failed") is False
    assert claims.finish(world.sessions, fresh_token, ids[0], state="sent") is True
    assert world.notices()[0].state == "sent"


async def test_zalo_inside_window_outside_window_and_zns(world: World):
    world.clock.set("2024-03-01 09:00")
    inside = world.user("zalo", "z-inside")
    outside = world.user("zalo", "z-outside")
    d1, d2 = world.dossier("in_progress"), world.dossier("in_progress", applicant_phone="0987 654 321")
    world.subscribe(inside, d1)
    world.subscribe(outside, d2)
    with world.sessions() as s, s.begin():  # the second user last wrote 8 days ago
        s.execute(sa.text("UPDATE chat_users SET last_interaction_at = :t WHERE id = :i"),
                  {"t": to_db(local("2024-02-22 09:00")), "i": outside})
    world.clock.set("2024-03-04 10:00")
    world.set_status(d1, "ready")
    world.set_status(d2, "ready")
    await world.sweep()  # no ZNS template configured: undeliverable
    assert [m.to for m in world.zalo.sent] == ["z-inside"]
    states = {n.chat_user_id: n.state for n in world.notices()}
    assert states == {inside: "sent", outside: "undeliverable"}

    world.zns_template_id = "tpl-1"
    world.clock.advance(hours=1)
    world.set_status(d2, "returned")
    await world.sweep()
    (zns,) = world.zns.sent
    assert zns.to == "84987654321" and zns.text == "tpl-1"
    assert zns.data["dossier_code"] == world.code(d2) and zns.data["notice"] == "status_returned"
    assert world.notices()[-1].payload["via"] == "zns"


async def test_user_on_a_channel_without_push_is_undeliverable(world: World):
    user = world.user("rest", "web-1")
    await _ready_at(world, "2024-03-04 10:00", user=user)
    await world.sweep()
    assert world.notices()[0].state == "undeliverable"


@pytest.mark.postgres
@pytest.mark.parametrize("plan_lock", [True, False])
async def test_two_sweeps_racing_on_postgres_send_each_notice_once(postgres_url: str, plan_lock: bool):
    clock = FakeClock(local("2024-03-04 09:00"))
    world = World(postgres_url, clock)
    users = [world.user("telegram", str(1000 + i)) for i in range(60)]
    dossiers = []
    for user in users:
        dossier = world.dossier("in_progress", appointment="2024-03-05")
        world.subscribe(user, dossier)
        dossiers.append(dossier)
    clock.set("2024-03-04 10:00")
    for dossier in dossiers:
        world.set_status(dossier, "ready")
    # both processes deliver through the same recording sender, slowed down to overlap
    sender = world.telegram
    original = sender.send_text

    async def slow_send(recipient_id: str, text: str) -> None:
        await asyncio.sleep(0.005)
        await original(recipient_id, text)

    sender.send_text = slow_send  # type: ignore[method-assign]
    world.router_override = Router(text_senders={"telegram": sender})
    services = [world.service(worker=f"proc{i}", batch_size=7) for i in range(2)]
    for service in services:
        service.use_plan_lock = plan_lock
    barrier = threading.Barrier(2)

    def finished() -> int:
        with world.sessions() as s:
            return s.execute(sa.select(sa.func.count()).select_from(NotificationLog)
                             .where(NotificationLog.state == "sent")).scalar()

    def run(service) -> None:
        barrier.wait()
        for _ in range(50):  # sweep again and again, like two schedulers, until all is done
            service.run_once()
            if finished() == 120:
                break

    threads = [threading.Thread(target=run, args=(s,)) for s in services]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    keys = [(m.to, m.text) for m in sender.sent]
    assert len(keys) == 120  # 60 "ready" + 60 "appointment tomorrow"
    assert len(set(keys)) == 120
    with world.sessions() as s:
        states = s.execute(sa.select(NotificationLog.state, sa.func.count()).group_by(NotificationLog.state)).all()
        workers = set(s.execute(sa.select(sa.func.split_part(NotificationLog.claimed_by, "/", 1))).scalars())
    assert dict(states) == {"sent": 120}
    assert workers == {"proc0", "proc1"}  # both did part of the work
    for service in services:
        service.close()


def test_zone_is_vietnam():
    assert local("2024-03-04 07:00").astimezone(dt.timezone.utc).hour == 0
    assert ZONE is not None


async def test_a_long_batch_hands_back_what_it_could_not_send_in_time(world: World):
    users = [world.user("telegram", str(500 + i)) for i in range(5)]
    dossiers = [world.dossier("in_progress") for _ in users]
    for user, dossier in zip(users, dossiers):
        world.subscribe(user, dossier)
    world.clock.advance(hours=1)
    for dossier in dossiers:
        world.set_status(dossier, "ready")
    original = world.telegram.send_text

    async def slow(recipient_id: str, text: str) -> None:
        world.clock.advance(seconds=40)  # each send takes 40 s of the 300 s lease
        await original(recipient_id, text)

    world.telegram.send_text = slow  # type: ignore[method-assign]
    service = world.service(concurrency=1)
    first = await service.run_once_async()
    # sends start at +0, +40, +80, +120 s; at +160 s half the lease is gone: the last one is handed back
    assert (first.delivered.sent, first.delivered.released) == (4, 1)
    (released,) = [n for n in world.notices() if n.state == "pending"]
    assert released.claimed_by is None and released.attempts == 0
    await service.run_once_async()
    assert sorted(m.to for m in world.telegram.sent) == [str(500 + i) for i in range(5)]
    assert {(n.state, n.attempts) for n in world.notices()} == {("sent", 1)}
