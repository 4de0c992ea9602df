"""Engine and session handling: one session per unit of work, nothing at import time."""

from __future__ import annotations

import contextlib
import logging
from functools import lru_cache
from pathlib import Path
from typing import Iterator, Optional

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.db import liveness
from bot.settings import ROOT, get_settings

logger = logging.getLogger(__name__)


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str, autocommit: bool = False) -> Engine:
    """Create an engine for ``url`` (SQLite file directories are created).

    ``hide_parameters`` keeps bound values (names, phone numbers, codes) out of SQL
    error messages and logs: a failed statement is logged without its data. PostgreSQL
    connections are checked for life at checkout (:mod:`bot.db.liveness`); with ``autocommit``
    they are in autocommit from their creation (no switch and reset at every checkout).
    """
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, future=True, hide_parameters=True,
                               connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    level = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
    return liveness.install(create_engine(url, future=True, hide_parameters=True, pool_size=10,
                                          max_overflow=20, **level))


@lru_cache(maxsize=8)
def _cached_engine(url: str) -> Engine:
    return make_engine(url)


def get_engine(url: Optional[str] = None) -> Engine:
    """The (cached per URL) engine of ``url`` or of the current ``DATABASE_URL``."""
    return _cached_engine(url or get_settings().database_url)


def autocommit_engine(url: Optional[str] = None) -> Engine:
    """The (cached per URL) engine of ``url`` with each statement its own transaction (no
    ``BEGIN``/``COMMIT`` round trips): for a hot path of single statements, each atomic on its own
    (issue 15). On PostgreSQL its own pool of autocommit connections; on SQLite the one engine in
    autocommit per checkout (an in-memory database lives in one engine's pool)."""
    return _autocommit(url or get_settings().database_url)


@lru_cache(maxsize=8)
def _autocommit(url: str) -> Engine:
    if url.startswith("sqlite"):
        return get_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    return make_engine(url, autocommit=True)


def _clear_engines() -> None:
    _cached_engine.cache_clear()
    _autocommit.cache_clear()
    _sessionmaker.cache_clear()


get_engine.cache_clear = _clear_engines  # type: ignore[attr-defined]


def get_sessionmaker(url: Optional[str] = None) -> sessionmaker:
    """The (cached per URL) session factory bound to the engine of ``url``.

    One factory per engine: ``sessionmaker()`` makes a new ``Session`` subclass, and SQLAlchemy
    builds a session's event dispatch once per class, so a factory made for every unit of work
    cost 0.1 ms each time alone, and more in the action server's profile (issue 15, docs/profile.md).
    """
    return _sessionmaker(get_engine(url))


@lru_cache(maxsize=16)
def _sessionmaker(engine: Engine, autoflush: bool = True) -> sessionmaker:
    return sessionmaker(bind=engine, future=True, expire_on_commit=False, autoflush=autoflush)


@contextlib.contextmanager
def read_scope(url: Optional[str] = None) -> Iterator[Session]:
    """A read-only unit of work on autocommit connections: each statement reads what is committed
    when it runs, as in a ``READ COMMITTED`` transaction, without the ``BEGIN``/``COMMIT`` round
    trips around it (issue 15). Never committed: ORM changes are dropped at the end, so writes
    belong in :func:`session_scope`."""
    session = _sessionmaker(autocommit_engine(url), autoflush=False)()
    try:
        yield session
    finally:
        session.close()


@contextlib.contextmanager
def session_scope(url: Optional[str] = None) -> Iterator[Session]:
    """A transactional unit of work: commit on success, roll back on error."""
    session = get_sessionmaker(url)()
    try:
        yield session
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: Optional[str] = None):  # type: ignore[no-untyped-def]
    """Alembic config pointing at this package's migrations."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(ROOT / "bot" / "db" / "migrations"))
    cfg.set_main_option("sqlalchemy.url", (url or get_settings().database_url).replace("%", "%%"))
    return cfg


def upgrade(url: Optional[str] = None) -> None:
    """Apply every Alembic migration to ``url`` (or ``DATABASE_URL``)."""
    from alembic import command

    cfg = alembic_config(url)
    engine = make_engine(url or get_settings().database_url)
    try:
        with engine.begin() as connection:
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "head")
    finally:
        engine.dispose()
