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
from typing import Dict, FrozenSet, List, Optional, Tuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.catalogue.search import ProcedureIndex, records_from_session
from bot.catalogue.version import catalogue_version, database_key
from bot.db.models import Procedure
from bot.text.normalize import folded_words

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_indexes: Dict[str, Tuple[int, ProcedureIndex]] = {}
_phrases: Dict[str, Tuple[int, List[Tuple[str, FrozenSet[str]]]]] = {}


def procedure_index(session: Session) -> ProcedureIndex:
    """The index of the session's database at its current catalogue version (built when needed)."""
    key, version = database_key(session), catalogue_version(session)
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


def warm_in_background() -> Optional[threading.Thread]:
    """With ``WARM_SEARCH_INDEX`` set, build this process's index in a daemon thread (a question that
    comes meanwhile waits for the same build under the lock); a database that is down is logged, not
    raised: the first question builds it then."""
    from bot.settings import get_settings

    if not get_settings().warm_search_index:
        return None

    def build() -> None:
        from bot.db.session import session_scope

        try:
            with session_scope() as session:
                procedure_index(session)
        except Exception as exc:  # noqa: BLE001 - a warm-up must never take the action server down
            logger.warning("procedure index not built at start (%s); the first question builds it",
                           type(exc).__name__)

    thread = threading.Thread(target=build, name="warm-search-index", daemon=True)
    thread.start()
    return thread


def curated_phrases(session: Session) -> List[Tuple[str, FrozenSet[str]]]:
    """(code, folded name and aliases) of every curated procedure, at the current catalogue version."""
    key, version = database_key(session), catalogue_version(session)
    cached = _phrases.get(key)
    if cached is None or cached[0] != version:
        rows = session.execute(select(Procedure.code, Procedure.name, Procedure.aliases)
                               .where(Procedure.origin == "curated")).all()
        cached = (version, [(code, frozenset(" ".join(folded_words(p)) for p in [name, *(aliases or [])]))
                            for code, name, aliases in rows])
        _phrases[key] = cached
    return cached[1]
