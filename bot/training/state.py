"""The "training data changed since the active model" flag (one row other code reads).

Every change to the training data sets it (:func:`mark_changed`); the training job reads it
(:func:`data_changed`) and clears it when a model trained on the current data becomes active
(:func:`clear_changed`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional

from sqlalchemy.orm import Session

from bot.db.models import utcnow
from bot.db.models_training_data import TrainingDataState

ROW_ID = 1


@dataclass(frozen=True)
class DataState:
    """The flag as read."""

    changed: bool
    changed_at: Optional[str]
    changed_by: Optional[str]
    change: Optional[str]


def _row(session: Session) -> TrainingDataState:
    row = session.get(TrainingDataState, ROW_ID)
    if row is None:
        row = TrainingDataState(id=ROW_ID, changed=False)
        session.add(row)
        session.flush()
    return row


def mark_changed(session: Session, actor: str, change: str) -> None:
    """Record that the training data changed (in the caller's unit of work)."""
    row = _row(session)
    row.changed, row.changed_at, row.changed_by, row.change = True, utcnow(), actor[:64], change[:80]


def clear_changed(session: Session) -> None:
    """The active model was trained on the current data (the training job calls this)."""
    _row(session).changed = False


def settle_after_training(session: Session, snapshot_at: dt.datetime, actor: str) -> None:
    """A model trained on the data as of ``snapshot_at`` became active: clear the "changed" flags
    (training data, and the catalogue's retrain flag) unless something changed after the snapshot."""
    from bot.catalogue.retrain import clear_retrain, retrain_flag

    row = _row(session)
    if row.changed and (row.changed_at is None or row.changed_at <= snapshot_at):
        row.changed = False
    flag = retrain_flag(session)
    if flag is not None and flag.needed and (flag.changed_at is None or flag.changed_at <= snapshot_at):
        clear_retrain(session, actor)


def data_changed(session: Session) -> bool:
    """True when the training data changed since the active model."""
    row = session.get(TrainingDataState, ROW_ID)
    return bool(row and row.changed)


def data_state(session: Session) -> DataState:
    """The flag with who changed what, when."""
    row = session.get(TrainingDataState, ROW_ID)
    if row is None:
        return DataState(False, None, None, None)
    return DataState(bool(row.changed), row.changed_at.isoformat() if row.changed_at else None,
                     row.changed_by, row.change)


def store_is_empty(session: Session) -> bool:
    """True while the training data store holds no example (nothing imported yet)."""
    from sqlalchemy import select

    from bot.db.models_training_data import TrainingExample

    return session.execute(select(TrainingExample.id).limit(1)).first() is None
