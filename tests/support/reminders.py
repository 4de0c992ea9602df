"""Fixtures of the reminder tests: a real database (fresh SQLite file, fresh PostgreSQL
database), an injectable clock, recording senders and a small world builder.

Shared by the service, action and channel tests of reminders: their directories'
``conftest.py`` import the fixtures. ``reminder_env`` (clean reminder settings) comes
with ``world``; modules that do not use ``world`` ask for it with ``usefixtures``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import pytest
import sqlalchemy as sa

from bot.db.models import Base, ChatUser, Dossier, DossierLink, NotificationLog
from bot.db.session import get_engine, get_sessionmaker, upgrade
from bot.reminders.clock import get_zone, to_db
from bot.reminders.delivery import Router, TransientFailure, UnreachableFailure
from bot.reminders.outbox import OutboxConfig
from bot.reminders.service import ReminderService
from bot.reminders.subscriptions import subscribe, unsubscribe
from bot.reminders.workdays import QuietHours, load_calendar
from bot.settings import get_settings

ZONE = get_zone("Asia/Ho_Chi_Minh")
from tests.support.postgres import ON_POSTGRES, postgres_or_skip  # noqa: E402


def local(text: str) -> dt.datetime:
    """An aware datetime from ``YYYY-MM-DD HH:MM`` local (Asia/Ho_Chi_Minh) time."""
    return dt.datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=ZONE)


class FakeClock:
    """A settable clock: ``clock()`` returns the current fake moment."""

    def __init__(self, start: dt.datetime) -> None:
        self.current = start

    def __call__(self) -> dt.datetime:
        return self.current

    def set(self, text: str) -> None:
        """Jump to a local time ``YYYY-MM-DD HH:MM``."""
        self.current = local(text)

    def advance(self, **delta: float) -> None:
        """Move forward by ``timedelta(**delta)``."""
        self.current += dt.timedelta(**delta)


@pytest.fixture
def reminder_env(monkeypatch: pytest.MonkeyPatch):
    """Reminder settings at their defaults, APP_ENV=test."""
    for name in ("QUIET_HOURS_START", "QUIET_HOURS_END", "ZALO_ZNS_TEMPLATE_ID", "SCHEDULER_MODE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("APP_ENV", "test")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def reminder_pg_url():
    """A fresh PostgreSQL database for this test session (dropped afterwards)."""
    with postgres_or_skip("reminders_test") as url:
        yield url


@pytest.fixture(params=["sqlite", ON_POSTGRES])
def reminder_db_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """A migrated, empty database: a new SQLite file, or the session's PostgreSQL database truncated."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'reminders.db'}"
        upgrade(url)
        yield url
        get_engine(url).dispose()
        return
    url = request.getfixturevalue("reminder_pg_url")
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with get_engine(url).begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield url


@pytest.fixture
def postgres_url(reminder_pg_url: str) -> str:
    """The session's PostgreSQL database, truncated."""
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with get_engine(reminder_pg_url).begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    return reminder_pg_url


@dataclass
class Sent:
    """One message a recording sender accepted."""

    channel: str
    to: str
    text: str
    data: Optional[Dict[str, Any]] = None


@dataclass
class RecordingSender:
    """An in-memory sender; ``failures`` is a queue of exceptions to raise first."""

    channel: str
    sent: List[Sent] = field(default_factory=list)
    failures: List[BaseException] = field(default_factory=list)
    calls: int = 0

    async def send_text(self, recipient_id: str, text: str) -> None:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(Sent(self.channel, recipient_id, text))

    async def send_template(self, phone: str, template_id: str, data: Dict[str, str], tracking_id: str) -> None:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(Sent(self.channel, phone, template_id, dict(data, tracking_id=tracking_id)))


class World:
    """Builds dossiers, users and subscriptions, and runs sweeps."""

    def __init__(self, url: str, clock: FakeClock) -> None:
        self.url = url
        self.clock = clock
        self.sessions = get_sessionmaker(url)
        self.telegram = RecordingSender("telegram")
        self.zalo = RecordingSender("zalo")
        self.zns = RecordingSender("zns")
        self.zns_template_id: Optional[str] = None
        self.quiet = QuietHours(21, 7)
        self.router_override: Optional[Router] = None
        self._seq = 0

    # -- builders ------------------------------------------------------------------------------
    def dossier(self, status: str = "received", *, appointment: Optional[str] = None, **fields: Any) -> int:
        self._seq += 1
        values: Dict[str, Any] = dict(
            code=f"000.00.15.H65-240312-{self._seq:04d}", procedure_code="1.001193",
            procedure_name="Đăng ký khai sinh", applicant_name="Nguyễn Thị Lan", applicant_phone="0912345678",
            phone_last4="5678", status=status, agency_name="UBND phường Yên Thịnh",
            pickup_place="Bộ phận Một cửa UBND phường Yên Thịnh", missing_documents=[],
            appointment_date=dt.date.fromisoformat(appointment) if appointment else None,
            status_changed_at=to_db(self.clock()), received_at=to_db(self.clock()),
        )
        values.update(fields)
        with self.sessions() as s, s.begin():
            d = Dossier(**values)
            s.add(d)
            s.flush()
            return d.id

    def code(self, dossier_id: int) -> str:
        with self.sessions() as s:
            return s.get(Dossier, dossier_id).code

    def set_status(self, dossier_id: int, status: str, **fields: Any) -> None:
        with self.sessions() as s, s.begin():
            d = s.get(Dossier, dossier_id)
            d.status = status
            d.status_changed_at = to_db(self.clock())
            for name, value in fields.items():
                setattr(d, name, value)

    def update(self, dossier_id: int, **fields: Any) -> None:
        with self.sessions() as s, s.begin():
            d = s.get(Dossier, dossier_id)
            for name, value in fields.items():
                setattr(d, name, value)

    def user(self, channel: str = "telegram", channel_user_id: str = "4242", **fields: Any) -> int:
        with self.sessions() as s, s.begin():
            u = ChatUser(channel=channel, channel_user_id=channel_user_id, reachable=True,
                         last_interaction_at=to_db(self.clock()), created_at=to_db(self.clock()), **fields)
            s.add(u)
            s.flush()
            return u.id

    def link(self, user_id: int, dossier_id: int) -> None:
        with self.sessions() as s, s.begin():
            s.add(DossierLink(chat_user_id=user_id, dossier_id=dossier_id, verified_at=to_db(self.clock())))

    def subscribe(self, user_id: int, dossier_id: Optional[int] = None) -> str:
        with self.sessions() as s, s.begin():
            u = s.get(ChatUser, user_id)
            code = s.get(Dossier, dossier_id).code if dossier_id else None
            return subscribe(s, input_channel=u.channel, sender_id=u.channel_user_id, verified_code=code,
                             now=self.clock()).response

    def unsubscribe(self, user_id: int) -> str:
        with self.sessions() as s, s.begin():
            u = s.get(ChatUser, user_id)
            return unsubscribe(s, input_channel=u.channel, sender_id=u.channel_user_id, now=self.clock()).response

    # -- running -------------------------------------------------------------------------------
    def router(self) -> Router:
        if self.router_override is not None:
            return self.router_override
        return Router(text_senders={"telegram": self.telegram, "zalo": self.zalo}, zns=self.zns,
                      zns_template_id=self.zns_template_id)

    def service(self, worker: str = "w1", **config: Any) -> ReminderService:
        cfg = OutboxConfig(worker_id=worker, hotline="0216 3 999 999", backoff_base_s=60, **config)
        return ReminderService(self.sessions, self.router(), now=self.clock, zone=ZONE,
                               calendar=load_calendar(), quiet=self.quiet, config=cfg)

    async def sweep(self, **config: Any):
        return await self.service(**config).run_once_async()

    def notices(self) -> List[NotificationLog]:
        with self.sessions() as s:
            return list(s.execute(sa.select(NotificationLog).order_by(NotificationLog.id)).scalars())

    def chat_user(self, user_id: int) -> ChatUser:
        with self.sessions() as s:
            return s.get(ChatUser, user_id)


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock at Monday 2024-03-04 09:00 local."""
    return FakeClock(local("2024-03-04 09:00"))


@pytest.fixture
def world(reminder_db_url: str, clock: FakeClock, reminder_env: None) -> World:
    """A world on the parametrised database."""
    return World(reminder_db_url, clock)


def transient(retry_after: Optional[float] = None) -> TransientFailure:
    """A transient failure as a test sender raises it."""
    return TransientFailure("connection refused", retry_after=retry_after)


def blocked() -> UnreachableFailure:
    """A permanent 'user blocked the bot' failure."""
    return UnreachableFailure("Forbidden: bot was blocked by the user", reason="blocked")
