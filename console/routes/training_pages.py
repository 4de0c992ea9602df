"""Training pages: the NLU inbox, intents and examples, synonyms (changes go through the JSON API)."""

from __future__ import annotations

from typing import Optional

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from bot.staff.sessions import ActiveSession
from bot.training import examples as ex
from bot.training import inbox, synonyms
from bot.training.annotations import contract
from bot.training.state import data_state
from console.deps import allowed, db, require
from console.templating import render

router = APIRouter(tags=["training"], include_in_schema=False)
READ = require("trainer", "analyst")
REASONS = {"fallback": "Không hiểu", "low_confidence": "Độ tin cậy thấp", "handoff": "Dẫn tới gặp cán bộ",
           "low_rating": "Bị chấm điểm thấp"}
SOURCES = {"import": "Tệp dữ liệu (git)", "console": "Thêm trên trang", "inbox": "Hộp thư NLU"}
STATUS_NAMES = {"open": "Chờ xử lý", "labelled": "Đã gắn nhãn", "dismissed": "Đã bỏ qua",
                "new_intent": "Cần ý định mới"}


def _common(session: Session, staff: ActiveSession) -> dict:
    return {"can_edit": allowed(staff, ("trainer",)), "data_state": data_state(session),
            "intents": contract().intents, "entities": contract().entities}


@router.get("/console/training")
def training_home(staff: ActiveSession = Depends(READ)) -> Response:
    """The inbox is the training area's first page."""
    return RedirectResponse("/console/training/inbox", status_code=303)


@router.get("/console/training/inbox")
def inbox_page(request: Request, status: str = Query("open", regex="^(open|labelled|dismissed|new_intent)$"),
               session: Session = Depends(db), staff: ActiveSession = Depends(READ)) -> Response:
    """Poorly understood messages: label, dismiss or note a new intent."""
    total, items = inbox.list_items(session, status, 100)
    return render(request, "training_inbox.html", {
        **_common(session, staff), "items": [inbox.item_json(i) for i in items], "total": total, "status": status,
        "reasons": REASONS, "statuses": STATUS_NAMES, "proposals": inbox.list_proposals(session, 20)})


@router.get("/console/training/examples")
def examples_page(request: Request, intent: Optional[str] = Query(None, max_length=80),
                  q: str = Query("", max_length=200), session: Session = Depends(db),
                  staff: ActiveSession = Depends(READ)) -> Response:
    """Intents and their examples: search, add, move, delete; duplicate warnings."""
    total, rows = ex.search_examples(session, q, intent or None, 500)
    report = ex.warning_report(session)
    return render(request, "training_examples.html", {
        **_common(session, staff), "intent_counts": ex.list_intents(session), "intent": intent or "", "q": q,
        "examples": rows, "total": total, "conflicts": report["conflicts"], "sources": SOURCES,
        "duplicates": len(report["duplicates"])})


@router.get("/console/training/synonyms")
def synonyms_page(request: Request, session: Session = Depends(db), staff: ActiveSession = Depends(READ)) -> Response:
    """Procedure synonyms."""
    return render(request, "training_synonyms.html", {**_common(session, staff),
                                                      "synonyms": synonyms.list_synonyms(session)})
