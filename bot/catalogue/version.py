"""The catalogue's version: one counter, bumped in the transaction of every change to procedures.

Within one transaction the version is read once (a search and an answer both ask for it): it is
kept on the session with the transaction it was read in, and a change made through
:func:`bump_version` marks the session as a writer (:func:`changed_here`).
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.db.models import CatalogueState, utcnow

_READ = "catalogue_version"  # session.info key: (transaction, version)
_CHANGED = "catalogue_changed"  # session.info key: this session changed the catalogue
_VERSION = select(CatalogueState.version).where(CatalogueState.id == 1)  # built once (issue 15)


def database_key(session: Session) -> str:
    """Which database ``session`` reads (this process's caches of the catalogue are kept per database)."""
    return str(session.get_bind().url)


def catalogue_version(session: Session) -> int:
    """The current version (0 before the first change)."""
    kept = session.info.get(_READ)
    if kept is not None and kept[0] is session.get_transaction():
        return kept[1]
    version = session.execute(_VERSION).scalar() or 0
    session.info[_READ] = (session.get_transaction(), version)
    return version


def bump_version(session: Session) -> None:
    """Count one more change (in the caller's transaction, so readers see it with the change)."""
    session.info.pop(_READ, None)
    session.info[_CHANGED] = True
    done = session.execute(update(CatalogueState).where(CatalogueState.id == 1).values(
        version=CatalogueState.version + 1, changed_at=utcnow())).rowcount
    if not done:
        session.add(CatalogueState(id=1, version=1, changed_at=utcnow()))
        session.flush()


def changed_here(session: Session) -> bool:
    """Whether this session changed the catalogue (its reads may hold changes not committed)."""
    return bool(session.info.get(_CHANGED))
