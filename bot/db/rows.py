"""Reading rows by id: one row or an error, the newest rows first."""

from __future__ import annotations

from typing import Any, List, Type, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

M = TypeVar("M")


def get_or_raise(session: Session, model: Type[M], key: Any, error: Exception) -> M:
    """The row of ``model`` with primary key ``key``.

    Raises:
        Exception: ``error``, when there is no such row.
    """
    row = session.get(model, key)
    if row is None:
        raise error
    return row


def newest(session: Session, model: Any, limit: int, most: int) -> List[Any]:
    """Up to ``limit`` rows of ``model`` (at least 1, at most ``most``), highest id first."""
    query = select(model).order_by(model.id.desc()).limit(max(1, min(limit, most)))
    return list(session.execute(query).scalars())
