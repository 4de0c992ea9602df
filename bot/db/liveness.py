"""A pooled PostgreSQL connection is checked for life at checkout without a round trip.

SQLAlchemy's ``pool_pre_ping`` sends ``SELECT 1`` before every unit of work: a round trip to
the server each time, about half a millisecond of every citizen's turn in the action server
(issue 15, docs/profile.md). What the ping is there for is a server that restarted or ended the
session (``pg_ctl restart``, ``pg_terminate_backend``, ``idle_session_timeout``): PostgreSQL
then sends its termination notice and closes the socket, so the idle connection's socket turns
readable, while a healthy idle connection has nothing to read. :func:`install` checks exactly
that at checkout (a zero-timeout ``poll``) and makes the pool replace such a connection
(``DisconnectionError``: the pool retries with a fresh one). A connection that is readable for
another reason is only replaced, never used. A peer that vanished without closing (a dropped
network path) is caught by neither check at checkout: the ping would wait for TCP's timeout too;
TCP keepalives (``keepalives_idle`` in the URL's query) are the tool for that.
"""

from __future__ import annotations

import select
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine


def looks_dead(dbapi_connection: Any) -> bool:
    """True when a psycopg2 connection is closed, or its idle socket has something to read (the
    server's goodbye or end of file)."""
    if getattr(dbapi_connection, "closed", 0):
        return True
    try:
        poller = select.poll()
        poller.register(dbapi_connection.fileno(), select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True


def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    if looks_dead(dbapi_connection):
        raise exc.DisconnectionError("the server closed this pooled connection")


def install(engine: Engine) -> Engine:
    """Check ``engine``'s pooled connections at checkout (PostgreSQL; other dialects unchanged)."""
    if engine.dialect.name == "postgresql":
        event.listen(engine, "checkout", _on_checkout)
    return engine
