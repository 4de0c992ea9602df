"""Read-only snapshots of procedures for answers, kept per catalogue version (issue 15).

An answer about a procedure read the procedure, its channels and its documents through the ORM
(three statements and the objects built from them) on every question. A procedure's facts only
change with the catalogue's version (:mod:`bot.catalogue.version`, bumped in the transaction of
every change), so this process keeps a snapshot of each procedure asked about, with the version
it was read at; the version is read anyway by every search (:mod:`bot.catalogue.index`), and a
snapshot of another version is read again. The snapshot carries every column of the procedure,
of its field, channels and documents, as plain frozen objects (lists become tuples), so nothing
an answer does can change what the next citizen is told. The catalogue is public information:
nothing per user is kept here.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from types import MappingProxyType
from typing import Any, Dict, Optional, Tuple

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session, selectinload

from bot.catalogue.version import catalogue_version, changed_here, database_key
from bot.db.models import Procedure

KEPT = 1024  # procedures kept per process (the most recently asked about)

_lock = threading.Lock()
_kept: "OrderedDict[Tuple[str, str], Tuple[int, Optional[Snapshot]]]" = OrderedDict()


class Snapshot:
    """Plain, frozen attributes copied from one ORM object."""

    __slots__ = ("_values",)

    def __init__(self, values: Dict[str, Any]) -> None:
        object.__setattr__(self, "_values", MappingProxyType(values))

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"a catalogue snapshot is read-only ({name})")

    def __repr__(self) -> str:
        return f"Snapshot(code={self._values.get('code')!r}, name={self._values.get('name')!r})"


def _frozen(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return MappingProxyType({k: _frozen(v) for k, v in value.items()})
    return value


def _columns(obj: Any) -> Dict[str, Any]:
    return {attr.key: _frozen(getattr(obj, attr.key)) for attr in inspect(type(obj)).column_attrs}


def snapshot(proc: Procedure) -> Snapshot:
    """Every column of ``proc``, its field, channels and documents, read-only."""
    values = _columns(proc)
    values["field"] = Snapshot(_columns(proc.field)) if proc.field is not None else None
    values["channels"] = tuple(Snapshot(_columns(c)) for c in proc.channels)
    values["documents"] = tuple(Snapshot(_columns(d)) for d in proc.documents)
    return Snapshot(values)


def _read(session: Session, code: str) -> Optional[Snapshot]:
    stmt = (select(Procedure).where(Procedure.code == code)
            .options(selectinload(Procedure.channels), selectinload(Procedure.documents)))
    proc = session.execute(stmt).unique().scalar_one_or_none()
    return snapshot(proc) if proc is not None else None


def procedure_facts(session: Session, code: str) -> Optional[Snapshot]:
    """The procedure ``code`` (None when the catalogue has none) as of the current catalogue version."""
    if not code:
        return None
    version = catalogue_version(session)
    key = (database_key(session), code)
    with _lock:
        kept = _kept.get(key)
        if kept is not None and kept[0] == version:
            _kept.move_to_end(key)
            return kept[1]
    facts = _read(session, code)
    if changed_here(session) or session.dirty or session.new or session.deleted:
        return facts  # the caller's own changes are not (yet) the catalogue's version
    with _lock:
        _kept[key] = (version, facts)
        _kept.move_to_end(key)
        while len(_kept) > KEPT:
            _kept.popitem(last=False)
    return facts


def forget() -> None:
    """Drop every snapshot (tests that rebuild a database under the same URL)."""
    with _lock:
        _kept.clear()
