"""Staff overrides as every process reads them: cached, re-read only when the version row changes.

Each read costs one primary-key ``SELECT`` of ``response_texts_version``; the overrides
themselves are read again only after a change, so a reworded answer applies to the next
message in every process (Rasa's NLG endpoint, the action server, the reminder worker, the
channels) with no restart. When the database cannot be read the last good overrides (or
none) are used and the check is retried after :data:`RETRY_S`: texts never stop a reply.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from typing import Dict, Optional, Tuple

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from bot.db.models_texts import ResponseOverride, TextsVersion
from bot.texts.overlay import Override, OverrideKey, Overrides

logger = logging.getLogger(__name__)

RETRY_S = 5.0


def read_version(session) -> int:  # type: ignore[no-untyped-def]
    """The current texts version (0 when the row is missing)."""
    value = session.execute(select(TextsVersion.version).where(TextsVersion.id == 1)).scalar()
    return int(value or 0)


def read_overrides(session) -> Dict[str, Dict[OverrideKey, Override]]:  # type: ignore[no-untyped-def]
    """Every current override, by response name."""
    result: Dict[str, Dict[OverrideKey, Override]] = {}
    for row in session.execute(select(ResponseOverride)).scalars():
        result.setdefault(row.response, {})[(row.variation, row.channel or "")] = Override(
            row.text, list(row.buttons) if row.buttons is not None else None)
    return result


class LiveOverrides:
    """The overrides of one database, re-read when its version row changes."""

    def __init__(self, database_url: Optional[str] = None) -> None:
        """Cache overrides of ``database_url`` (default: ``DATABASE_URL``)."""
        self.database_url = database_url
        self._lock = threading.Lock()
        self._version: Optional[int] = None
        self._overrides: Dict[str, Dict[OverrideKey, Override]] = {}
        self._retry_at = 0.0

    def snapshot(self) -> Tuple[int, Overrides]:
        """``(version, overrides)``, re-read when the version changed (last good on database errors)."""
        if time.monotonic() < self._retry_at:
            return self._version or 0, self._overrides
        from bot.db.session import get_sessionmaker

        try:
            with get_sessionmaker(self.database_url)() as session:
                version = read_version(session)
                if version != self._version:
                    with self._lock:
                        overrides = read_overrides(session)
                        self._version, self._overrides = version, overrides
        except SQLAlchemyError as exc:
            self._retry_at = time.monotonic() + RETRY_S
            logger.warning("staff texts unreadable (%s); using the last known wording", type(exc).__name__)
        return self._version or 0, self._overrides

    def current(self) -> Overrides:
        """The current overrides (see :meth:`snapshot`)."""
        return self.snapshot()[1]


def live_overrides(database_url: Optional[str] = None) -> LiveOverrides:
    """The process-wide cache of ``database_url`` (default: the current ``DATABASE_URL``)."""
    from bot.settings import get_settings

    return _cached(database_url or get_settings().database_url)


@functools.lru_cache(maxsize=8)
def _cached(database_url: str) -> LiveOverrides:
    return LiveOverrides(database_url)


live_overrides.cache_clear = _cached.cache_clear  # type: ignore[attr-defined]
