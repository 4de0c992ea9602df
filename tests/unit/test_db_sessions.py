"""Units of work: one session factory per engine, and read-only units on autocommit connections."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.db.models import ChatUser
from bot.db.session import get_sessionmaker, read_scope, session_scope


def _users() -> int:
    with session_scope() as session:
        return int(session.execute(select(func.count(ChatUser.id))).scalar_one())


def test_one_session_factory_per_engine(db_url: str) -> None:
    assert get_sessionmaker(db_url) is get_sessionmaker(db_url)
    with session_scope(db_url) as one, session_scope(db_url) as two:
        assert one is not two and type(one) is type(two)


def test_a_read_scope_reads_what_is_committed_and_keeps_nothing(db_url: str) -> None:
    with read_scope() as reader:
        assert reader.execute(select(func.count(ChatUser.id))).scalar_one() == 0
        with session_scope() as writer:  # committed while the read unit is open
            writer.add(ChatUser(channel="telegram", channel_user_id="1"))
        assert reader.execute(select(func.count(ChatUser.id))).scalar_one() == 1
        reader.add(ChatUser(channel="zalo", channel_user_id="2"))  # an ORM change is never written
    assert _users() == 1


def test_a_read_scope_sends_no_transaction_statements(db_url: str) -> None:
    """Its connection is in autocommit, so the driver sends neither BEGIN nor COMMIT."""
    with read_scope() as reader:
        reader.execute(select(1))
        raw = reader.connection().connection.dbapi_connection
        on_postgres = reader.bind.dialect.name == "postgresql"
        assert raw.autocommit if on_postgres else raw.isolation_level is None
    with session_scope() as writer:
        writer.execute(select(1))
        raw = writer.connection().connection.dbapi_connection
        assert not raw.autocommit if on_postgres else raw.isolation_level is not None
