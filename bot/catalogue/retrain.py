"""The "NLU model needs retraining" flag, stored in the database (the training job reads and clears it)."""

from __future__ import annotations

from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import utcnow
from bot.db.models_catalogue import RetrainFlag

NLU = "nlu"


def retrain_flag(session: Session, key: str = NLU) -> Optional[RetrainFlag]:
    """The flag of model ``key`` (None before anything set it)."""
    return session.execute(select(RetrainFlag).where(RetrainFlag.key == key)).scalar()


def retrain_needed(session: Session, key: str = NLU) -> bool:
    """True when a change since the last training asks for a new model."""
    flag = retrain_flag(session, key)
    return bool(flag and flag.needed)


def mark_retrain_needed(session: Session, actor: str, reason: str, key: str = NLU) -> RetrainFlag:
    """Flag model ``key`` for retraining (in the caller's transaction)."""
    flag = retrain_flag(session, key)
    if flag is None:
        flag = RetrainFlag(key=key)
        session.add(flag)
    flag.needed, flag.reason, flag.changed_at, flag.changed_by = True, reason, utcnow(), actor
    session.flush()
    if key == NLU:  # the generated synonyms are training data: the nightly retrain sees the change
        from bot.training.state import mark_changed

        mark_changed(session, actor, f"catalogue: {reason}")
    return flag


def clear_retrain(session: Session, actor: str, key: str = NLU) -> None:
    """The model was retrained: clear the flag."""
    flag = retrain_flag(session, key)
    if flag is not None:
        flag.needed, flag.reason, flag.changed_at, flag.changed_by = False, None, utcnow(), actor
        session.flush()
