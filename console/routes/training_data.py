"""Training data JSON API: intents and examples, synonyms, the NLU inbox (trainers change, analysts read)."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, validator
from sqlalchemy.orm import Session

from bot.staff.sessions import ActiveSession
from bot.training import examples as ex
from bot.training import inbox, synonyms
from bot.training.annotations import Span
from bot.training.collect import collect_inbox
from bot.training.export import content_hash, render_files
from bot.training.state import data_state
from console.deps import db, require

router = APIRouter(tags=["training"])
READ = require("trainer", "analyst")
WRITE = require("trainer")
MAX_ID = 2**31 - 1


def _id() -> Any:
    """A fresh path parameter for an id: FastAPI stores the first parameter's name as the alias of a
    shared ``Path(...)`` object, so one object used under two names would demand the wrong name."""
    return Path(..., ge=1, le=MAX_ID)


class ExampleIn(BaseModel):
    """A new example: annotated text (``[làm sổ đỏ](procedure)``) under an intent of the domain."""

    intent: str = Field(..., max_length=80)
    text: str = Field(..., max_length=2000)


class MoveIn(BaseModel):
    """The intent to move an example to."""

    intent: str = Field(..., max_length=80)


class BulkMoveIn(BaseModel):
    """Examples to move together (e.g. every one a search shows) and the intent to move them to."""

    ids: List[int] = Field(..., min_items=1, max_items=ex.MAX_BULK)
    intent: str = Field(..., max_length=80)

    @validator("ids", each_item=True)
    def _id_range(cls, value: int) -> int:  # noqa: N805 - pydantic validator
        if not 1 <= value <= MAX_ID:
            raise ValueError("id ngoài phạm vi")
        return value


class BulkMoveOut(BaseModel):
    """A bulk move's result: moved, merged into an identical example, already in the intent; warnings."""

    intent: str
    moved: int
    merged: int
    unchanged: int
    warnings: List[str]


class SpanIn(BaseModel):
    """An entity span on the inbox message's text (character offsets)."""

    start: int = Field(..., ge=0, le=10_000)
    end: int = Field(..., ge=0, le=10_000)
    entity: str = Field(..., max_length=40)
    value: Optional[str] = Field(None, max_length=200)


class LabelIn(BaseModel):
    """Label an inbox message: its intent and entity spans (None: the spans found by masking)."""

    intent: str = Field(..., max_length=80)
    entities: Optional[List[SpanIn]] = Field(None, max_items=30)


class NoteIn(BaseModel):
    """An optional note."""

    note: Optional[str] = Field(None, max_length=2000)


class ProposalIn(BaseModel):
    """A "needs a new intent" note."""

    name: str = Field(..., max_length=80)
    note: str = Field(..., max_length=2000)


class SynonymIn(BaseModel):
    """A procedure synonym: a name citizens use → the catalogue procedure code."""

    value: str = Field(..., max_length=40)
    text: str = Field(..., max_length=400)


class ExampleOut(BaseModel):
    """An example."""

    id: int
    intent: str
    text: str
    plain: str
    source: str
    created_by: Optional[str]


class ChangeOut(BaseModel):
    """A change's result and its warnings."""

    example: Optional[ExampleOut] = None
    warnings: List[str] = []


def _run(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except ex.TrainingDataError as exc:
        return JSONResponse({"detail": str(exc)}, status_code=exc.status)


def _change(view: ex.ExampleView, warnings: List[str]) -> ChangeOut:
    return ChangeOut(example=ExampleOut(**view.__dict__), warnings=warnings)


@router.get("/console/api/training/state")
def state_api(session: Session = Depends(db), staff: ActiveSession = Depends(READ)) -> Dict[str, Any]:
    """Whether the training data changed since the active model."""
    return data_state(session).__dict__


@router.get("/console/api/training/intents")
def intents_api(session: Session = Depends(db), staff: ActiveSession = Depends(READ)) -> List[Dict[str, Any]]:
    """The domain's intents with their numbers of examples."""
    return ex.list_intents(session)


@router.get("/console/api/training/examples")
def examples_api(q: str = Query("", max_length=200), intent: Optional[str] = Query(None, max_length=80),
                 limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0, le=1_000_000),
                 session: Session = Depends(db), staff: ActiveSession = Depends(READ)) -> Dict[str, Any]:
    """Examples whose text contains ``q`` (diacritics ignored), optionally of one intent."""
    total, rows = ex.search_examples(session, q, intent, limit, offset)
    return {"total": total, "examples": [r.__dict__ for r in rows]}


@router.post("/console/api/training/examples", status_code=201, response_model=ChangeOut)
def add_example_api(body: ExampleIn, session: Session = Depends(db), staff: ActiveSession = Depends(WRITE)) -> Any:
    """Add an example (annotated text) to an intent."""
    return _run(lambda: _change(*ex.add_example(session, body.intent, body.text, staff.username)))


@router.post("/console/api/training/examples/move", response_model=BulkMoveOut)
def move_examples_api(body: BulkMoveIn, session: Session = Depends(db), staff: ActiveSession = Depends(WRITE)) -> Any:
    """Move several examples to another intent, all or nothing (each move and the whole are audited)."""
    try:
        return BulkMoveOut(**ex.move_examples(session, body.ids, body.intent, staff.username).__dict__)
    except ex.TrainingDataError as exc:
        session.rollback()  # nothing of a failed bulk move stays
        return JSONResponse({"detail": str(exc)}, status_code=exc.status)


@router.post("/console/api/training/examples/{example_id}/move", response_model=ChangeOut)
def move_example_api(body: MoveIn, example_id: int = _id(), session: Session = Depends(db),
                     staff: ActiveSession = Depends(WRITE)) -> Any:
    """Move an example to another intent."""
    return _run(lambda: _change(*ex.move_example(session, example_id, body.intent, staff.username)))


@router.delete("/console/api/training/examples/{example_id}", response_model=ChangeOut)
def delete_example_api(example_id: int = _id(), session: Session = Depends(db),
                       staff: ActiveSession = Depends(WRITE)) -> Any:
    """Delete an example."""
    return _run(lambda: ChangeOut(warnings=ex.delete_example(session, example_id, staff.username)))


@router.get("/console/api/training/warnings")
def warnings_api(session: Session = Depends(db), staff: ActiveSession = Depends(READ)) -> Dict[str, Any]:
    """Examples equal after diacritic folding: duplicates in one intent, conflicts across intents."""
    return ex.warning_report(session)


@router.get("/console/api/training/synonyms")
def synonyms_api(session: Session = Depends(db), staff: ActiveSession = Depends(READ)) -> List[Dict[str, Any]]:
    """Procedure synonyms kept by staff."""
    return synonyms.list_synonyms(session)


@router.post("/console/api/training/synonyms", status_code=201)
def add_synonym_api(body: SynonymIn, session: Session = Depends(db), staff: ActiveSession = Depends(WRITE)) -> Any:
    """Map a name to a procedure code."""
    return _run(lambda: synonyms.add_synonym(session, body.value, body.text, staff.username))


@router.delete("/console/api/training/synonyms/{synonym_id}")
def delete_synonym_api(synonym_id: int = _id(), session: Session = Depends(db),
                       staff: ActiveSession = Depends(WRITE)) -> Any:
    """Delete a synonym."""
    return _run(lambda: synonyms.delete_synonym(session, synonym_id, staff.username) or {"ok": True})


@router.get("/console/api/training/inbox")
def inbox_api(status: str = Query("open", regex="^(open|labelled|dismissed|new_intent)$"),
              limit: int = Query(50, ge=1, le=200), offset: int = Query(0, ge=0, le=1_000_000),
              session: Session = Depends(db), staff: ActiveSession = Depends(READ)) -> Dict[str, Any]:
    """Poorly understood messages (masked), most frequent first."""
    total, items = inbox.list_items(session, status, limit, offset)
    return {"total": total, "items": [inbox.item_json(i) for i in items]}


@router.post("/console/api/training/inbox/collect")
def collect_api(session: Session = Depends(db), staff: ActiveSession = Depends(WRITE)) -> Dict[str, Any]:
    """Bring the inbox up to date with the conversations now (the worker does it on a schedule too)."""
    return collect_inbox(session).__dict__


@router.post("/console/api/training/inbox/{item_id}/label", response_model=ChangeOut)
def label_api(body: LabelIn, item_id: int = _id(), session: Session = Depends(db),
              staff: ActiveSession = Depends(WRITE)) -> Any:
    """Make an inbox message a training example of an intent, with entity spans."""
    spans = None if body.entities is None else [Span(s.start, s.end, s.entity, s.value) for s in body.entities]
    return _run(lambda: _change(*inbox.label_item(session, item_id, body.intent, spans, staff.username)))


@router.post("/console/api/training/inbox/{item_id}/dismiss")
def dismiss_api(body: NoteIn, item_id: int = _id(), session: Session = Depends(db),
                staff: ActiveSession = Depends(WRITE)) -> Any:
    """Dismiss an inbox message."""
    return _run(lambda: inbox.dismiss_item(session, item_id, staff.username, body.note) or {"ok": True})


@router.post("/console/api/training/inbox/{item_id}/new-intent", status_code=201)
def new_intent_api(body: ProposalIn, item_id: int = _id(), session: Session = Depends(db),
                   staff: ActiveSession = Depends(WRITE)) -> Any:
    """Mark an inbox message as needing a new intent (a note for developers)."""
    return _run(lambda: {"id": inbox.propose_intent(session, body.name, body.note, staff.username, item_id).id})


@router.get("/console/api/training/proposals")
def proposals_api(session: Session = Depends(db), staff: ActiveSession = Depends(READ)) -> List[Dict[str, Any]]:
    """"Needs a new intent" notes, newest first."""
    return inbox.list_proposals(session)


@router.post("/console/api/training/proposals", status_code=201)
def propose_api(body: ProposalIn, session: Session = Depends(db), staff: ActiveSession = Depends(WRITE)) -> Any:
    """Note that a new intent is needed (intents need the domain: developers add them)."""
    return _run(lambda: {"id": inbox.propose_intent(session, body.name, body.note, staff.username).id})


@router.get("/console/api/training/export")
def export_api(session: Session = Depends(db), staff: ActiveSession = Depends(READ)) -> Dict[str, Any]:
    """The training data as the Rasa YAML files it exports to, and their content hash."""
    files = render_files(session)
    return {"hash": content_hash(files), "files": {name: data.decode("utf-8") for name, data in files.items()}}
