"""Intents and examples: search (diacritic-insensitive), add, move, delete, with duplicate warnings.

Errors (:class:`TrainingDataError`) stop a change; warnings are returned with it:

* error: the same annotated text twice in one intent, or the same plain text under two intents
  (``rasa data validate --fail-on-warnings`` would refuse the export);
* warning: the same text after diacritic folding in the same intent (a duplicate) or under
  another intent (a conflict the model cannot learn), an intent left without examples.

Every change is audited and sets the "training data changed" flag.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.db.models_training_data import TrainingExample, TrainingIntent
from bot.staff.audit import record
from bot.training.annotations import ExampleError, contract, folded_key, normalize_example
from bot.training.state import mark_changed

logger = logging.getLogger(__name__)

DEFAULT_FILE = "console.yml"  # file of an intent that had no examples before the console added one
MAX_QUERY = 200
MAX_BULK = 500  # examples one bulk move may take (the examples page shows at most 500)
MAX_BULK_WARNINGS = 20


class TrainingDataError(ValueError):
    """A change the training data cannot take (message in Vietnamese); ``status`` is the HTTP code."""

    status = 422


class NotFound(TrainingDataError):
    """No such example or intent."""

    status = 404


class Conflict(TrainingDataError):
    """The change would make the training data invalid."""

    status = 409


@dataclass(frozen=True)
class ExampleView:
    """An example as listed."""

    id: int
    intent: str
    text: str
    plain: str
    source: str
    created_by: Optional[str]


def _view(example: TrainingExample, intent: str) -> ExampleView:
    return ExampleView(example.id, intent, example.text, example.plain, example.source, example.created_by)


def list_intents(session: Session) -> List[Dict[str, object]]:
    """Every intent of the domain with its number of examples, in domain order."""
    counts = dict(session.execute(
        select(TrainingIntent.name, func.count(TrainingExample.id))
        .join(TrainingExample, TrainingExample.intent_id == TrainingIntent.id, isouter=True)
        .group_by(TrainingIntent.name)).all())
    return [{"name": name, "examples": int(counts.get(name, 0))} for name in contract().intents]


def intent_row(session: Session, name: str) -> TrainingIntent:
    """The stored intent ``name`` (made on first use when the domain lists it).

    Raises:
        NotFound: the domain has no such intent (a new intent is a proposal, not a live intent).
    """
    if not isinstance(name, str) or name not in contract().intents:
        raise NotFound(f"Ý định không có trong domain: {str(name)[:60]}")
    intent = session.execute(select(TrainingIntent).where(TrainingIntent.name == name)).scalar_one_or_none()
    if intent is None:
        last = session.execute(select(func.max(TrainingIntent.position))
                               .where(TrainingIntent.file_name == DEFAULT_FILE)).scalar()
        intent = TrainingIntent(name=name, file_name=DEFAULT_FILE, position=(last or 0) + 1)
        session.add(intent)
        session.flush()
    return intent


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_examples(session: Session, query: str = "", intent: Optional[str] = None, limit: int = 50,
                    offset: int = 0) -> Tuple[int, List[ExampleView]]:
    """Examples whose folded text contains the folded ``query`` (any diacritics), optionally of one intent.

    Returns:
        (total matches, one page of examples in export order).
    """
    stmt = select(TrainingExample, TrainingIntent.name).join(TrainingIntent)
    key = folded_key(query[:MAX_QUERY]) if query else ""
    if key:
        stmt = stmt.where(TrainingExample.folded.like(f"%{_escape_like(key)}%", escape="\\"))
    if intent:
        stmt = stmt.where(TrainingIntent.name == intent)
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(stmt.order_by(TrainingIntent.name, TrainingExample.position, TrainingExample.id)
                           .limit(max(1, min(limit, 500))).offset(max(0, offset))).all()
    return int(total), [_view(example, name) for example, name in rows]


def _checks(session: Session, intent: TrainingIntent, text: str, plain: str, folded: str,
            moving: Optional[TrainingExample] = None, source: str = "") -> List[str]:
    rows = session.execute(
        select(TrainingExample, TrainingIntent.name).join(TrainingIntent)
        .where((TrainingExample.folded == folded) | (TrainingExample.plain == plain))).all()
    warnings = []
    for other, name in rows:
        if moving is not None and other.id == moving.id:
            continue
        if name == intent.name and other.text == text:
            raise Conflict(f"Ví dụ này đã có trong ý định {name} (#{other.id}).")
        if name != intent.name and other.plain == plain and name != source:
            raise Conflict(f"Câu này đã là ví dụ của ý định {name} (#{other.id}); hãy chuyển thay vì thêm.")
        if name == intent.name:
            warnings.append(f"Trùng với ví dụ #{other.id} khi bỏ dấu: {other.text}")
        elif other.plain == plain:
            warnings.append(f"Câu giống hệt vẫn còn trong ý định {name} (#{other.id}): hãy chuyển cả câu đó.")
        else:
            warnings.append(f"Câu giống (khi bỏ dấu) đang thuộc ý định {name} (#{other.id}): {other.text}")
    return warnings


def _next_position(session: Session, intent: TrainingIntent) -> int:
    last = session.execute(select(func.max(TrainingExample.position))
                           .where(TrainingExample.intent_id == intent.id)).scalar()
    return (last if last is not None else -1) + 1


def add_example(session: Session, intent: str, text: str, actor: str, source: str = "console"
                ) -> Tuple[ExampleView, List[str]]:
    """Add an example (annotated text) to ``intent``, at the end of its examples.

    Raises:
        NotFound: unknown intent.
        Conflict: the same example exists (see the module docstring).
        TrainingDataError: a malformed example.
    """
    row = intent_row(session, intent)
    try:
        stored, plain, _ = normalize_example(text, contract().entities)
    except ExampleError as exc:
        raise TrainingDataError(str(exc)) from None
    folded = folded_key(plain)
    warnings = _checks(session, row, stored, plain, folded)
    example = TrainingExample(intent_id=row.id, text=stored, plain=plain, folded=folded,
                              position=_next_position(session, row), source=source, created_by=actor[:64])
    session.add(example)
    session.flush()
    record(session, actor, "training.example.add", "training_example", str(example.id), None,
           {"intent": row.name, "text": stored, "source": source})
    mark_changed(session, actor, "training.example.add")
    return _view(example, row.name), warnings


@dataclass(frozen=True)
class BulkMove:
    """What a bulk move did: moved, merged into an identical example of the target, already there."""

    intent: str
    moved: int
    merged: int
    unchanged: int
    warnings: List[str]


def _example(session: Session, example_id: int) -> Tuple[TrainingExample, TrainingIntent]:
    row = session.execute(select(TrainingExample, TrainingIntent).join(TrainingIntent)
                          .where(TrainingExample.id == example_id)).first()
    if row is None:
        raise NotFound(f"Không có ví dụ #{example_id}.")
    return row[0], row[1]


def _left_empty(session: Session, intent: TrainingIntent) -> List[str]:
    left = session.execute(select(func.count(TrainingExample.id))
                           .where(TrainingExample.intent_id == intent.id)).scalar_one()
    return [] if left else [f"Ý định {intent.name} không còn ví dụ nào: mô hình sẽ không nhận ra ý định này."]


def move_example(session: Session, example_id: int, intent: str, actor: str) -> Tuple[ExampleView, List[str]]:
    """Move an example to another intent (at the end of its examples).

    When the target already has the very same example, the moved one is merged into it (deleted).

    Raises:
        NotFound: unknown example or intent.
        Conflict: a third intent has the same text.
    """
    example, source = _example(session, example_id)
    target = intent_row(session, intent)
    if target.id == source.id:
        return _view(example, source.name), []
    same = session.execute(select(TrainingExample).where(TrainingExample.intent_id == target.id,
                                                         TrainingExample.text == example.text)).scalars().first()
    if same is not None:
        delete_example(session, example.id, actor)
        return _view(same, target.name), [f"Ý định {target.name} đã có ví dụ này (#{same.id}): đã gộp."]
    warnings = _checks(session, target, example.text, example.plain, example.folded, moving=example,
                       source=source.name)
    example.intent_id, example.position = target.id, _next_position(session, target)
    session.flush()
    warnings += _left_empty(session, source)
    record(session, actor, "training.example.move", "training_example", str(example.id),
           {"intent": source.name}, {"intent": target.name, "text": example.text})
    mark_changed(session, actor, "training.example.move")
    return _view(example, target.name), warnings


def move_examples(session: Session, example_ids: List[int], intent: str, actor: str) -> BulkMove:
    """Move several examples (e.g. every one a search shows) to ``intent``: each move audited, plus one summary.

    The caller rolls the session back on an error, so the move is all or nothing.

    Raises:
        TrainingDataError: no ids or too many.
        NotFound: an unknown example or intent.
        Conflict: an example's text is already under a third intent.
    """
    ids = list(dict.fromkeys(example_ids))
    if not ids:
        raise TrainingDataError("Chưa chọn ví dụ nào.")
    if len(ids) > MAX_BULK:
        raise TrainingDataError(f"Mỗi lần chuyển tối đa {MAX_BULK} ví dụ.")
    target = intent_row(session, intent)
    sources = dict(session.execute(select(TrainingExample.id, TrainingIntent.name).join(TrainingIntent)
                                   .where(TrainingExample.id.in_(ids))).all())
    missing = [i for i in ids if i not in sources]
    if missing:
        raise NotFound(f"Không có ví dụ #{missing[0]}.")
    moved = merged = unchanged = 0
    warnings: List[str] = []
    for example_id in ids:
        if sources[example_id] == target.name:
            unchanged += 1
            continue
        view, found = move_example(session, example_id, target.name, actor)
        merged, moved = (merged + 1, moved) if view.id != example_id else (merged, moved + 1)
        warnings += [w for w in found if w not in warnings]
    # an intent emptied early in the loop may have been warned about before later moves: keep the last word
    left = sorted({name for name in sources.values() if name != target.name})
    warnings = [w for w in warnings if "không còn ví dụ nào" not in w]
    for name in left:
        warnings += _left_empty(session, intent_row(session, name))
    record(session, actor, "training.example.move_bulk", "training_intent", target.name,
           {"intents": left, "examples": len(ids)}, {"intent": target.name, "moved": moved, "merged": merged})
    logger.info("bulk move of %d examples to %s: %d moved, %d merged", len(ids), target.name, moved, merged)
    return BulkMove(target.name, moved, merged, unchanged, warnings[:MAX_BULK_WARNINGS])


def delete_example(session: Session, example_id: int, actor: str) -> List[str]:
    """Delete an example; returns warnings (an intent left empty).

    Raises:
        NotFound: unknown example.
    """
    example, intent = _example(session, example_id)
    record(session, actor, "training.example.delete", "training_example", str(example.id),
           {"intent": intent.name, "text": example.text}, None)
    session.delete(example)
    session.flush()
    mark_changed(session, actor, "training.example.delete")
    return _left_empty(session, intent)


def warning_report(session: Session, limit: int = 200) -> Dict[str, List[Dict[str, object]]]:
    """Groups of examples equal after folding: ``duplicates`` (one intent) and ``conflicts`` (several)."""
    keys = session.execute(select(TrainingExample.folded).group_by(TrainingExample.folded)
                           .having(func.count(TrainingExample.id) > 1).order_by(TrainingExample.folded)
                           .limit(limit)).scalars().all()
    report: Dict[str, List[Dict[str, object]]] = {"duplicates": [], "conflicts": []}
    if not keys:
        return report
    rows = session.execute(select(TrainingExample, TrainingIntent.name).join(TrainingIntent)
                           .where(TrainingExample.folded.in_(keys))
                           .order_by(TrainingExample.folded, TrainingExample.id)).all()
    groups: Dict[str, List[Tuple[TrainingExample, str]]] = {}
    for example, name in rows:
        groups.setdefault(example.folded, []).append((example, name))
    for key in keys:
        members = groups.get(key, [])
        intents = sorted({name for _, name in members})
        entry = {"folded": key, "intents": intents,
                 "examples": [{"id": e.id, "intent": n, "text": e.text} for e, n in members]}
        report["conflicts" if len(intents) > 1 else "duplicates"].append(entry)
    return report
