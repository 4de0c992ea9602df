"""Fixtures of the channel tests: real databases (fresh SQLite file / fresh PostgreSQL
database, migrated with Alembic), loopback fakes of Telegram and Zalo, and the settings
pointing at them. No test can reach a real API: every base URL defaults to a dead
loopback port and the fakes listen on 127.0.0.1 only."""

from __future__ import annotations

import datetime as dt
from typing import Dict, Iterator

import pytest

from bot.db.models import OAuthToken, utcnow
from bot.db.session import get_engine, session_scope
from bot.settings import get_settings
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.zalo_api import APP_ID, APP_SECRET, OA_SECRET_KEY, FakeZaloAPI

WEBHOOK_SECRET = "s3cr3t-Token_for-tests"
DEAD = "http://127.0.0.1:9"  # discard port: a test that forgot a fake fails fast, never reaches the internet


def _reset_caches() -> None:
    get_settings.cache_clear()
    get_engine.cache_clear()


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("APP_ENV", "test")
    for name in ("TELEGRAM_API_BASE", "ZALO_API_BASE", "ZALO_OAUTH_BASE", "ZALO_ZNS_BASE"):
        monkeypatch.setenv(name, DEAD)
    for name in ("TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET", "TELEGRAM_BOT_USERNAME", "ZALO_APP_ID",
                 "ZALO_APP_SECRET", "ZALO_OA_SECRET_KEY", "ZALO_ACCESS_TOKEN", "ZALO_REFRESH_TOKEN",
                 "USER_RATE_LIMIT_PER_MINUTE", "MAX_WEBHOOK_BYTES", "ZALO_WEBHOOK_MAX_AGE_S"):
        monkeypatch.delenv(name, raising=False)
    _reset_caches()
    yield
    _reset_caches()


@pytest.fixture
def fake_tg() -> Iterator[FakeTelegramAPI]:
    """The Telegram Bot API fake (real HTTP server on 127.0.0.1)."""
    with FakeTelegramAPI() as fake:
        yield fake


@pytest.fixture
def fake_zalo() -> Iterator[FakeZaloAPI]:
    """The Zalo OA / ZNS / OAuth fake (real HTTP server on 127.0.0.1)."""
    with FakeZaloAPI() as fake:
        yield fake


def set_env(monkeypatch: pytest.MonkeyPatch, values: Dict[str, object]) -> None:
    """Set environment variables and clear the settings cache."""
    for key, value in values.items():
        monkeypatch.setenv(key, str(value))
    get_settings.cache_clear()


@pytest.fixture
def tg_env(monkeypatch: pytest.MonkeyPatch, fake_tg: FakeTelegramAPI) -> FakeTelegramAPI:
    """Telegram configured against the fake, with fast pacing for tests."""
    set_env(monkeypatch, {
        "TELEGRAM_BOT_TOKEN": fake_tg.token, "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "TELEGRAM_API_BASE": fake_tg.base_url, "TELEGRAM_BOT_USERNAME": fake_tg.username,
        "TELEGRAM_CHAT_INTERVAL_S": 0.02, "TELEGRAM_GROUP_INTERVAL_S": 0.02, "CHANNEL_HTTP_TIMEOUT_S": 5,
        "PUBLIC_BASE_URL": "https://chatbot.example.gov.vn",
    })
    return fake_tg


def seed_zalo_tokens(url: str, access: str = "at-0", refresh: str = "rt-0", expires_in_s: float = 25 * 3600) -> None:
    """Store a Zalo token pair as if it had been refreshed earlier."""
    with session_scope(url) as session:
        session.query(OAuthToken).filter(OAuthToken.provider == "zalo_oa").delete()
        session.add(OAuthToken(provider="zalo_oa", access_token=access, refresh_token=refresh,
                               expires_at=utcnow() + dt.timedelta(seconds=expires_in_s), updated_at=utcnow()))


@pytest.fixture
def zalo_env(monkeypatch: pytest.MonkeyPatch, fake_zalo: FakeZaloAPI) -> FakeZaloAPI:
    """Zalo configured against the fake."""
    set_env(monkeypatch, {
        "ZALO_APP_ID": APP_ID, "ZALO_APP_SECRET": APP_SECRET, "ZALO_OA_SECRET_KEY": OA_SECRET_KEY,
        "ZALO_API_BASE": fake_zalo.api_base, "ZALO_OAUTH_BASE": fake_zalo.oauth_base,
        "ZALO_ZNS_BASE": fake_zalo.zns_base, "ZALO_ACCESS_TOKEN": "at-0", "ZALO_REFRESH_TOKEN": "rt-0",
        "ZALO_ZNS_TEMPLATE_ID": "301234", "CHANNEL_HTTP_TIMEOUT_S": 5,
    })
    return fake_zalo
