"""Admission of inbound messages: de-duplication, per-user rate limit, interaction record.

:func:`admit_inbound` runs one short database transaction per inbound webhook that
(1) claims the platform message id in ``processed_messages`` (insert-or-skip on the
unique constraint, so a replay - by the platform, by an attacker, or to a second
replica - is recognised across restarts), (2) counts the message in the user's
one-minute window in ``rate_limit_hits`` and decides whether this is the ONE message
of a flood that gets a polite notice, and (3) records the interaction in
``chat_users`` (``last_interaction_at``, reachable again). Nothing is kept in process
memory, so any number of replicas agree.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import threading
from dataclasses import dataclass
from typing import Any, Dict, Iterator, Optional, Sequence

from sqlalchemy import Boolean, DateTime, bindparam, text
from sqlalchemy.orm import Session

from bot.db.models import utcnow
from bot.db.session import get_sessionmaker


@dataclass(frozen=True)
class Admission:
    """The verdict on one inbound message."""

    duplicate: bool = False
    limited: bool = False
    notify: bool = False

    @property
    def accepted(self) -> bool:
        """True when the message should be processed."""
        return not self.duplicate and not self.limited


def dialect_insert(session: Session, table: Any) -> Any:
    """The dialect's INSERT supporting ``on_conflict_*`` (PostgreSQL and SQLite)."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - only PostgreSQL and SQLite are supported
        raise RuntimeError(f"unsupported database dialect {name}")
    return insert(table)


def insert_or_ignore(session: Session, table: Any, values: Dict[str, Any], conflict: Sequence[str]) -> int:
    """``INSERT ... ON CONFLICT (conflict) DO NOTHING``; returns the number of rows inserted."""
    statement = dialect_insert(session, table).values(**values).on_conflict_do_nothing(index_elements=list(conflict))
    return session.execute(statement).rowcount


# The admission runs on every webhook, so its statements are plain SQL (compiled once):
# ``INSERT ... ON CONFLICT`` is understood alike by PostgreSQL (>= 9.5) and SQLite (>= 3.24).
_CLAIM = text(
    "INSERT INTO processed_messages (platform, message_id, received_at) VALUES (:platform, :message_id, :now) "
    "ON CONFLICT (platform, message_id) DO NOTHING"
).bindparams(bindparam("now", type_=DateTime()))
_HIT = text(
    "INSERT INTO rate_limit_hits (user_key, window_start, count, notified) VALUES (:user_key, :window, 1, :no) "
    "ON CONFLICT (user_key, window_start) DO UPDATE SET count = rate_limit_hits.count + 1"
).bindparams(bindparam("window", type_=DateTime()), bindparam("no", type_=Boolean()))
_HIT_READ = text(
    "SELECT id, count, notified FROM rate_limit_hits WHERE user_key = :user_key AND window_start = :window"
).bindparams(bindparam("window", type_=DateTime())).columns(notified=Boolean())
_NOTIFY = text(
    "UPDATE rate_limit_hits SET notified = :yes WHERE id = :id AND notified = :no"
).bindparams(bindparam("yes", type_=Boolean()), bindparam("no", type_=Boolean()))
_TOUCH = text(
    "INSERT INTO chat_users (channel, channel_user_id, reachable, last_interaction_at, created_at) "
    "VALUES (:channel, :user_id, :yes, :now, :now) ON CONFLICT (channel, channel_user_id) DO UPDATE SET "
    "last_interaction_at = excluded.last_interaction_at, reachable = excluded.reachable, unreachable_reason = NULL"
).bindparams(bindparam("now", type_=DateTime()), bindparam("yes", type_=Boolean()))


def claim_message(session: Session, platform: str, message_id: str, now: Optional[dt.datetime] = None) -> bool:
    """Insert-or-skip ``(platform, message_id)``; True when this call claimed it first."""
    result = session.execute(_CLAIM, {"platform": platform, "message_id": str(message_id)[:120],
                                      "now": now or utcnow()})
    return result.rowcount == 1


def count_hit(session: Session, user_key: str, limit: int, now: Optional[dt.datetime] = None) -> Admission:
    """Count one message in the user's current minute; decide limited / notify."""
    window = (now or utcnow()).replace(second=0, microsecond=0)
    params = {"user_key": user_key, "window": window}
    session.execute(_HIT, {**params, "no": False})
    row = session.execute(_HIT_READ, params).one()
    if row.count <= limit:
        return Admission()
    if row.notified:
        return Admission(limited=True)
    flipped = session.execute(_NOTIFY, {"id": row.id, "yes": True, "no": False}).rowcount
    return Admission(limited=True, notify=flipped == 1)


def touch_user(session: Session, channel: str, user_id: str, now: Optional[dt.datetime] = None) -> None:
    """Record an interaction: ``last_interaction_at`` = now and reachable again."""
    session.execute(_TOUCH, {"channel": channel, "user_id": str(user_id), "now": now or utcnow(), "yes": True})


_SQLITE_WRITERS: Dict[str, threading.Lock] = {}
_SQLITE_WRITERS_GUARD = threading.Lock()


@contextlib.contextmanager
def _serialised_if_sqlite(session: Session) -> Iterator[None]:
    """SQLite has one writer at a time: queue this process's writers on a lock instead of
    letting them spin in SQLite's busy handler (which sleeps in 1-100 ms steps)."""
    bind = session.get_bind()
    if bind.dialect.name != "sqlite":
        yield
        return
    with _SQLITE_WRITERS_GUARD:
        lock = _SQLITE_WRITERS.setdefault(str(bind.url), threading.Lock())
    with lock:
        yield


def admit_inbound_sync(
    *,
    platform: str,
    message_id: str,
    channel: str,
    user_id: Optional[str],
    limit: int,
    count_towards_limit: bool = True,
    database_url: Optional[str] = None,
) -> Admission:
    """One transaction: claim the message id, count it for the user, record the interaction."""
    session = get_sessionmaker(database_url)()
    try:
        with _serialised_if_sqlite(session):
            if not claim_message(session, platform, message_id):
                session.rollback()
                return Admission(duplicate=True)
            verdict = Admission()
            if user_id is not None:
                if count_towards_limit and limit > 0:
                    verdict = count_hit(session, f"{channel}:{user_id}", limit)
                touch_user(session, channel, user_id)
            session.commit()
            return verdict
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()


async def admit_inbound(**kwargs: Any) -> Admission:
    """Async wrapper of :func:`admit_inbound_sync` (runs in a worker thread)."""
    return await asyncio.to_thread(lambda: admit_inbound_sync(**kwargs))
