"""The answer texts as JSON: list, one response, preview with checks, edit, reset, revert, history."""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, List, Optional

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from bot.staff.sessions import ActiveSession
from bot.texts import service
from bot.texts.preview import preview
from console.deps import READ_ROLES, db, require
from console.routes.texts import EDIT_ROLES, NAME, channel_label, channel_param, commit_now

router = APIRouter(prefix="/console/api/texts", tags=["texts"])


class Button(BaseModel):
    """A button: its title and the payload sent back (``/intent`` or text)."""

    title: str = Field("", max_length=500)
    payload: str = Field("", max_length=2000)


class TextRow(BaseModel):
    """A response in the list."""

    name: str
    default_text: str
    current_text: str
    edited_channels: List[str]
    variations: int


class WordingOut(BaseModel):
    """The current wording of a variation on one channel."""

    channel: str
    text: str
    buttons: List[Button]
    overridden: bool
    updated_by: Optional[str]
    updated_at: Optional[dt.datetime]


class VariationOut(BaseModel):
    """A domain variation with its placeholders and its wording per channel."""

    index: int
    default_text: str
    default_buttons: List[Button]
    placeholders: List[str]
    wordings: List[WordingOut]


class EditIn(BaseModel):
    """A new wording."""

    text: str = Field(..., max_length=20000)
    buttons: Optional[List[Button]] = Field(None, max_items=50)


class PreviewIn(EditIn):
    """A draft to preview and check."""

    variation: int = Field(0, ge=0, le=1000)
    channel: str = Field("default", max_length=20)
    text: str = Field("", max_length=20000)


class PlatformPreview(BaseModel):
    """How one platform shows the message."""

    parts: List[str]
    buttons: List[str]
    notes: List[str]


class PreviewOut(BaseModel):
    """The checks' messages by field, and the two platforms' previews."""

    errors: Dict[str, List[str]]
    telegram: PlatformPreview
    zalo: PlatformPreview


class ResetIn(BaseModel):
    """Which wording goes back to the domain's."""

    variation: int = Field(..., ge=0, le=1000)
    channel: str = Field("default", max_length=20)


class RevertIn(BaseModel):
    """Which revision to bring back."""

    revision_id: int = Field(..., ge=1)


class RevisionOut(BaseModel):
    """One change of a response's wording."""

    id: int
    variation: int
    channel: str
    action: str
    text: Optional[str]
    buttons: Optional[List[Dict[str, Any]]]
    actor: str
    at: dt.datetime


def _detail(session: Session, name: str) -> List[VariationOut]:
    try:
        views = service.get_text(session, name)
    except service.TextNotFound:
        raise HTTPException(404, "Không có câu trả lời này trong domain.") from None
    return [VariationOut(index=v.index, default_text=str(v.default.get("text") or ""),
                         default_buttons=[Button(**b) for b in v.default.get("buttons") or []],
                         placeholders=v.placeholders,
                         wordings=[WordingOut(channel=channel_label(w.channel), text=w.text,
                                              buttons=[Button(**b) for b in w.buttons], overridden=w.overridden,
                                              updated_by=w.updated_by, updated_at=w.updated_at)
                                   for w in v.wordings.values()]) for v in views]


@router.get("", response_model=List[TextRow])
def list_texts(q: str = Query("", max_length=200), session: Session = Depends(db),
               staff: ActiveSession = Depends(require(*READ_ROLES))) -> List[TextRow]:
    """Every response with its current wording; ``q`` searches names and texts (diacritics ignored)."""
    return [TextRow(**vars(row)) for row in service.list_texts(session, q)]


@router.get("/{name}", response_model=List[VariationOut])
def get_text(name: str = NAME, session: Session = Depends(db),
             staff: ActiveSession = Depends(require(*READ_ROLES))) -> List[VariationOut]:
    """The variations of a response with their wording per channel."""
    return _detail(session, name)


@router.post("/{name}/preview", response_model=PreviewOut)
def preview_text(body: PreviewIn, name: str = NAME,
                 staff: ActiveSession = Depends(require(*READ_ROLES))) -> PreviewOut:
    """Check a draft and show it as Telegram and Zalo would (sample values in the placeholders)."""
    buttons = [b.dict() for b in body.buttons or []]
    try:
        errors = service.validate(name, body.variation, channel_param(body.channel), body.text, buttons)
    except service.TextNotFound:
        raise HTTPException(404, "Không có câu trả lời, biến thể hoặc kênh này.") from None
    return PreviewOut(errors=errors, **preview(body.text, buttons))


@router.put("/{name}/{variation}/{channel}", response_model=List[VariationOut],
            responses={422: {"description": "the wording breaks a rule: `errors` by field"}})
def edit_text(body: EditIn, name: str = NAME, variation: int = Path(..., ge=0, le=1000),
              channel: str = Path(..., max_length=20),
              session: Session = Depends(db),
              staff: ActiveSession = Depends(require(*EDIT_ROLES))) -> Any:
    """Save a wording of a variation on a channel (editors); refused with the messages by field."""
    buttons = [b.dict() for b in body.buttons] if body.buttons is not None else None
    try:
        service.save(session, name, variation, channel_param(channel), body.text, buttons, staff.username)
    except service.TextNotFound:
        raise HTTPException(404, "Không có câu trả lời, biến thể hoặc kênh này.") from None
    except service.TextError as exc:
        session.rollback()
        return JSONResponse({"detail": "Câu trả lời chưa hợp lệ.", "errors": exc.errors}, status_code=422)
    commit_now(session)  # before the answer (``db`` commits only after it is sent)
    return _detail(session, name)


@router.post("/{name}/reset", response_model=List[VariationOut])
def reset_text(body: ResetIn, name: str = NAME, session: Session = Depends(db),
               staff: ActiveSession = Depends(require(*EDIT_ROLES))) -> List[VariationOut]:
    """Back to the domain's wording (editors)."""
    try:
        service.reset(session, name, body.variation, channel_param(body.channel), staff.username)
    except service.TextNotFound:
        raise HTTPException(404, "Không có bản sửa nào để bỏ.") from None
    commit_now(session)
    return _detail(session, name)


@router.post("/{name}/revert", response_model=List[VariationOut])
def revert_text(body: RevertIn, name: str = NAME, session: Session = Depends(db),
                staff: ActiveSession = Depends(require(*EDIT_ROLES))) -> Any:
    """Bring back an earlier revision (editors)."""
    try:
        service.revert(session, name, body.revision_id, staff.username)
    except service.TextNotFound:
        raise HTTPException(404, "Không có phiên bản này.") from None
    except service.TextError as exc:
        session.rollback()
        return JSONResponse({"detail": "Phiên bản cũ không còn hợp lệ.", "errors": exc.errors}, status_code=422)
    commit_now(session)
    return _detail(session, name)


@router.get("/{name}/history", response_model=List[RevisionOut])
def text_history(name: str = NAME, session: Session = Depends(db),
                 staff: ActiveSession = Depends(require(*READ_ROLES))) -> List[RevisionOut]:
    """The changes of a response, newest first."""
    return [RevisionOut(id=r.id, variation=r.variation, channel=channel_label(r.channel), action=r.action,
                        text=r.text, buttons=r.buttons, actor=r.actor, at=r.at)
            for r in service.history(session, name)]
