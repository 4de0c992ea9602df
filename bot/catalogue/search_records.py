"""Plain records of the procedure search (:mod:`bot.catalogue.search`) and where they come from:
the national catalogue file with the province's curated file, or the ``procedures`` table; either
way, each record carries its everyday phrases from ``data/search_hints.yml`` as search hints."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, FrozenSet, List, Optional, Tuple

import yaml

from bot.catalogue.search_forces import record_forces

HINTS_FILE = Path(__file__).resolve().parents[2] / "data" / "search_hints.yml"


@dataclass(frozen=True)
class SearchRecord:
    """One procedure as the search sees it (plain data, no ORM)."""

    code: str
    name: str
    aliases: Tuple[str, ...] = ()
    field: str = ""
    level: Optional[str] = None
    local: bool = False
    hints: Tuple[str, ...] = ()   # everyday phrases (data/search_hints.yml): their words the name lacks count
    foreign: bool = False   # published for another province (its agency names another province, not ours)
    forces: FrozenSet[str] = frozenset()   # the armed forces whose own procedure it is (search_forces)


def is_foreign(flags, level: Optional[str]) -> bool:
    """Whether a national record is another province's own (the importer's flags: its agency names
    another province and not ours); a central record that names a city (a ministry's address) is not."""
    flags = set(flags or ())
    return (level != "central" and "agency_names_other_province" in flags
            and "agency_names_own_province" not in flags)


@lru_cache(maxsize=4)
def load_hints(path: Path = HINTS_FILE) -> Dict[str, Tuple[str, ...]]:
    """Everyday phrases per procedure code (``hints:`` of ``data/search_hints.yml``): how citizens name
    a procedure of the national catalogue ("xe nằm gara không chạy" for a vehicle off the road). They
    are search aliases only, never shown as facts; no file means none."""
    if not path.exists():
        return {}
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader) or {}  # noqa: S506 (a safe loader, in C)
    return {str(code): tuple(str(p).strip() for p in phrases or () if str(p).strip())
            for code, phrases in (data.get("hints") or {}).items()}


def records_from_files(national: Optional[Path], curated: Optional[Path]) -> List[SearchRecord]:
    """Records of the national catalogue (``procedures.json.gz``) and the province's curated file;
    a curated record replaces the national one with the same code and carries its aliases."""
    out: Dict[str, SearchRecord] = {}
    hints = load_hints()
    if national:
        opener = gzip.open if str(national).endswith(".gz") else open
        with opener(national, "rt", encoding="utf-8") as fh:
            for p in json.load(fh)["procedures"]:
                out[p["code"]] = SearchRecord(p["code"], p["name"], (), p.get("field") or "", p.get("level"), False,
                                              hints.get(p["code"], ()), is_foreign(p.get("flags"), p.get("level")),
                                              record_forces(p.get("field"), p.get("submit_address")))
    if curated:
        with open(curated, encoding="utf-8") as fh:
            data = json.load(fh)
        for p in data["procedures"] if isinstance(data, dict) else data:
            out[p["code"]] = SearchRecord(p["code"], p["name"], tuple(p.get("aliases") or ()),
                                          p.get("field") or "", p.get("level"), True, hints.get(p["code"], ()),
                                          forces=record_forces(p.get("field"), p.get("submit_place")))
    return list(out.values())


def is_local_row(row) -> bool:
    """Whether a ``procedures`` row is the province's own (curated) record.

    Until the importer marks the origin, a row is national when its source names the national
    database snapshot; curated rows cite the portal page they were checked against.
    """
    origin = getattr(row, "origin", None)
    if origin is not None:
        return origin != "national"
    source = (getattr(row, "source", "") or "").lower()
    return not ("csdl quốc gia" in source or "csdl quoc gia" in source or source.startswith("national"))


def records_from_session(session) -> List[SearchRecord]:
    """Records of the ``procedures`` table (for :meth:`ProcedureIndex.build` in production): only the
    columns the search needs (code, name, aliases, level, origin, source, place of submission, the field's
    name), so that a catalogue of thousands of rows loads in a fraction of a second."""
    from sqlalchemy import select

    from bot.db.models import Field, Procedure

    stmt = (select(Procedure.code, Procedure.name, Procedure.aliases, Procedure.level, Procedure.origin,
                   Procedure.source, Procedure.flags, Procedure.submit_place, Field.name.label("field_name"))
            .select_from(Procedure).outerjoin(Field, Procedure.field_id == Field.id))
    hints = load_hints()
    return [SearchRecord(r.code, r.name, tuple(r.aliases or ()), r.field_name or "", r.level, is_local_row(r),
                         hints.get(r.code, ()), not is_local_row(r) and is_foreign(r.flags, r.level),
                         record_forces(r.field_name, r.submit_place))
            for r in session.execute(stmt)]
