"""The catalogue's version: one counter, bumped in the transaction of every change to procedures."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.db.models import CatalogueState, utcnow


def catalogue_version(session: Session) -> int:
    """The current version (0 before the first change)."""
    return session.execute(select(CatalogueState.version).where(CatalogueState.id == 1)).scalar() or 0


def bump_version(session: Session) -> None:
    """Count one more change (in the caller's transaction, so readers see it with the change)."""
    done = session.execute(update(CatalogueState).where(CatalogueState.id == 1).values(
        version=CatalogueState.version + 1, changed_at=utcnow())).rowcount
    if not done:
        session.add(CatalogueState(id=1, version=1, changed_at=utcnow()))
        session.flush()
