"""The NLU inbox: list poorly understood messages, label them (a training example), dismiss them,
or note that they need a new intent. Collection is :mod:`bot.training.collect`."""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Sequence, Tuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.db.models import utcnow
from bot.db.models_training_data import IntentProposal, NluInboxItem
from bot.staff.audit import record
from bot.text.normalize import clean
from bot.training.annotations import ExampleError, Span, check_spans, contract, render
from bot.training.examples import Conflict, ExampleView, NotFound, TrainingDataError, add_example

logger = logging.getLogger(__name__)

STATUSES = ("open", "labelled", "dismissed", "new_intent")
INTENT_NAME_MAX = 80
NOTE_MAX = 2000


def item_json(item: NluInboxItem) -> Dict[str, Any]:
    """An inbox item as the API shows it."""
    return {"id": item.id, "text": item.text, "entities": list(item.entities or []), "count": item.count,
            "first_seen": item.first_seen.isoformat(), "last_seen": item.last_seen.isoformat(),
            "reasons": list(item.reasons or []), "guesses": list(item.guesses or []), "status": item.status,
            "intent": item.intent, "example_id": item.example_id, "note": item.note,
            "resolved_by": item.resolved_by}


def list_items(session: Session, status: str = "open", limit: int = 50, offset: int = 0
               ) -> Tuple[int, List[NluInboxItem]]:
    """Inbox items of one status, most frequent first (then most recent)."""
    query = select(NluInboxItem).where(NluInboxItem.status == status)
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = session.execute(query.order_by(NluInboxItem.count.desc(), NluInboxItem.last_seen.desc(),
                                          NluInboxItem.id.desc())
                           .limit(max(1, min(limit, 200))).offset(max(0, offset))).scalars().all()
    return int(total), list(rows)


def _open_item(session: Session, item_id: int) -> NluInboxItem:
    item = session.get(NluInboxItem, item_id)
    if item is None:
        raise NotFound(f"Không có tin nhắn #{item_id} trong hộp thư.")
    if item.status != "open":
        raise Conflict(f"Tin nhắn #{item_id} đã được xử lý ({item.status}).")
    return item


def _resolve(item: NluInboxItem, status: str, actor: str) -> None:
    item.status, item.resolved_by, item.resolved_at = status, actor[:64], utcnow()


def label_item(session: Session, item_id: int, intent: str, spans: Optional[Sequence[Span]], actor: str
               ) -> Tuple[ExampleView, List[str]]:
    """Make an inbox message a training example of ``intent`` with entity ``spans`` (on the masked text).

    Without ``spans`` the spans found by masking (synthetic codes, phones) are used; spans given
    replace them, except masked spans they do not overlap, which are kept (a code stays annotated).

    Raises:
        NotFound: unknown item or intent; Conflict: already handled, or the example exists;
        TrainingDataError: bad spans.
    """
    item = _open_item(session, item_id)
    masked = [Span(int(e["start"]), int(e["end"]), str(e["entity"])) for e in item.entities or []]
    chosen = list(spans) if spans is not None else []
    for span in masked:
        if all(span.end <= s.start or span.start >= s.end for s in chosen):
            chosen.append(span)
    try:
        checked = check_spans(item.text, chosen, contract().entities)
    except ExampleError as exc:
        raise TrainingDataError(str(exc)) from None
    view, warnings = add_example(session, intent, render(item.text, checked), actor, source="inbox")
    _resolve(item, "labelled", actor)
    item.intent, item.example_id = view.intent, view.id
    record(session, actor, "training.inbox.label", "nlu_inbox_item", str(item.id), {"status": "open"},
           {"status": "labelled", "intent": view.intent, "example_id": view.id})
    return view, warnings


def dismiss_item(session: Session, item_id: int, actor: str, note: Optional[str] = None) -> None:
    """Dismiss an inbox message (nothing to learn from it).

    Raises:
        NotFound, Conflict: see :func:`label_item`.
    """
    item = _open_item(session, item_id)
    _resolve(item, "dismissed", actor)
    item.note = clean(note or "")[:NOTE_MAX] or None
    record(session, actor, "training.inbox.dismiss", "nlu_inbox_item", str(item.id), {"status": "open"},
           {"status": "dismissed", "note": item.note})


def propose_intent(session: Session, name: str, note: str, actor: str, item_id: Optional[int] = None
                   ) -> IntentProposal:
    """Note that messages need a new intent (a new intent needs the domain: developers add it).

    Raises:
        TrainingDataError: empty name or note; NotFound, Conflict: see :func:`label_item`.
    """
    name, note = clean(name)[:INTENT_NAME_MAX], clean(note)[:NOTE_MAX]
    if not name or not note:
        raise TrainingDataError("Cần tên gợi ý cho ý định mới và một ghi chú.")
    item = _open_item(session, item_id) if item_id is not None else None
    proposal = IntentProposal(name=name, note=note, sample=item.text if item else None, inbox_item_id=item_id,
                              created_by=actor[:64])
    session.add(proposal)
    session.flush()
    if item is not None:
        _resolve(item, "new_intent", actor)
        item.note = f"{name}: {note}"
    record(session, actor, "training.intent.propose", "intent_proposal", str(proposal.id), None,
           {"name": name, "note": note, "inbox_item_id": item_id})
    return proposal


def list_proposals(session: Session, limit: int = 100) -> List[Dict[str, Any]]:
    """"Needs a new intent" notes, newest first."""
    rows = session.execute(select(IntentProposal).order_by(IntentProposal.id.desc()).limit(limit)).scalars()
    return [{"id": p.id, "name": p.name, "note": p.note, "sample": p.sample, "inbox_item_id": p.inbox_item_id,
             "status": p.status, "created_by": p.created_by, "created_at": p.created_at.isoformat()} for p in rows]
