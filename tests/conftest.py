"""Shared fixtures: real databases (fresh SQLite file, fresh PostgreSQL database), settings isolation.

``db_url`` runs a test once on SQLite and once on the local PostgreSQL (skipped, with
the reason, only when PostgreSQL cannot be reached).
"""

from __future__ import annotations

import os
import uuid
from typing import Iterator

import pytest
import sqlalchemy as sa

from bot.db.session import get_engine, upgrade
from bot.settings import get_settings

PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")


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
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", future=True)
    name = f"test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    monkeypatch.setenv("DATABASE_URL", url)
    reset_caches()
    try:
        upgrade(url)
        yield url
    finally:
        get_engine(url).dispose()
        reset_caches()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """The same test on SQLite and on PostgreSQL."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
