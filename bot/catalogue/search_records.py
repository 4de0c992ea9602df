"""Plain records of the procedure search (:mod:`bot.catalogue.search`) and where they come from:
the national catalogue file with the province's curated file, or the ``procedures`` table."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple


@dataclass(frozen=True)
class SearchRecord:
    """One procedure as the search sees it (plain data, no ORM)."""

    code: str
    name: str
    aliases: Tuple[str, ...] = ()
    field: str = ""
    level: Optional[str] = None
    local: bool = False


def records_from_files(national: Optional[Path], curated: Optional[Path]) -> List[SearchRecord]:
    """Records of the national catalogue (``procedures.json.gz``) and the province's curated file;
    a curated record replaces the national one with the same code and carries its aliases."""
    out: Dict[str, SearchRecord] = {}
    if national:
        opener = gzip.open if str(national).endswith(".gz") else open
        with opener(national, "rt", encoding="utf-8") as fh:
            for p in json.load(fh)["procedures"]:
                out[p["code"]] = SearchRecord(p["code"], p["name"], (), p.get("field") or "", p.get("level"), False)
    if curated:
        with open(curated, encoding="utf-8") as fh:
            data = json.load(fh)
        for p in data["procedures"] if isinstance(data, dict) else data:
            out[p["code"]] = SearchRecord(p["code"], p["name"], tuple(p.get("aliases") or ()),
                                          p.get("field") or "", p.get("level"), True)
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
    columns the search needs (code, name, aliases, level, origin, source, the field's name), so that
    a catalogue of thousands of rows loads in a fraction of a second."""
    from sqlalchemy import select

    from bot.db.models import Field, Procedure

    stmt = (select(Procedure.code, Procedure.name, Procedure.aliases, Procedure.level, Procedure.origin,
                   Procedure.source, Field.name.label("field_name"))
            .select_from(Procedure).outerjoin(Field, Procedure.field_id == Field.id))
    return [SearchRecord(r.code, r.name, tuple(r.aliases or ()), r.field_name or "", r.level, is_local_row(r))
            for r in session.execute(stmt)]
