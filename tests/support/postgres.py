"""Scratch PostgreSQL databases on the local server, for tests and benchmarks."""

from __future__ import annotations

import contextlib
import os
import uuid
from typing import Iterator

import pytest
import sqlalchemy as sa

from bot.db.session import get_engine, upgrade

PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")


class PostgresUnavailable(RuntimeError):
    """The local PostgreSQL server cannot be reached."""


@contextlib.contextmanager
def scratch_postgres(prefix: str = "scratch", migrate: bool = True) -> Iterator[str]:
    """A new PostgreSQL database (migrated unless told otherwise), dropped afterwards.

    Raises:
        PostgresUnavailable: when the server cannot be reached (tests turn this into a skip).
    """
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", future=True)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        raise PostgresUnavailable(str(exc)) from exc
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        if migrate:
            upgrade(url)
        yield url
    finally:
        get_engine(url).dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def postgres_or_skip(prefix: str) -> Iterator[str]:
    """:func:`scratch_postgres`, skipping the test (with the reason) when PostgreSQL is unreachable."""
    try:
        with scratch_postgres(prefix) as url:
            yield url
    except PostgresUnavailable as exc:
        pytest.skip(f"PostgreSQL not reachable: {exc}")


ON_POSTGRES = pytest.param("postgres", marks=pytest.mark.postgres)
"""The PostgreSQL parameter of every database-parametrised fixture (``-m "not postgres"`` deselects it)."""
