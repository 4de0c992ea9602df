"""Answer texts: the list (search), the edit page with preview and history; saving is for editors."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from bot.staff.sessions import ActiveSession
from bot.texts import service
from bot.texts.domain import CHANNEL_NAMES, placeholders
from bot.texts.live import live_overrides
from bot.texts.preview import preview, sample_values
from console.deps import READ_ROLES, allowed, db, require
from console.templating import render

router = APIRouter(tags=["texts"])
EDIT_ROLES = ("editor",)
NAME = Path(..., min_length=1, max_length=120, regex=r"^[A-Za-z0-9_]+$")
CHANNEL_PARAMS = {"default": "", "telegram": "telegram", "zalo": "zalo"}


def commit_now(session: Session) -> None:
    """Commit now (``db`` commits only after the answer is sent) and let this process's readers see it."""
    session.commit()
    live_overrides().expire()


def channel_param(value: str) -> str:
    """``default``/``telegram``/``zalo`` (as in URLs) → the stored channel (``""`` for default).

    Raises:
        HTTPException: 404 for any other value.
    """
    if value not in CHANNEL_PARAMS:
        raise HTTPException(404, "Không có kênh này.")
    return CHANNEL_PARAMS[value]


def channel_label(channel: str) -> str:
    """The channel as the URL writes it."""
    return channel or "default"


def _buttons(titles: List[str], payloads: List[str]) -> List[Dict[str, str]]:
    rows = [{"title": t, "payload": p} for t, p in zip(titles, payloads)]
    return [row for row in rows if row["title"].strip() or row["payload"].strip()]


@router.get("/console/texts", include_in_schema=False)
def texts_page(request: Request, q: str = Query("", max_length=200), session: Session = Depends(db),
               staff: ActiveSession = Depends(require(*READ_ROLES))) -> Response:
    """Every response with its current wording, searchable by name or text (diacritics ignored)."""
    return render(request, "texts.html", {"rows": service.list_texts(session, q), "q": q})


def _edit_context(request: Request, session: Session, staff: ActiveSession, name: str, variation: int,
                  channel: str, draft: Optional[Dict[str, Any]] = None,
                  errors: Optional[Dict[str, List[str]]] = None, saved: bool = False) -> Dict[str, Any]:
    try:
        views = service.get_text(session, name)
    except service.TextNotFound:
        raise HTTPException(404, "Không có câu trả lời này trong domain.") from None
    if not 0 <= variation < len(views) or channel not in views[variation].channels:
        raise HTTPException(404, "Không có biến thể hoặc kênh này.")
    view = views[variation]
    wording = view.wordings[channel]
    text = draft["text"] if draft else wording.text
    buttons = draft["buttons"] if draft else wording.buttons
    return {"name": name, "views": views, "view": view, "variation": variation, "channel": channel,
            "channel_label": channel_label(channel), "channel_names": CHANNEL_NAMES, "wording": wording,
            "text": text, "buttons": buttons, "errors": errors or {}, "saved": saved,
            "preview": preview(text, buttons),
            "samples": sample_values(placeholders(str(view.default.get("text") or ""))),
            "history": service.history(session, name), "can_edit": allowed(staff, EDIT_ROLES)}


@router.get("/console/texts/{name}", include_in_schema=False)
def text_page(request: Request, name: str = NAME, variation: int = Query(0, ge=0, le=1000),
              channel: str = Query("default", max_length=20), saved: bool = Query(False),
              session: Session = Depends(db), staff: ActiveSession = Depends(require(*READ_ROLES))) -> Response:
    """One response: its variations and channels, the edit form, the preview and the history."""
    context = _edit_context(request, session, staff, name, variation, channel_param(channel), saved=saved)
    return render(request, "text_edit.html", context)


@router.post("/console/texts/{name}", include_in_schema=False)
def text_save(request: Request, name: str = NAME, variation: int = Form(..., ge=0, le=1000),
              channel: str = Form("default", max_length=20), text: str = Form("", max_length=20000),
              button_title: List[str] = Form([]), button_payload: List[str] = Form([]),
              session: Session = Depends(db), staff: ActiveSession = Depends(require(*EDIT_ROLES))) -> Response:
    """Save a wording (editors); a refused one comes back with the messages next to the fields."""
    stored = channel_param(channel)
    buttons = _buttons(button_title[:50], button_payload[:50])
    try:
        service.save(session, name, variation, stored, text, buttons, staff.username)
    except service.TextNotFound:
        raise HTTPException(404, "Không có câu trả lời, biến thể hoặc kênh này.") from None
    except service.TextError as exc:
        session.rollback()
        context = _edit_context(request, session, staff, name, variation, stored,
                                draft={"text": text, "buttons": buttons}, errors=exc.errors)
        return render(request, "text_edit.html", context, status_code=400)
    commit_now(session)  # before the answer: the next message must already read it
    return RedirectResponse(f"/console/texts/{name}?variation={variation}&channel={channel}&saved=1",
                            status_code=303)


@router.post("/console/texts/{name}/reset", include_in_schema=False)
def text_reset(name: str = NAME, variation: int = Form(..., ge=0, le=1000),
               channel: str = Form("default", max_length=20), session: Session = Depends(db),
               staff: ActiveSession = Depends(require(*EDIT_ROLES))) -> Response:
    """Back to the domain's own wording (editors)."""
    try:
        service.reset(session, name, variation, channel_param(channel), staff.username)
    except service.TextNotFound:
        raise HTTPException(404, "Câu này đang dùng đúng câu gốc trong domain.") from None
    commit_now(session)
    return RedirectResponse(f"/console/texts/{name}?variation={variation}&channel={channel}&saved=1",
                            status_code=303)


@router.post("/console/texts/{name}/revert", include_in_schema=False)
def text_revert(request: Request, name: str = NAME, revision_id: int = Form(..., ge=1),
                session: Session = Depends(db), staff: ActiveSession = Depends(require(*EDIT_ROLES))) -> Response:
    """Bring back an earlier revision (editors)."""
    try:
        revision = session.get(service.ResponseRevision, revision_id)
        service.revert(session, name, revision_id, staff.username)
    except service.TextNotFound:
        raise HTTPException(404, "Không có phiên bản này.") from None
    except service.TextError as exc:
        session.rollback()
        raise HTTPException(409, "Không khôi phục được: " + str(exc)) from None
    commit_now(session)
    return RedirectResponse(f"/console/texts/{name}?variation={revision.variation}"
                            f"&channel={channel_label(revision.channel)}&saved=1", status_code=303)
