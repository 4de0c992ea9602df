"""Shared fixtures: real databases (fresh SQLite file, fresh PostgreSQL database), settings isolation.

``db_url`` runs a test once on SQLite and once on the local PostgreSQL (skipped, with
the reason, only when PostgreSQL cannot be reached). Every PostgreSQL run carries the
``postgres`` marker, so ``pytest -m "not postgres"`` deselects them all.
"""

from __future__ import annotations

from typing import Iterator

import pytest

from bot.db.session import get_engine, upgrade
from bot.settings import get_settings
from tests.support.postgres import ON_POSTGRES, postgres_or_skip
from tests.support.reminders import (  # noqa: F401 - fixtures of the reminder tests (services, actions, channels)
    clock,
    postgres_url,
    reminder_db_url,
    reminder_env,
    reminder_pg_url,
    world,
)


def reset_caches() -> None:
    """Forget cached settings and engines (after changing the environment)."""
    get_settings.cache_clear()
    get_engine.cache_clear()


@pytest.fixture
def sqlite_url(tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh, migrated SQLite file database (also set as DATABASE_URL)."""
    url = f"sqlite:///{tmp_path / 'test.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    reset_caches()
    upgrade(url)
    yield url
    get_engine(url).dispose()
    reset_caches()


@pytest.fixture
def pg_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database (created via ``postgres``, dropped afterwards)."""
    with postgres_or_skip("test") as url:
        monkeypatch.setenv("DATABASE_URL", url)
        reset_caches()
        yield url
        reset_caches()


@pytest.fixture(params=["sqlite", ON_POSTGRES])
def db_url(request: pytest.FixtureRequest) -> str:
    """The same test on SQLite and on PostgreSQL."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
