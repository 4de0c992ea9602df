"""The procedure catalogue: search and filter, view and edit a record, its history, import and export."""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, List, Optional
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, HTTPException, Path, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from bot.catalogue import browse, bulk, editor
from bot.catalogue.diff import CHANNEL_LABELS, LEVEL_NAMES, ONLINE_NAMES, diff_records
from bot.catalogue.problems import CHANNEL_NAMES
from bot.catalogue.retrain import retrain_flag
from bot.staff.sessions import ActiveSession
from console.catalogue_form import parse_date, record_from_form
from console.deps import allowed, db, require
from console.templating import render

router = APIRouter(tags=["catalogue"])

READERS = ("editor", "trainer", "analyst")
WRITERS = ("editor",)
CODE = Path(..., min_length=3, max_length=20, regex=r"^[0-9A-Za-z.]+$")
MAX_UPLOAD = 64 * 1024 * 1024
LEVELS = ("province", "commune", "central", "unknown")
ORIGINS = {"curated": "Đã biên tập", "national": "CSDL quốc gia"}


def filters_of(q: str = Query("", max_length=200), field: str = Query("", max_length=9, regex=r"^\d*$"),
               level: Optional[str] = Query(None, regex="^(central|province|commune|unknown)?$"),
               online: Optional[str] = Query(None, regex="^(full|partial|none)?$"),
               unconfirmed: bool = Query(False),
               origin: Optional[str] = Query(None, regex="^(curated|national)?$")) -> browse.Filters:
    """The list's filters from the query string (empty values mean "any")."""
    return browse.Filters(q=q.strip(), field_id=int(field) if field else None, level=level or None,
                          online_level=online or None, unconfirmed=unconfirmed, origin=origin or None)


def query_of(filters: browse.Filters) -> str:
    """The query string of ``filters`` (for paging and export links)."""
    pairs = {"q": filters.q, "field": filters.field_id or "", "level": filters.level or "",
             "online": filters.online_level or "", "origin": filters.origin or ""}
    if filters.unconfirmed:
        pairs["unconfirmed"] = "true"
    return urlencode({k: v for k, v in pairs.items() if v != ""})


def _common(session: Session, staff: ActiveSession) -> Dict[str, Any]:
    flag = retrain_flag(session)
    return {"can_edit": allowed(staff, WRITERS), "retrain": flag if flag and flag.needed else None,
            "LEVEL_NAMES": LEVEL_NAMES, "ONLINE_NAMES": ONLINE_NAMES, "CHANNEL_NAMES": CHANNEL_NAMES,
            "ORIGINS": ORIGINS}


@router.get("/console/catalogue", include_in_schema=False)
def catalogue_list(request: Request, filters: browse.Filters = Depends(filters_of), page: int = Query(1, ge=1),
                   session: Session = Depends(db), staff: ActiveSession = Depends(require(*READERS))) -> Response:
    """The list: search without diacritics, filters, 50 a page."""
    rows, total, pages = browse.browse(session, filters, page)
    return render(request, "catalogue_list.html", {
        **_common(session, staff), "rows": rows, "total": total, "pages": pages, "page": min(page, pages),
        "filters": filters, "query": query_of(filters), "fields": browse.fields(session), "levels": LEVELS})


@router.get("/console/catalogue/export.json", include_in_schema=False)
async def export_json(filters: browse.Filters = Depends(filters_of), session: Session = Depends(db),
                      staff: ActiveSession = Depends(require(*READERS))) -> Response:
    """The filtered list as a curated-format JSON file."""
    data = await run_in_threadpool(lambda: bulk.export_json(browse.records(session, filters)))
    return Response(data, media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="thu-tuc-{dt.date.today()}.json"'})


@router.get("/console/catalogue/export.xlsx", include_in_schema=False)
async def export_excel(filters: browse.Filters = Depends(filters_of), session: Session = Depends(db),
                       staff: ActiveSession = Depends(require(*READERS))) -> Response:
    """The filtered list as an Excel workbook."""
    data = await run_in_threadpool(lambda: bulk.export_excel(browse.records(session, filters)))
    return Response(data, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="thu-tuc-{dt.date.today()}.xlsx"'})


@router.get("/console/catalogue/import", include_in_schema=False)
def import_page(request: Request, session: Session = Depends(db),
                staff: ActiveSession = Depends(require(*WRITERS))) -> Response:
    """The import form (JSON or Excel)."""
    return render(request, "catalogue_import.html", {**_common(session, staff), "today": dt.date.today()})


@router.post("/console/catalogue/import", include_in_schema=False)
async def import_file(request: Request, file: UploadFile = File(...), checked_on: str = Form(""),
                      note: str = Form("", max_length=1000), session: Session = Depends(db),
                      staff: ActiveSession = Depends(require(*WRITERS))) -> Response:
    """Import a file all or nothing: every problem is listed with its row, or every change is saved."""
    data = await file.read(MAX_UPLOAD + 1)
    name = (file.filename or "tep").rsplit("/", 1)[-1][:100]
    context = {**_common(session, staff), "today": dt.date.today(), "filename": name}
    if len(data) > MAX_UPLOAD:
        raise HTTPException(413, "Tệp quá lớn (tối đa 64 MB).")
    date = parse_date(checked_on)
    if date is None:
        return render(request, "catalogue_import.html", {**context, "problems": [
            ("Ngày kiểm tra", "cần ghi ngày kiểm tra (NNNN-TT-NN)")]}, status_code=400)
    excel = data[:2] == b"PK" or name.lower().endswith(".xlsx")

    def work() -> bulk.ImportResult:
        records = bulk.parse_excel(data) if excel else bulk.parse_json(data, name)
        return bulk.import_records(session, records, staff.username, date, note.strip())

    try:
        result = await run_in_threadpool(work)
    except bulk.ImportProblems as exc:
        session.rollback()
        return render(request, "catalogue_import.html", {**context, "problems": exc.problems}, status_code=400)
    return render(request, "catalogue_import.html", {**context, "result": result})


@router.get("/console/catalogue/{code}", include_in_schema=False)
def record_page(request: Request, code: str = CODE, saved: Optional[int] = Query(None, ge=1),
                unchanged: bool = Query(False), session: Session = Depends(db),
                staff: ActiveSession = Depends(require(*READERS))) -> Response:
    """One procedure: every field, editable by editors."""
    try:
        record, meta = editor.load_record(session, code)
    except editor.UnknownProcedure:
        raise HTTPException(404, "Không có thủ tục với mã này.") from None
    return _record_page(request, session, staff, record, meta, saved=saved, unchanged=unchanged)


def _record_page(request: Request, session: Session, staff: ActiveSession, record: Dict[str, Any],
                 meta: Dict[str, Any], status_code: int = 200, **extra: Any) -> Response:
    return render(request, "catalogue_edit.html", {
        **_common(session, staff), "r": record, "meta": meta, "channel_rows": channel_rows(record),
        "fields": browse.fields(session), "levels": LEVELS, "CHANNEL_LABELS": CHANNEL_LABELS,
        "today": dt.date.today(), **extra},
        status_code=status_code)


def channel_rows(record: Dict[str, Any]) -> List[Any]:
    """The channels with a label each ("trực tiếp", "trực tiếp 2"), and an empty row to add one."""
    rows, seen = [], {}  # type: ignore[var-annotated]
    for channel in record.get("channels") or []:
        kind = channel.get("kind") or ""
        seen[kind] = seen.get(kind, 0) + 1
        name = CHANNEL_NAMES.get(kind, kind or "?")
        rows.append((channel, name if seen[kind] == 1 else f"{name} {seen[kind]}"))
    return rows + [({}, "dòng mới")]


@router.post("/console/catalogue/{code}", include_in_schema=False)
async def record_save(request: Request, code: str = CODE, session: Session = Depends(db),
                      staff: ActiveSession = Depends(require(*WRITERS))) -> Response:
    """Save the form: the importer's validation, a source and check date required; errors shown on the page."""
    form = await request.form()
    try:
        stored, meta = editor.load_record(session, code)
    except editor.UnknownProcedure:
        raise HTTPException(404, "Không có thủ tục với mã này.") from None
    record, problems = record_from_form(form)
    source = form.get("source") if isinstance(form.get("source"), str) else ""
    checked_on = parse_date(form.get("checked_on"))
    note = str(form.get("note") or "")[:1000].strip()
    if not problems:
        try:
            change = editor.save_record(session, code, record, staff.username, source, checked_on, note or None)
        except editor.EditError as exc:
            session.rollback()
            problems = exc.problems
    if problems:
        shown = dict(stored, **record)
        return _record_page(request, session, staff, shown, meta, status_code=400, problems=problems,
                            source=source, checked_on=form.get("checked_on") or "", note=note)
    query = f"saved={change.revision}" if change.revision else "unchanged=true"
    return RedirectResponse(f"/console/catalogue/{code}?{query}", status_code=303)


@router.get("/console/catalogue/{code}/history", include_in_schema=False)
def history_page(request: Request, code: str = CODE, reverted: Optional[int] = Query(None, ge=1),
                 session: Session = Depends(db), staff: ActiveSession = Depends(require(*READERS))) -> Response:
    """Every saved version, newest first, each with what it changed."""
    try:
        record, _meta = editor.load_record(session, code)
    except editor.UnknownProcedure:
        raise HTTPException(404, "Không có thủ tục với mã này.") from None
    return render(request, "catalogue_history.html", {
        **_common(session, staff), "r": record, "entries": history_entries(session, code), "reverted": reverted})


def history_entries(session: Session, code: str) -> List[Dict[str, Any]]:
    """The revisions of ``code``, newest first, each with its diff against the one before."""
    entries, previous = [], None
    for rev in editor.revisions(session, code):
        entries.append({"rev": rev, "diff": diff_records(previous, rev.record) if previous is not None else []})
        previous = rev.record
    if entries:
        entries[-1]["latest"] = True
    return entries[::-1]


@router.post("/console/catalogue/{code}/revert/{number}", include_in_schema=False)
def revert(code: str = CODE, number: int = Path(..., ge=1, le=1_000_000), session: Session = Depends(db),
           staff: ActiveSession = Depends(require(*WRITERS))) -> Response:
    """Make an old version current again (a new, audited change)."""
    try:
        change = editor.revert(session, code, number, staff.username)
    except editor.UnknownProcedure:
        raise HTTPException(404, "Không có phiên bản này.") from None
    except editor.EditError as exc:
        raise HTTPException(400, "Không thể quay lại phiên bản này: " + "; ".join(exc.problems)) from None
    return RedirectResponse(f"/console/catalogue/{code}/history?reverted={change.revision or number}",
                            status_code=303)
