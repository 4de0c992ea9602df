"""The ``analytics_state`` rows: one per rollup (``events``, ``handoffs``, ``reminders``).

A row holds the rollup's watermark (the highest id rolled up) and the start of its last run. A run
locks its row with an ``UPDATE`` (a row lock on PostgreSQL, the write lock on SQLite), so concurrent
runs queue behind each other and each sees the last one's watermark.
"""

from __future__ import annotations

from typing import Optional, Tuple

import sqlalchemy as sa

from bot.analytics.schema import analytics_state


def ensure_state_row(engine: sa.engine.Engine, name: str) -> None:
    """Insert the state row ``name`` if missing (safe when runs race to insert it)."""
    state = analytics_state.c
    with engine.begin() as conn:
        if conn.execute(sa.select(state.name).where(state.name == name)).first():
            return
    try:
        with engine.begin() as conn:
            conn.execute(analytics_state.insert().values(name=name))
    except sa.exc.IntegrityError:  # another run inserted it first
        pass


def lock_state(conn: sa.engine.Connection, name: str, now: float) -> Tuple[Optional[int], Optional[float]]:
    """Lock the state row ``name`` (queues concurrent runs) and read the last run's watermark and start."""
    state = analytics_state.c
    conn.execute(analytics_state.update().where(state.name == name).values(updated_at=now))
    watermark, last_run = conn.execute(sa.select(state.last_event_id, state.last_run_at)
                                       .where(state.name == name)).one()
    return (None if watermark is None else int(watermark)), last_run


def save_state(conn: sa.engine.Connection, name: str, watermark: int, now: float) -> None:
    """Record a finished run of ``name``: its watermark and start."""
    conn.execute(analytics_state.update().where(analytics_state.c.name == name)
                 .values(last_event_id=watermark, last_run_at=now, updated_at=now))
