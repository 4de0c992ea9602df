"""The notice state machine in SQL: claims, the fenced start of a send, and outcomes.

::

    pending ──claim──► claimed(token, lease) ──begin_send──► sending ──► sent
       ▲                  │ lease expired: re-claimable         │      failed / undeliverable
       └── retry at ──────┴───────────────────────────────────── ┤      pending (definite non-delivery)
                                                                  └──► unconfirmed (maybe delivered)

* ``claim`` moves due rows to ``claimed`` under a fresh token (the fencing token): on
  PostgreSQL the candidates are locked ``FOR UPDATE SKIP LOCKED``; on SQLite the single
  ``UPDATE`` runs under the database write lock. A ``claimed`` row whose lease ran out
  (its worker died or stalled before sending) may be claimed again under a new token.
* ``begin_send`` is the fence: one ``UPDATE … WHERE claimed_by = :token AND state =
  'claimed' AND claimed_at >= now - lease``, committed *before* the network call. A
  worker whose claim was taken over, or whose lease is gone, changes no row and must not
  send.
* A ``sending`` row is never claimed again. If its worker does not record an outcome
  within the lease (it crashed between send and record, or the send hangs), the next
  sweep marks it ``unconfirmed``: it may have been delivered, so it is never resent
  automatically (see :mod:`bot.reminders.report`).
* Outcomes are written with ``WHERE claimed_by = :token`` (``finish``), so only the
  worker that sent may record what happened; a late true outcome replaces
  ``unconfirmed``.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import List, Tuple

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from bot.db.models import NotificationLog

logger = logging.getLogger(__name__)

PENDING, CLAIMED, SENDING, SENT = "pending", "claimed", "sending", "sent"
FAILED, UNDELIVERABLE, CANCELLED, UNCONFIRMED = "failed", "undeliverable", "cancelled", "unconfirmed"
#: States whose row still belongs to the worker that began the send.
IN_FLIGHT = (SENDING, UNCONFIRMED)


def _due(now_db: dt.datetime, lease: dt.timedelta, max_attempts: int) -> sa.sql.ColumnElement:
    """Rows a worker may claim: pending and due, or claimed under an expired lease (never ``sending``)."""
    n = NotificationLog
    return sa.and_(
        n.attempts < max_attempts,
        sa.or_(
            sa.and_(n.state == PENDING, n.next_attempt_at <= now_db),
            sa.and_(n.state == CLAIMED, n.claimed_at < now_db - lease),
        ),
    )


def claim(sessions: sessionmaker, token: str, now_db: dt.datetime, *, lease: dt.timedelta, max_attempts: int,
          batch_size: int) -> List[int]:
    """Atomically claim up to ``batch_size`` due notices under ``token``; returns their ids."""
    n = NotificationLog
    with sessions() as session, session.begin():
        candidates = (
            sa.select(n.id).where(_due(now_db, lease, max_attempts)).order_by(n.next_attempt_at, n.id)
            .limit(batch_size).with_for_update(skip_locked=True)
        )
        # Two statements on purpose: PostgreSQL may re-run an ``IN (SELECT … LIMIT … SKIP
        # LOCKED)`` subquery per row and so claim more than the batch. The locks taken by
        # the SELECT hold until commit; the UPDATE re-checks the state, so on SQLite (no row
        # locks) a row another process claimed meanwhile is simply not ours.
        ids = list(session.execute(candidates).scalars())
        if ids:
            session.execute(
                sa.update(n).where(n.id.in_(ids), _due(now_db, lease, max_attempts))
                .values(state=CLAIMED, claimed_by=token, claimed_at=now_db, attempts=n.attempts + 1)
                .execution_options(synchronize_session=False)
            )
    with sessions() as session:
        return list(session.execute(
            sa.select(n.id).where(n.claimed_by == token, n.state == CLAIMED).order_by(n.id)).scalars())


def settle_stale(sessions: sessionmaker, now_db: dt.datetime, *, lease: dt.timedelta,
                 max_attempts: int) -> Tuple[List[str], int]:
    """Close rows whose worker vanished; returns (keys now ``unconfirmed``, claims given up).

    A ``sending`` row older than the lease may have been delivered: it becomes
    ``unconfirmed`` and is never resent. A ``claimed`` row that expired after the last
    allowed attempt was never sent: it becomes ``failed``.
    """
    n = NotificationLog
    cutoff = now_db - lease
    with sessions() as session, session.begin():
        stale = session.execute(
            sa.select(n.id, n.key).where(n.state == SENDING, n.claimed_at < cutoff).order_by(n.id)
            .with_for_update(skip_locked=True)).all()
        if stale:
            session.execute(
                sa.update(n).where(n.id.in_([row.id for row in stale]), n.state == SENDING, n.claimed_at < cutoff)
                .values(state=UNCONFIRMED,
                        last_error="no outcome recorded within the lease (the worker stopped or stalled during "
                                   "the send); it may have been delivered, so it is not resent")
                .execution_options(synchronize_session=False))
        given_up = session.execute(
            sa.update(n).where(n.state == CLAIMED, n.claimed_at < cutoff, n.attempts >= max_attempts)
            .values(state=FAILED, last_error="claim expired after the last attempt (never sent)")
            .execution_options(synchronize_session=False)).rowcount or 0
    keys = [row.key for row in stale]
    if keys:
        logger.warning("%d reminder notice(s) were being sent when their worker stopped; marked unconfirmed, "
                       "not resent: %s", len(keys), ", ".join(keys[:20]))
    return keys, max(given_up, 0)


def begin_send(sessions: sessionmaker, token: str, notice_id: int, now_db: dt.datetime, *,
               lease: dt.timedelta) -> bool:
    """The fence before the network call: ``claimed`` → ``sending`` if the claim is still ours and alive.

    Committed before returning. ``claimed_at`` becomes the moment the send began (the
    lease of the ``sending`` state). Returns False when the worker must not send.
    """
    n = NotificationLog
    with sessions() as session, session.begin():
        result = session.execute(
            sa.update(n)
            .where(n.id == notice_id, n.claimed_by == token, n.state == CLAIMED, n.claimed_at >= now_db - lease)
            .values(state=SENDING, claimed_at=now_db)
            .execution_options(synchronize_session=False))
        return bool(result.rowcount)


def release(sessions: sessionmaker, token: str, notice_id: int) -> bool:
    """Hand an unsent claim back (``pending`` at once, the attempt not counted)."""
    n = NotificationLog
    with sessions() as session, session.begin():
        result = session.execute(
            sa.update(n).where(n.id == notice_id, n.claimed_by == token, n.state == CLAIMED)
            .values(state=PENDING, claimed_by=None, attempts=n.attempts - 1)
            .execution_options(synchronize_session=False))
        return bool(result.rowcount)


def finish(sessions: sessionmaker, token: str, notice_id: int, **values: object) -> bool:
    """Record the outcome of our own send (the row is ``sending``, or ``unconfirmed`` after a slow send)."""
    with sessions() as session, session.begin():
        return finish_in(session, token, notice_id, **values)


def finish_in(session: Session, token: str, notice_id: int, **values: object) -> bool:
    """:func:`finish` inside the caller's transaction."""
    n = NotificationLog
    result = session.execute(
        sa.update(n).where(n.id == notice_id, n.claimed_by == token, n.state.in_(IN_FLIGHT))
        .values(**values).execution_options(synchronize_session=False))
    return bool(result.rowcount)


def attempts_of(sessions: sessionmaker, notice_id: int) -> int:
    """How many times the notice was claimed."""
    with sessions() as session:
        return session.execute(
            sa.select(NotificationLog.attempts).where(NotificationLog.id == notice_id)).scalar() or 0

