"""Training data tables: intents, examples, synonyms, the NLU inbox (migration 0006_training_data)."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, DateTime, ForeignKey, Index, Integer, String, Text

from bot.db.models import Base, utcnow

MAX_EXAMPLE = 600
"""Longest annotated example text (characters)."""


class TrainingFile(Base):
    """One exported YAML file of ``nlu_data/nlu/``: its header comment and place."""

    __tablename__ = "training_files"
    name = Column(String(80), primary_key=True)
    header = Column(Text, nullable=True)  # comment lines above ``version:``, kept through export
    position = Column(Integer, nullable=False, default=0)


class TrainingIntent(Base):
    """An intent of the NLU contract and the file it is exported to."""

    __tablename__ = "training_intents"
    id = Column(Integer, primary_key=True)
    name = Column(String(80), nullable=False, unique=True)
    file_name = Column(String(80), nullable=False)
    position = Column(Integer, nullable=False, default=0)


class TrainingExample(Base):
    """A training example, with entity annotations exactly as written (``[text](entity)``)."""

    __tablename__ = "training_examples"
    id = Column(Integer, primary_key=True)
    intent_id = Column(Integer, ForeignKey("training_intents.id", ondelete="CASCADE"), nullable=False)
    text = Column(String(MAX_EXAMPLE), nullable=False)
    plain = Column(String(MAX_EXAMPLE), nullable=False)  # without annotations (Rasa's TEXT)
    folded = Column(String(MAX_EXAMPLE), nullable=False, index=True)  # folded words: search, duplicates
    position = Column(Integer, nullable=False, default=0)
    source = Column(String(20), nullable=False, default="console")  # import | console | inbox
    created_by = Column(String(64), nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)

    __table_args__ = (Index("ix_training_examples_intent_position", "intent_id", "position"),)


class TrainingSynonym(Base):
    """A procedure synonym: a colloquial name mapped to a catalogue value (procedure code)."""

    __tablename__ = "training_synonyms"
    id = Column(Integer, primary_key=True)
    value = Column(String(120), nullable=False)
    text = Column(String(300), nullable=False)
    folded = Column(String(300), nullable=False, unique=True)
    created_by = Column(String(64), nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)


class TrainingDataState(Base):
    """One row (id 1): whether the training data changed since the active model was trained."""

    __tablename__ = "training_data_state"
    id = Column(Integer, primary_key=True)
    changed = Column(Boolean, nullable=False, default=False)
    changed_at = Column(DateTime, nullable=True)
    changed_by = Column(String(64), nullable=True)
    change = Column(String(80), nullable=True)  # the last change's audit action


class IntentProposal(Base):
    """A "needs a new intent" note: intents need the domain, so staff only propose them."""

    __tablename__ = "training_intent_proposals"
    id = Column(Integer, primary_key=True)
    name = Column(String(80), nullable=False)
    note = Column(Text, nullable=False)
    sample = Column(Text, nullable=True)  # a masked citizen message, when it came from the inbox
    inbox_item_id = Column(Integer, nullable=True)
    status = Column(String(20), nullable=False, default="open")
    created_by = Column(String(64), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)


class NluInboxItem(Base):
    """Poorly understood citizen messages with the same folded text (personal data masked)."""

    __tablename__ = "nlu_inbox_items"
    id = Column(Integer, primary_key=True)
    key = Column(String(300), nullable=False, unique=True)
    text = Column(Text, nullable=False)  # one wording, masked: synthetic codes and phones
    entities = Column(JSON, nullable=False, default=list)  # spans found by masking: [{start, end, entity}]
    count = Column(Integer, nullable=False, default=0)
    first_seen = Column(DateTime, nullable=False)
    last_seen = Column(DateTime, nullable=False, index=True)
    reasons = Column(JSON, nullable=False, default=list)  # fallback | low_confidence | handoff | low_rating
    guesses = Column(JSON, nullable=False, default=list)  # the model's top intents [{intent, confidence}]
    status = Column(String(20), nullable=False, default="open", index=True)  # open|labelled|dismissed|new_intent
    intent = Column(String(80), nullable=True)
    example_id = Column(Integer, nullable=True)
    note = Column(Text, nullable=True)
    resolved_by = Column(String(64), nullable=True)
    resolved_at = Column(DateTime, nullable=True)


class NluInboxOccurrence(Base):
    """One tracker-store user event counted in an inbox item (makes collection idempotent)."""

    __tablename__ = "nlu_inbox_occurrences"
    event_id = Column(BigInteger, primary_key=True, autoincrement=False)
    item_id = Column(Integer, ForeignKey("nlu_inbox_items.id", ondelete="CASCADE"), nullable=False, index=True)
    reasons = Column(JSON, nullable=False, default=list)
    seen_at = Column(DateTime, nullable=False)


class NluInboxState(Base):
    """Watermarks of the inbox collection, one row per source (events, handoffs, feedback)."""

    __tablename__ = "nlu_inbox_state"
    source = Column(String(20), primary_key=True)
    last_id = Column(BigInteger, nullable=True)
    last_run_at = Column(DateTime, nullable=True)
    updated_at = Column(DateTime, nullable=True)
