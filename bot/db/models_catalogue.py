"""Catalogue editing tables: the revisions of each procedure and the NLU retraining flag (migration 0006)."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Date, DateTime, Integer, String, Text, UniqueConstraint

from bot.db.models import Base, utcnow


class ProcedureRevision(Base):
    """One version of a procedure record (the curated format), as staff saved, reverted or imported it.

    ``number`` counts per procedure from 1; the first change of a record stores the record as it
    was before it (``action = "baseline"``), so every change has a "before" to diff and revert to.
    """

    __tablename__ = "procedure_revisions"
    id = Column(Integer, primary_key=True)
    code = Column(String(20), nullable=False, index=True)
    number = Column(Integer, nullable=False)
    at = Column(DateTime, nullable=False, default=utcnow)
    actor = Column(String(64), nullable=False)
    action = Column(String(20), nullable=False)  # baseline | edit | revert | import
    source = Column(Text, nullable=True)
    checked_on = Column(Date, nullable=True)
    note = Column(Text, nullable=True)
    reverted_from = Column(Integer, nullable=True)  # the revision number a revert went back to
    record = Column(JSON, nullable=False)

    __table_args__ = (UniqueConstraint("code", "number", name="uq_procedure_revisions_code_number"),)


class RetrainFlag(Base):
    """Whether a model must be retrained (``key = "nlu"``): set by catalogue name changes, read by training."""

    __tablename__ = "retrain_flags"
    key = Column(String(40), primary_key=True)
    needed = Column(Boolean, nullable=False, default=False)
    reason = Column(Text, nullable=True)
    changed_at = Column(DateTime, nullable=False, default=utcnow)
    changed_by = Column(String(64), nullable=True)
