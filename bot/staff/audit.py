"""The audit log: every change made in the console, who and when, before → after."""

from __future__ import annotations

from typing import Any, List, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models_staff import AuditEntry


def record(session: Session, actor: str, action: str, entity: str, entity_id: Optional[str],
           before: Any, after: Any, note: Optional[str] = None) -> AuditEntry:
    """Add one audit entry in the caller's unit of work (committed with the change itself)."""
    entry = AuditEntry(actor=actor, action=action, entity=entity, entity_id=entity_id,
                       before=before, after=after, note=note)
    session.add(entry)
    return entry


def recent(session: Session, limit: int = 100, entity: Optional[str] = None,
           entity_id: Optional[str] = None, before_id: Optional[int] = None) -> List[AuditEntry]:
    """The newest audit entries (optionally of one entity), newest first, keyset-paged by id."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(max(1, min(limit, 500)))
    if entity:
        query = query.where(AuditEntry.entity == entity)
    if entity_id:
        query = query.where(AuditEntry.entity_id == entity_id)
    if before_id:
        query = query.where(AuditEntry.id < before_id)
    return list(session.execute(query).scalars())
