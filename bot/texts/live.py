"""Staff overrides as every process reads them: cached, re-read only when the version row changes.

A check costs one primary-key ``SELECT`` of ``response_texts_version`` and is made at most
once every ``max_age_s`` (``TEXTS_REFRESH_S``, 1 s by default, so an action building a
reply from many fragments checks once); the overrides themselves are read again only after
a change. A reworded answer thus applies to the next message in every process (the console's
NLG endpoint, the action server, the reminder worker, the channels) with no restart; the
console also expires its own cache when it saves. When the database cannot be read the last
good overrides (or none) are used and the check is retried after :data:`RETRY_S`: texts never
stop a reply.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from pathlib import Path
from typing import Dict, Optional, Tuple

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from bot.db.models_texts import ResponseOverride, TextsVersion
from bot.texts.overlay import Override, OverrideKey, Overrides

logger = logging.getLogger(__name__)

RETRY_S = 5.0
_VERSION = select(TextsVersion.version).where(TextsVersion.id == 1)  # built once (issue 15)


def read_version(session) -> int:  # type: ignore[no-untyped-def]
    """The current texts version (0 when the row is missing)."""
    value = session.execute(_VERSION).scalar()
    return int(value or 0)


def read_overrides(session) -> Dict[str, Dict[OverrideKey, Override]]:  # type: ignore[no-untyped-def]
    """Every current override, by response name."""
    result: Dict[str, Dict[OverrideKey, Override]] = {}
    for row in session.execute(select(ResponseOverride)).scalars():
        result.setdefault(row.response, {})[(row.variation, row.channel or "")] = Override(
            row.text, list(row.buttons) if row.buttons is not None else None)
    return result


def _absent_sqlite_file(database_url: Optional[str]) -> bool:
    from bot.settings import get_settings

    url = database_url or get_settings().database_url
    if not url.startswith("sqlite"):
        return False
    path = url.split("///", 1)[-1]
    return bool(path) and path != ":memory:" and not Path(path).exists()


class LiveOverrides:
    """The overrides of one database, re-read when its version row changes."""

    def __init__(self, database_url: Optional[str] = None, max_age_s: float = 0.0) -> None:
        """Cache overrides of ``database_url`` (default: ``DATABASE_URL``), checking at most every ``max_age_s``."""
        self.database_url = database_url
        self.max_age_s = max_age_s
        self._lock = threading.Lock()
        self._version: Optional[int] = None
        self._overrides: Dict[str, Dict[OverrideKey, Override]] = {}
        self._next_check = 0.0

    def expire(self) -> None:
        """Check the version on the next read (after this process changed the texts)."""
        self._next_check = 0.0

    def snapshot(self) -> Tuple[int, Overrides]:
        """``(version, overrides)``, re-read when the version changed (last good on database errors)."""
        now = time.monotonic()
        if now < self._next_check:
            return self._version or 0, self._overrides
        self._next_check = now + self.max_age_s
        from bot.db.session import get_sessionmaker

        if _absent_sqlite_file(self.database_url):  # nothing to read, and connecting would create the file
            return self._version or 0, self._overrides
        try:
            with get_sessionmaker(self.database_url)() as session:
                version = read_version(session)
                if version != self._version:
                    with self._lock:
                        overrides = read_overrides(session)
                        self._version, self._overrides = version, overrides
        except SQLAlchemyError as exc:
            self._next_check = time.monotonic() + RETRY_S
            logger.warning("staff texts unreadable (%s); using the last known wording", type(exc).__name__)
        return self._version or 0, self._overrides

    def current(self) -> Overrides:
        """The current overrides (see :meth:`snapshot`)."""
        return self.snapshot()[1]


def live_overrides(database_url: Optional[str] = None) -> LiveOverrides:
    """The process-wide cache of ``database_url`` (default: the current ``DATABASE_URL``)."""
    from bot.settings import get_settings

    settings = get_settings()
    return _cached(database_url or settings.database_url, settings.texts_refresh_s)


@functools.lru_cache(maxsize=8)
def _cached(database_url: str, max_age_s: float) -> LiveOverrides:
    return LiveOverrides(database_url, max_age_s)


live_overrides.cache_clear = _cached.cache_clear  # type: ignore[attr-defined]
