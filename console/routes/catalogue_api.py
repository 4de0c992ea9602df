"""The catalogue as JSON: list, read, save (the same services and validation as the pages)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, List, Optional

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from bot.catalogue import browse, editor
from bot.catalogue.diff import diff_records
from bot.staff.sessions import ActiveSession
from console.deps import db, require
from console.routes.catalogue import CODE, READERS, WRITERS, filters_of

router = APIRouter(prefix="/console/api/catalogue", tags=["catalogue"])


class ProcedureRow(BaseModel):
    """One procedure in a list."""

    code: str
    name: str
    field: str
    level: str
    online_level: str
    origin: str
    unconfirmed: List[str]
    checked_on: Optional[dt.date]
    verified_by: Optional[str]


class ProcedurePage(BaseModel):
    """One page of a filtered list."""

    total: int
    page: int
    pages: int
    items: List[ProcedureRow]


class ProcedureRecord(BaseModel):
    """A procedure in the curated format, with its provenance."""

    record: Dict[str, Any]
    origin: str
    verified_by: Optional[str]
    verified_at: Optional[dt.date]


class SaveRequest(BaseModel):
    """A change: the record (curated format) and what it was checked against, when."""

    record: Dict[str, Any]
    source: str = Field(..., max_length=2000)
    checked_on: dt.date
    note: Optional[str] = Field(None, max_length=1000)


class SaveResult(BaseModel):
    """The saved change (``revision`` is null when nothing changed)."""

    code: str
    revision: Optional[int]
    fields: List[str]


class DiffItem(BaseModel):
    """One changed value."""

    label: str
    before: str
    after: str


class Revision(BaseModel):
    """One version of a record and what it changed."""

    number: int
    at: dt.datetime
    actor: str
    action: str
    source: Optional[str]
    checked_on: Optional[dt.date]
    note: Optional[str]
    reverted_from: Optional[int]
    diff: List[DiffItem]


@router.get("", response_model=ProcedurePage)
def list_procedures(filters: browse.Filters = Depends(filters_of), page: int = Query(1, ge=1, le=100_000),
                    per_page: int = Query(50, ge=1, le=200), session: Session = Depends(db),
                    staff: ActiveSession = Depends(require(*READERS))) -> ProcedurePage:
    """Search (diacritics optional) and filter the catalogue, one page at a time."""
    rows, total, pages = browse.browse(session, filters, page, per_page)
    return ProcedurePage(total=total, page=min(page, pages), pages=pages,
                         items=[ProcedureRow(**vars(r)) for r in rows])


@router.get("/{code}", response_model=ProcedureRecord)
def get_procedure(code: str = CODE, session: Session = Depends(db),
                  staff: ActiveSession = Depends(require(*READERS))) -> ProcedureRecord:
    """One procedure's record."""
    try:
        record, meta = editor.load_record(session, code)
    except editor.UnknownProcedure:
        raise HTTPException(404, "Không có thủ tục với mã này.") from None
    return ProcedureRecord(record=record, origin=meta["origin"], verified_by=meta["verified_by"],
                           verified_at=meta["verified_at"])


@router.put("/{code}", response_model=SaveResult, responses={422: {"description": "Bản ghi không hợp lệ"}})
def save_procedure(body: SaveRequest, code: str = CODE, session: Session = Depends(db),
                   staff: ActiveSession = Depends(require(*WRITERS))) -> Any:
    """Save a record (validated as ``import-catalogue`` validates; 422 lists the problems)."""
    try:
        change = editor.save_record(session, code, body.record, staff.username, body.source, body.checked_on,
                                    body.note)
    except editor.UnknownProcedure:
        raise HTTPException(404, "Không có thủ tục với mã này.") from None
    except editor.EditError as exc:
        session.rollback()
        return JSONResponse({"detail": "Bản ghi không hợp lệ", "problems": exc.problems}, status_code=422)
    return SaveResult(code=code, revision=change.revision, fields=change.fields)


@router.get("/{code}/history", response_model=List[Revision])
def procedure_history(code: str = CODE, session: Session = Depends(db),
                      staff: ActiveSession = Depends(require(*READERS))) -> List[Revision]:
    """Every version of a record, newest first, with what each changed."""
    out, previous = [], None
    for rev in editor.revisions(session, code):
        diff = [DiffItem(**vars(d)) for d in diff_records(previous, rev.record)] if previous is not None else []
        out.append(Revision(number=rev.number, at=rev.at, actor=rev.actor, action=rev.action, source=rev.source,
                            checked_on=rev.checked_on, note=rev.note, reverted_from=rev.reverted_from, diff=diff))
        previous = rev.record
    return out[::-1]
