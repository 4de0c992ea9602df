"""Browsing the catalogue for staff: diacritic-insensitive search, filters, pages, the records of a filter."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from sqlalchemy import String, and_, case, cast, func, or_, select
from sqlalchemy.orm import Session

from bot.catalogue.editor import record_from_state, stored_states
from bot.db.models import Field, Procedure
from bot.text.normalize import folded_words

PER_PAGE = 50
MAX_QUERY_WORDS = 12


@dataclass(frozen=True)
class Filters:
    """What the staff member is looking for (every part optional)."""

    q: str = ""
    field_id: Optional[int] = None
    level: Optional[str] = None  # central | province | commune | unknown
    online_level: Optional[str] = None  # full | partial | none
    unconfirmed: bool = False  # only records with figures nobody confirmed
    origin: Optional[str] = None  # curated | national


@dataclass(frozen=True)
class Row:
    """One procedure in the list."""

    code: str
    name: str
    field: str
    level: str
    online_level: str
    origin: str
    unconfirmed: List[str]
    checked_on: Any
    verified_by: Optional[str]


def _like(word: str) -> str:
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _where(filters: Filters) -> Tuple[List[Any], Optional[Any]]:
    """The conditions of ``filters`` and, with a query, a rank (0: the whole phrase, 1: all its words)."""
    conds: List[Any] = []
    rank = None
    words = folded_words(filters.q)[:MAX_QUERY_WORDS]
    if words:
        phrase = " ".join(words)
        all_words = and_(*[Procedure.search_key.like(_like(w), escape="\\") for w in words])
        code_hit = Procedure.code.like(_like(filters.q.strip())[1:], escape="\\")
        conds.append(or_(all_words, code_hit))
        rank = case((code_hit, 0), (Procedure.search_key.like(_like(phrase), escape="\\"), 1), else_=2)
    if filters.field_id is not None:
        conds.append(Procedure.field_id == filters.field_id)
    if filters.level:
        conds.append(Procedure.level == filters.level)
    if filters.online_level:
        conds.append(Procedure.online_level == filters.online_level)
    if filters.origin:
        conds.append(Procedure.origin == filters.origin)
    if filters.unconfirmed:
        conds.append(cast(Procedure.unconfirmed, String).notin_(["[]", ""]))
    return conds, rank


def _order(rank: Optional[Any]) -> List[Any]:
    """Searching: code hits, then the whole phrase, shorter names first; else by name."""
    if rank is None:
        return [Procedure.name, Procedure.id]
    return [rank, func.length(Procedure.name), Procedure.name, Procedure.id]


def browse(session: Session, filters: Filters, page: int = 1, per_page: int = PER_PAGE) -> Tuple[List[Row], int, int]:
    """One page of matching procedures (best matches first, then by name), the total and the number of pages."""
    conds, rank = _where(filters)
    total = session.execute(select(func.count(Procedure.id)).where(*conds)).scalar_one()
    pages = max(1, math.ceil(total / per_page))
    page = min(max(page, 1), pages)
    order = _order(rank)
    stmt = (select(Procedure.code, Procedure.name, Field.name, Procedure.level, Procedure.online_level,
                   Procedure.origin, Procedure.unconfirmed, Procedure.checked_on, Procedure.verified_by)
            .join(Field, Procedure.field_id == Field.id).where(*conds).order_by(*order)
            .offset((page - 1) * per_page).limit(per_page))
    rows = [Row(*r) for r in session.execute(stmt).all()]
    return rows, total, pages


def matching_codes(session: Session, filters: Filters) -> List[str]:
    """Every code matching ``filters``, in list order."""
    conds, rank = _where(filters)
    order = _order(rank)
    return list(session.execute(select(Procedure.code).where(*conds).order_by(*order)).scalars())


def records(session: Session, filters: Filters) -> List[Dict[str, Any]]:
    """The records (curated format) of every procedure matching ``filters``, in list order."""
    codes = matching_codes(session, filters)
    states = stored_states(session, codes)
    return [record_from_state(code, states[code]) for code in codes if code in states]


def fields(session: Session) -> List[Tuple[int, str]]:
    """(id, name) of every field, alphabetically."""
    return [(i, n) for i, n in session.execute(select(Field.id, Field.name).order_by(Field.name)).all()]
