"""At most once, end to end: real channel clients, loopback fakes, SQLite and PostgreSQL.

Slow sends that outlive the lease, workers racing for the same notices, a crash
between the send and its record, and ambiguous failures: no notice ever reaches the
fake platform twice, and what may or may not have arrived is ``unconfirmed`` and shown.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from bot.reminders import report
from bot.reminders.clock import to_db
from bot.reminders.delivery import Router
from integrations.senders import TelegramTextSender, ZaloTextSender, ZnsTemplateSender
from integrations.telegram.client import TelegramSender
from integrations.zalo.client import ZaloClient
from integrations.zalo.tokens import ZaloTokenManager
from tests.channels.test_reminder_retries import dead_port, is_send
from tests.fakes import zalo_api
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.zalo_api import PATH_CS, FakeZaloAPI
from tests.support.reminders import World

pytestmark = pytest.mark.usefixtures("reminder_env")

CHAT = 4242


class Crash(BaseException):
    """The worker process dies (not an ``Exception``: nothing in the outbox catches it)."""


class CrashAfterSend:
    """Sends for real, then 'dies' before the outbox can record the outcome."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def send_text(self, recipient_id: str, text: str) -> None:
        await self.inner.send_text(recipient_id, text)
        raise Crash("killed between send and record")


@pytest.fixture
def tg():
    with FakeTelegramAPI() as fake:
        yield fake


def _sender(world: World, api_base: str, token: str) -> TelegramTextSender:
    return TelegramTextSender(TelegramSender(token, api_base=api_base, chat_interval=0, global_rate=1000,
                                             max_retries=3, retry_backoff=0.01, timeout=5, database_url=world.url))


@pytest.fixture
async def tg_world(world: World, tg: FakeTelegramAPI):
    sender = _sender(world, tg.base_url, tg.token)
    world.router_override = Router(text_senders={"telegram": sender})
    yield world
    await sender.client.close()


def _ready(world: World, count: int = 1) -> list:
    user = world.user("telegram", str(CHAT))
    dossiers = [world.dossier("in_progress") for _ in range(count)]
    for dossier in dossiers:
        world.subscribe(user, dossier)
    world.clock.advance(hours=1)
    for dossier in dossiers:
        world.set_status(dossier, "ready")
    return dossiers


async def test_dropped_connection_is_unconfirmed_shown_and_never_resent(tg_world: World, tg: FakeTelegramAPI):
    world = tg_world
    _ready(world)
    tg.drop_next(1, match=is_send)  # Telegram reads the request, then the connection breaks
    service = world.service()
    first = await service.run_once_async()
    for _ in range(3):
        world.clock.advance(hours=2)
        await service.run_once_async()
    assert len(tg.api_calls("sendMessage")) == 1
    assert first.delivered.unconfirmed == 1 and first.delivered.retried == 0
    with world.sessions() as session:
        assert report.state_counts(session) == {"unconfirmed": 1}
        (item,) = report.unconfirmed(session)
    assert item.kind == "status_ready" and item.worker.startswith("w1/") and "RemoteProtocolError" in item.reason


async def test_two_workers_with_a_lease_shorter_than_the_send_send_each_notice_once(tg_world: World,
                                                                                   tg: FakeTelegramAPI):
    world = tg_world
    first, second = _ready(world, 2)
    release = tg.hold_next(1, match=is_send)  # worker A's first send hangs at Telegram
    a, b = world.service(worker="A"), world.service(worker="B")
    task = asyncio.create_task(a.run_once_async())
    try:
        assert len(await tg.await_for(is_send, 1)) == 1
        world.clock.advance(minutes=6)  # A's lease (5 min) runs out while its send is in flight
        taken_over = await b.run_once_async()
    finally:
        release.set()
    finished = await task
    texts = [m["text"] for m in tg.sent_messages(chat_id=CHAT)]
    assert len(tg.api_calls("sendMessage")) == 2 and len(texts) == 2
    for dossier in (first, second):
        assert sum(world.code(dossier) in text for text in texts) == 1
    # B did not resend A's in-flight notice (it reported it), but took over A's second, unsent claim
    assert (taken_over.delivered.interrupted, taken_over.delivered.sent) == (1, 1)
    # A recorded its own send late, and did not send the notice B had taken over
    assert (finished.delivered.sent, finished.delivered.lost) == (1, 1)
    assert {n.claimed_by.split("/")[0]: n.state for n in world.notices()} == {"A": "sent", "B": "sent"}


async def test_crash_between_send_and_record_is_never_resent(tg_world: World, tg: FakeTelegramAPI):
    world = tg_world
    _ready(world)
    world.router_override = Router(text_senders={"telegram": CrashAfterSend(_sender(world, tg.base_url, tg.token))})
    crashing = world.service(worker="crashing")
    world.router_override = Router(text_senders={"telegram": _sender(world, tg.base_url, tg.token)})
    with pytest.raises(Crash):
        await crashing.run_once_async()
    assert [n.state for n in world.notices()] == ["sending"] and len(tg.sent_messages(chat_id=CHAT)) == 1
    world.clock.advance(minutes=4)
    during = await world.sweep()  # the crashed worker's lease still holds: nothing happens
    world.clock.advance(minutes=2)
    after = await world.sweep()  # the lease is over: reported, not resent
    for _ in range(3):
        world.clock.advance(hours=3)
        await world.sweep()
    assert len(tg.api_calls("sendMessage")) == 1
    assert (during.delivered.claimed, during.delivered.interrupted) == (0, 0)
    assert after.delivered.interrupted == 1 and after.delivered.claimed == 0
    (notice,) = world.notices()
    assert notice.state == "unconfirmed" and "no outcome recorded" in notice.last_error


async def test_connection_refused_is_retried_later_and_delivered_once(tg_world: World, tg: FakeTelegramAPI):
    world = tg_world
    _ready(world)
    live = world.router_override
    world.router_override = Router(text_senders={"telegram": _sender(world, f"http://127.0.0.1:{dead_port()}",
                                                                      tg.token)})
    down = await world.sweep()
    assert down.delivered.retried == 1
    (notice,) = world.notices()
    assert notice.state == "pending" and notice.next_attempt_at == to_db(world.clock() + dt.timedelta(seconds=60))
    world.router_override = live
    world.clock.advance(seconds=60)
    up = await world.sweep()
    assert up.delivered.sent == 1 and len(tg.api_calls("sendMessage")) == 1
    assert [(n.state, n.attempts) for n in world.notices()] == [("sent", 2)]


async def test_an_operator_settles_unconfirmed_notices(tg_world: World, tg: FakeTelegramAPI):
    world = tg_world
    _ready(world, 2)
    tg.fail_next(2, status=500, methods=["sendMessage"])
    await world.sweep()
    ids = [n.id for n in world.notices()]
    assert [n.state for n in world.notices()] == ["unconfirmed", "unconfirmed"]
    now = to_db(world.clock())
    with world.sessions() as session, session.begin():
        assert report.resolve(session, ids[0], delivered=True, now=now, note="seen in the chat")
        assert report.resolve(session, ids[1], delivered=False, now=now)
        assert not report.resolve(session, ids[0], delivered=False, now=now)  # no longer unconfirmed
    result = await world.sweep()
    assert result.delivered.sent == 1  # only the requeued one goes again, by the operator's decision
    with world.sessions() as session:
        assert report.state_counts(session) == {"sent": 2} and report.unconfirmed(session) == []


@pytest.fixture
def zalo():
    with FakeZaloAPI() as fake:
        yield fake


async def test_zalo_dropped_connection_is_unconfirmed_without_zns_fallback(world: World, zalo: FakeZaloAPI):
    tokens = ZaloTokenManager(app_id=zalo_api.APP_ID, app_secret=zalo_api.APP_SECRET, oauth_base=zalo.base_url,
                              seed_access_token="at-0", seed_refresh_token="rt-0", database_url=world.url)
    client = ZaloClient(tokens, api_base=zalo.base_url, zns_base=zalo.base_url, timeout=5, max_retries=2,
                        retry_backoff=0.01, database_url=world.url)
    world.router_override = Router(text_senders={"zalo": ZaloTextSender(client)}, zns=ZnsTemplateSender(client),
                                   zns_template_id="243921")
    user = world.user("zalo", "zu-1")
    dossier = world.dossier("in_progress")
    world.subscribe(user, dossier)
    world.clock.advance(hours=1)
    world.set_status(dossier, "ready")
    zalo.drop_next(1, match=lambda r: r.path == PATH_CS)
    result = await world.sweep()
    assert result.delivered.unconfirmed == 1
    world.clock.advance(hours=2)
    await world.sweep()
    assert len(zalo.calls(lambda r: r.path == PATH_CS)) == 1 and zalo.zns_messages() == []
    assert [n.state for n in world.notices()] == ["unconfirmed"]
    await client.close()
