"""Pooled PostgreSQL connections ended by the server are replaced at checkout, without a ping.

Each test ends a pooled connection's server session with ``pg_terminate_backend(pid, timeout)``,
which returns once that backend has exited (its socket closed), as a restart of the server does
to every session, and then uses the pool again.
"""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.cli.runtime import tracker_store_endpoint
from bot.db.liveness import looks_dead
from bot.db.session import autocommit_engine, get_engine, session_scope
from integrations.tracker_store import MaskingSQLTrackerStore
from tests.support.postgres import PG_ADMIN_URL

pytestmark = pytest.mark.postgres
PID = sa.text("SELECT pg_backend_pid()")


def _end_session(pid: int) -> None:
    """End server session ``pid`` and wait until its backend has exited."""
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", future=True)
    try:
        with admin.connect() as conn:
            assert conn.execute(sa.text("SELECT pg_terminate_backend(:pid, 10000)"), {"pid": pid}).scalar()
    finally:
        admin.dispose()


def _pid(engine: sa.engine.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(PID).scalar_one())


@pytest.mark.parametrize("kind", ["transactional", "autocommit"])
def test_a_healthy_connection_is_reused_and_an_ended_one_replaced(pg_url: str, kind: str) -> None:
    engine = get_engine(pg_url) if kind == "transactional" else autocommit_engine(pg_url)
    first = _pid(engine)
    assert _pid(engine) == first  # not reconnected: a healthy idle connection is not taken for dead
    _end_session(first)
    second = _pid(engine)  # the pool hands out a fresh connection instead of the dead one
    assert second != first
    assert _pid(engine) == second


def test_a_unit_of_work_after_the_server_ended_the_session_succeeds(pg_url: str) -> None:
    with session_scope(pg_url) as session:
        pid = int(session.execute(PID).scalar_one())
    _end_session(pid)
    with session_scope(pg_url) as session:
        assert session.execute(sa.text("SELECT 1")).scalar_one() == 1


def test_without_the_check_the_same_pool_hands_out_the_dead_connection(pg_url: str) -> None:
    """The control: a plain pool (no ping, no check) fails the first unit of work after the end."""
    plain = sa.create_engine(pg_url, future=True)
    try:
        _end_session(_pid(plain))
        with pytest.raises(sa.exc.OperationalError):
            _pid(plain)
    finally:
        plain.dispose()


def test_the_check_reads_the_socket_only(pg_url: str) -> None:
    engine = sa.create_engine(pg_url, future=True)
    try:
        with engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            pid = int(conn.execute(PID).scalar_one())
            conn.commit()
            assert not looks_dead(raw)
            _end_session(pid)
            assert looks_dead(raw)
        raw.close()
        assert looks_dead(raw)
    finally:
        engine.dispose()


def test_the_tracker_store_carries_on_after_the_server_ended_its_session(pg_url: str) -> None:
    config = tracker_store_endpoint(pg_url)
    config.pop("type")
    config["host"] = config.pop("url")
    store = MaskingSQLTrackerStore(domain=Domain.empty(), **config)
    try:
        tracker = DialogueStateTracker("liveness", [])
        tracker.update(ActionExecuted("action_listen", timestamp=1.0))
        asyncio.run(store.save(tracker))
        _end_session(_pid(store.engine))
        tracker.update(BotUttered("chao", timestamp=2.0))
        asyncio.run(store.save(tracker))
        loaded = asyncio.run(store.retrieve("liveness"))
        assert loaded is not None and [e.type_name for e in loaded.events] == ["action", "bot"]
    finally:
        store.engine.dispose()
