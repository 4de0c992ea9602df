"""This process's procedure search index, rebuilt when the catalogue's version changes.

Building the index over the whole catalogue takes seconds, so it is built once per
database and process and reused; every look-up first reads the catalogue version (one
primary-key row), so an import or a staff edit is seen by the next question in every
replica. Nothing per user is kept here.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Dict, Tuple

from sqlalchemy.orm import Session

from bot.catalogue.search import ProcedureIndex, records_from_session
from bot.catalogue.version import catalogue_version

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_indexes: Dict[str, Tuple[int, ProcedureIndex]] = {}


def _key(session: Session) -> str:
    return str(session.get_bind().url)


def procedure_index(session: Session) -> ProcedureIndex:
    """The index of the session's database at its current catalogue version (built when needed)."""
    key, version = _key(session), catalogue_version(session)
    cached = _indexes.get(key)
    if cached is not None and cached[0] == version:
        return cached[1]
    with _lock:  # one build at a time; a concurrent caller waits and then reuses it
        cached = _indexes.get(key)
        if cached is not None and cached[0] == version:
            return cached[1]
        started = time.perf_counter()
        index = ProcedureIndex.build(records_from_session(session))
        _indexes[key] = (version, index)
        logger.info("procedure index built: %d records, version %d, %.1f s", len(index), version,
                    time.perf_counter() - started)
        return index
