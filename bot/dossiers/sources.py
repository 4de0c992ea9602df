"""Where dossiers come from: the :class:`DossierSource` protocol and the project database's source.

The one-stop REST client (an adapter outside ``bot/``) implements the same protocol; both raise
:class:`SourceUnavailable` when they cannot answer, so the assistant can apologise and give the
hotline instead of failing.
"""

from __future__ import annotations

import logging
from typing import Optional, Protocol

from sqlalchemy.exc import SQLAlchemyError

from bot.db.session import session_scope
from bot.dossiers.service import DOSSIER_BY_CODE, DossierRecord

logger = logging.getLogger(__name__)


class SourceUnavailable(RuntimeError):
    """The dossier source is down or answered with an error."""


class DossierSource(Protocol):
    """Where dossiers come from."""

    async def get(self, code: str) -> Optional[DossierRecord]:
        """The dossier with this canonical code, None if there is none."""


class LocalDossierSource:
    """Dossiers from the project database."""

    def __init__(self, database_url: Optional[str] = None) -> None:
        self.database_url = database_url

    async def get(self, code: str) -> Optional[DossierRecord]:
        """Look the code up (indexed unique column)."""
        try:
            with session_scope(self.database_url) as session:
                row = session.execute(DOSSIER_BY_CODE, {"code": code}).scalar_one_or_none()
                return DossierRecord.from_row(row) if row else None
        except SQLAlchemyError as exc:
            logger.error("dossier database unavailable: %s", exc)
            raise SourceUnavailable("database unavailable") from exc
